package lab

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Drivers of the findings corpus' attack and tunnel tools (iodine,
// dns2tcp, hping3) and a TCP transfer to carry through a tunnel.

// waitOutput waits up to d until p's stdout or stderr says one of says.
func waitOutput(t testing.TB, p *Proc, d time.Duration, says ...string) {
	t.Helper()
	p.waitSays(t, d, func() string { return p.Stdout() + p.Stderr() }, says...)
}

// Iodined starts iodined (IP over DNS, the server) in the server
// namespace, answering for topdomain on listen port 53, with tunnel
// address tunnel ("198.51.100.193/27"), and waits until it listens.
func (n *Net) Iodined(listen, tunnel, topdomain, password string) *Proc {
	n.t.Helper()
	Require(n.t, "iodined")
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		n.t.Skip("iodined needs /dev/net/tun")
	}
	p := n.Start(n.Srv, "iodined", "-f", "-c", "-P", password, "-l", listen, tunnel, topdomain)
	waitOutput(n.t, p, 10*time.Second, "Listening to dns")
	return p
}

// Iodine starts iodine (the tunnel's client) in the client namespace,
// asking server (a resolver or iodined itself) for names under topdomain
// in DNS mode only (-r: no raw UDP), and waits until the tunnel is up.
func (n *Net) Iodine(server, topdomain, password string, extra ...string) *Proc {
	n.t.Helper()
	Require(n.t, "iodine")
	args := append(append([]string{"-f", "-r", "-P", password}, extra...), server, topdomain)
	p := n.Start(n.Cli, "iodine", args...)
	waitOutput(n.t, p, 40*time.Second, "Connection setup complete")
	return p
}

// Dns2tcpd writes a dns2tcpd configuration under dir and starts it in the
// server namespace, answering for domain on listen port 53 and forwarding
// resource ("name:addr:port") connections; it waits until it listens.
func (n *Net) Dns2tcpd(dir, listen, domain, resource string) *Proc {
	n.t.Helper()
	Require(n.t, "dns2tcpd")
	conf := filepath.Join(dir, "dns2tcpd.conf")
	WriteLines(n.t, conf, []string{
		"listen = " + listen, "port = 53", "user = nobody", "chroot = /tmp",
		"domain = " + domain, "resources = " + resource,
	})
	p := n.Start(n.Srv, "dns2tcpd", "-F", "-d", "1", "-f", conf)
	waitOutput(n.t, p, 10*time.Second, "Listening on")
	return p
}

// Dns2tcpc starts dns2tcpc in the client namespace: it asks server for
// names under domain, connects to resource and sends it what it reads
// from in (its stdin). dns2tcpc keeps polling after in's end: stop it
// when the far side has what it was sent.
func (n *Net) Dns2tcpc(server, domain, resource string, in io.Reader) *Proc {
	n.t.Helper()
	Require(n.t, "dns2tcpc")
	cmd := n.Command(n.Cli, "dns2tcpc", "-z", domain, "-r", resource, "-l", "-", server)
	cmd.Stdin = in
	return start(n.t, cmd, "dns2tcpc")
}

// Hping3 runs `hping3 ARGS` in the client namespace to its end and returns
// what it printed (its statistics are on stderr).
func (n *Net) Hping3(args ...string) string {
	n.t.Helper()
	Require(n.t, "hping3")
	out, _ := n.Command(n.Cli, "hping3", args...).CombinedOutput()
	return string(out)
}

// Sink listens on addr ("198.51.100.193:9000") in namespace ns, accepts
// one connection and counts the bytes it receives until the peer closes.
// Received returns that count once the connection has ended (or what came
// within d).
type Sink struct {
	ln   net.Listener
	n    atomic.Int64
	done chan struct{}
}

// NewSink starts a Sink; t.Cleanup closes it.
func NewSink(t testing.TB, ns, addr string) *Sink {
	t.Helper()
	s := &Sink{done: make(chan struct{})}
	err := InNS(ns, func() (err error) {
		s.ln, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listening on %s in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { s.ln.Close() })
	go func() {
		defer close(s.done)
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b := make([]byte, 64<<10)
		for {
			k, err := c.Read(b)
			s.n.Add(int64(k))
			if err != nil {
				return
			}
		}
	}()
	return s
}

// Received waits up to d for the connection's end, or for want bytes
// when want > 0, and returns the bytes received.
func (s *Sink) Received(want int64, d time.Duration) int64 {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return s.n.Load()
		case <-time.After(20 * time.Millisecond):
		}
		if want > 0 && s.n.Load() >= want {
			break
		}
	}
	return s.n.Load()
}

// Send dials addr from namespace ns and writes what it reads from data,
// then closes.
func Send(ns, addr string, data io.Reader, d time.Duration) error {
	var c net.Conn
	err := InNS(ns, func() (err error) {
		c, err = net.DialTimeout("tcp4", addr, d)
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(d))
	if _, err := io.Copy(c, data); err != nil {
		return err
	}
	return c.(*net.TCPConn).CloseWrite()
}

// Paced reads from r at most rate bytes a second (1 KiB at a time): a
// transfer that takes its time, as an exfiltration keeping a low profile.
type Paced struct {
	r     io.Reader
	rate  float64
	t0    time.Time
	total int
}

// NewPaced paces r at rate bytes a second.
func NewPaced(r io.Reader, rate int) *Paced { return &Paced{r: r, rate: float64(rate)} }

func (p *Paced) Read(b []byte) (int, error) {
	if p.t0.IsZero() {
		p.t0 = time.Now()
	}
	if len(b) > 1024 {
		b = b[:1024]
	}
	if d := time.Until(p.t0.Add(time.Duration(float64(p.total) / p.rate * float64(time.Second)))); d > 0 {
		time.Sleep(d)
	}
	k, err := p.r.Read(b)
	p.total += k
	return k, err
}

// RandomBytes returns n bytes from a seeded generator: a file to transfer
// that does not compress.
func RandomBytes(seed uint64, n int) []byte {
	r := newRand(seed)
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.next()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// SpoofedUDP sends UDP packets (IP header included, as UDPPacket makes
// them without their Ethernet header) from namespace ns through a raw
// socket at rate a second: their source addresses are whatever they say,
// no host need have them (a spoofed-source flood). The kernel routes each
// by its destination.
func SpoofedUDP(ns string, pkts [][]byte, rate float64) error {
	return InNS(ns, func() error {
		fds := map[int]int{}
		defer func() {
			for _, fd := range fds {
				unix.Close(fd)
			}
		}()
		t0 := time.Now()
		for i, p := range pkts {
			if len(p) < 40 {
				return fmt.Errorf("packet %d: %d bytes, not an IP packet", i, len(p))
			}
			var to unix.Sockaddr
			fam := unix.AF_INET
			if p[0]>>4 == 6 {
				fam = unix.AF_INET6
				sa := &unix.SockaddrInet6{}
				copy(sa.Addr[:], p[24:40])
				to = sa
			} else {
				sa := &unix.SockaddrInet4{}
				copy(sa.Addr[:], p[16:20])
				to = sa
			}
			fd, ok := fds[fam]
			if !ok {
				var err error
				// IPPROTO_RAW: the packet carries its own IP header
				if fd, err = unix.Socket(fam, unix.SOCK_RAW, unix.IPPROTO_RAW); err != nil {
					return err
				}
				fds[fam] = fd
			}
			if err := unix.Sendto(fd, p, 0, to); err != nil {
				return fmt.Errorf("packet %d: %w", i, err)
			}
			if d := time.Until(t0.Add(time.Duration(float64(i+1) / rate * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		return nil
	})
}
