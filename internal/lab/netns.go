package lab

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/sys/unix"
)

// InNS runs fn on an OS thread moved into namespace ns; the thread is
// discarded afterwards. Sockets fn opens stay in ns.
func InNS(ns string, fn func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			ch <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		ch <- fn()
	}()
	return <-ch
}

// DialContext dials from inside namespace ns (for an http.Transport).
func DialContext(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := InNS(ns, func() (err error) {
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

// Inject sends the packets of a pcap (Ethernet) out of iface in namespace
// ns as they are, link header included: spoofed packets on the wire.
func Inject(ns, iface string, pcap []byte) error {
	return InNS(ns, func() error {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		r, err := pcapgo.NewReader(bytes.NewReader(pcap))
		if err != nil {
			return err
		}
		for {
			data, _, err := r.ReadPacketData()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			addr := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6}
			copy(addr.Addr[:], data[:6])
			if err := unix.Sendto(fd, data, 0, addr); err != nil {
				return err
			}
		}
	})
}

// SYNFlood sends count TCP SYNs from src to dst:port at rate a second from
// namespace ns through a raw socket, with no handshake: source ports
// 20000 + i%40000, random sequence numbers (seed 7).
func SYNFlood(ns string, src, dst netip.Addr, port uint16, count int, rate float64) error {
	return InNS(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_TCP)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		to := &unix.SockaddrInet4{Addr: dst.As4()}
		r := rand.New(rand.NewPCG(7, 7))
		t0 := time.Now()
		for i := 0; i < count; i++ {
			h := make([]byte, 20)
			binary.BigEndian.PutUint16(h[0:], uint16(20000+i%40000))
			binary.BigEndian.PutUint16(h[2:], port)
			binary.BigEndian.PutUint32(h[4:], r.Uint32())
			h[12] = 5 << 4
			h[13] = 0x02 // SYN
			binary.BigEndian.PutUint16(h[14:], 64240)
			binary.BigEndian.PutUint16(h[16:], tcpChecksum(src, dst, h))
			if err := unix.Sendto(fd, h, 0, to); err != nil {
				return err
			}
			if d := time.Until(t0.Add(time.Duration(float64(i+1) / rate * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		return nil
	})
}

func tcpChecksum(src, dst netip.Addr, seg []byte) uint16 {
	s4, d4 := src.As4(), dst.As4()
	b := append(append(append([]byte{}, s4[:]...), d4[:]...), 0, unix.IPPROTO_TCP, byte(len(seg)>>8), byte(len(seg)))
	b = append(b, seg...)
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	var sum uint32
	for i := 0; i < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
