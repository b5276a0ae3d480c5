//go:build lab

package scenarios

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/visor-dns/visor/internal/lab"
	"github.com/visor-dns/visor/internal/truth"
)

const (
	amp   = "198.51.100.66" // amplification target
	flood = "198.51.100.77" // the flooder
	tun   = "198.51.100.88" // the tunnel's client
)

// launchSlack is how much later than its launch an attack's first packet
// may leave: starting 48 dnsperf on a loaded 2-core machine took over 1 s.
const launchSlack = 1500 * time.Millisecond

// attackLab is the attack lab's network, servers and query files.
type attackLab struct {
	n                                 *lab.Net
	dir                               string
	mixed, nx, servfail, ampQ, tunnel string
	rnd4, rnd6                        []string
}

func newAttackLab(t *testing.T) *attackLab {
	lab.Require(t, "ip", "knotd", "unbound", "dnsperf", "kdig", "tcpdump", "ethtool")
	cli := []string{c4 + "/24", c6 + "/64", amp + "/32", flood + "/32", tun + "/32"}
	for i := 101; i <= 140; i++ {
		cli = append(cli, fmt.Sprintf("198.51.100.%d/32", i))
	}
	for i := 101; i <= 108; i++ {
		cli = append(cli, fmt.Sprintf("2001:db8:100::%d/128", i))
	}
	a := &attackLab{dir: t.TempDir()}
	a.n = lab.NewNet(t, lab.NetConfig{
		SrvAddrs: []string{s4u + "/24", s4k + "/24", s6u + "/64", s6k + "/64"},
		CliAddrs: cli, Blackholes: []string{dead + "/32"}, NoOffload: true,
	})
	knot := a.n.StartKnot(a.dir, lab.Knot{Listen: []string{s4k, s6k}, UDPMaxPayload: 4096, LogLevel: "warning",
		Zones: []string{"visor-lab.example", "victim.example", "flood.example", "amp.example", "tunnel.example"}})
	ub := a.n.StartUnbound(a.dir, "unbound", lab.Unbound{
		Interfaces: []string{s4u, s6u}, Outgoing: []string{s4u},
		// every query for a failing name goes upstream again
		Extra: []string{"serve-expired: no", "infra-keep-probing: yes"},
		Stubs: map[string]string{"visor-lab.example": s4k, "victim.example": s4k, "broken.example": dead, ".": dead},
	})
	a.n.WaitAnswer(s4k, "amp.example", "SOA", "hostmaster", knot)
	a.n.WaitAnswer(s4u, "www.visor-lab.example", "A", "198.51.100.80", knot, ub)

	var q []string
	for round := 0; round < 2; round++ {
		q = append(q, "visor-lab.example SOA", "visor-lab.example MX", "visor-lab.example TXT", "www.visor-lab.example A",
			"www.visor-lab.example AAAA", "mail.visor-lab.example A", "alias.visor-lab.example A", "nope.visor-lab.example A",
			"www.victim.example A")
		for i := 1; i <= 25; i++ {
			q = append(q, fmt.Sprintf("h%d.visor-lab.example A", i))
		}
	}
	a.mixed = a.write(t, "mixed.txt", q)
	// random labels: one file a source, so that no name repeats
	a.rnd4, a.rnd6 = lab.RandomNames(t, a.dir, 20240202, "victim.example", 2400, 2000, 50, 50)
	q = nil
	for i := 1; i <= 12; i++ {
		q = append(q, fmt.Sprintf("gone%d.flood.example A", i))
	}
	a.nx = a.write(t, "nx.txt", q)
	q = nil
	for i := 1; i <= 30; i++ {
		q = append(q, fmt.Sprintf("host%d.broken.example A", i))
	}
	a.servfail = a.write(t, "servfail.txt", q)
	a.ampQ = a.write(t, "amp.txt", []string{"amp.example ANY", "big.amp.example TXT"})
	// a tunnel: base32 chunks of 52 characters in two labels, TXT
	q = nil
	for i, names := 0, lab.RandomLabels(20240303, "abcdefghijklmnopqrstuvwxyz234567", 52, 1000); i < 500; i++ {
		q = append(q, fmt.Sprintf("%s.%s.%x.t.tunnel.example TXT", names[2*i], names[2*i+1], i))
	}
	a.tunnel = a.write(t, "tunnel.txt", q)
	time.Sleep(time.Second)
	return a
}

func (a *attackLab) write(t *testing.T, name string, lines []string) string {
	p := filepath.Join(a.dir, name)
	lab.WriteLines(t, p, lines)
	return p
}

// capture captures file on the client's veth while the ordinary mix (two
// dnsperf at 20 q/s, to unbound over IPv4 and knotd over IPv6) runs for
// mix seconds and, from 2 s in, attack runs. It returns when the attack
// was launched (this machine's clock, the one tcpdump stamps packets with).
func (a *attackLab) capture(t *testing.T, file string, mix int, attack func()) (string, time.Time) {
	path := filepath.Join(a.dir, file)
	c := a.n.Tcpdump(a.n.Cli, path, "-i", a.n.CliIf)
	l := fmt.Sprint(mix)
	done := make(chan struct{})
	go func() {
		a.n.DnsperfAll([][]string{
			{"-t", "2", "-f", "inet", "-s", s4u, "-d", a.mixed, "-l", l, "-Q", "20"},
			{"-t", "2", "-f", "inet6", "-s", s6k, "-d", a.mixed, "-l", l, "-Q", "20"},
		})
		close(done)
	}()
	time.Sleep(2 * time.Second)
	start := time.Now()
	attack()
	<-done
	time.Sleep(1500 * time.Millisecond)
	c.Stop(t)
	return path, start
}

// TestAttacks is the attack lab: one capture a scenario, each an attack
// inside the ordinary mix (or the mix alone), from 48 random-subdomain
// sources, a NXDOMAIN flood, a SERVFAIL storm (unbound's upstream is a
// blackhole), a one-source query flood, amplification (ANY and 3 kB TXT
// towards a spoofed-like target), a TXT tunnel and a TCP SYN flood (raw
// socket). No capture drops a packet; for 1 s, 5 s and 1 min buckets visor
// reports exactly the launched attack's finding, about its zone or
// address, starting within one bucket of the launch (or launchSlack more
// after it), start <= peak <= end,
// with a severity and a summary; the ordinary capture gives none.
func TestAttacks(t *testing.T) {
	a := newAttackLab(t)
	n := a.n
	for _, sc := range []struct {
		file, kind, key string
		zone, tgt, src  string
		mix             int
		attack          func()
	}{
		{file: "attack-random-subdomain.pcap", kind: "random_subdomain", zone: "victim.example", mix: 7, attack: func() {
			// 10 q/s a source: the 40 IPv4 sources' 400 q/s stay well under
			// query_flood's 1000 q/s for their /24 even when a loaded
			// machine makes dnsperf catch up in bursts (at 20 q/s they did not)
			var runs [][]string
			for i, f := range a.rnd4 {
				runs = append(runs, []string{"-t", "2", "-f", "inet", "-a", fmt.Sprintf("198.51.100.%d", 101+i), "-s", s4k, "-d", f, "-n", "1", "-Q", "10"})
			}
			for i, f := range a.rnd6 {
				runs = append(runs, []string{"-t", "2", "-f", "inet6", "-a", fmt.Sprintf("2001:db8:100::%d", 101+i), "-s", s6k, "-d", f, "-n", "1", "-Q", "10"})
			}
			n.DnsperfAll(runs)
		}},
		{file: "attack-nxdomain.pcap", kind: "nxdomain_flood", zone: "flood.example", mix: 7, attack: func() {
			n.Dnsperf("-t", "2", "-f", "inet", "-s", s4k, "-d", a.nx, "-l", "3", "-Q", "500")
		}},
		{file: "attack-servfail.pcap", kind: "servfail_storm", zone: "broken.example", mix: 7, attack: func() {
			n.Dnsperf("-t", "2", "-f", "inet", "-s", s4u, "-d", a.servfail, "-l", "3", "-Q", "200")
		}},
		{file: "attack-query-flood.pcap", kind: "query_flood", src: flood, mix: 6, attack: func() {
			n.Dnsperf("-t", "2", "-f", "inet", "-a", flood, "-s", s4k, "-d", a.mixed, "-l", "2", "-Q", "2500")
		}},
		{file: "attack-amplification.pcap", kind: "reflection", tgt: amp, mix: 6, attack: func() {
			n.Dnsperf("-t", "2", "-f", "inet", "-a", amp, "-s", s4k, "-e", "-d", a.ampQ, "-l", "2", "-Q", "150")
		}},
		{file: "attack-tunnel.pcap", kind: "dns_tunneling", zone: "t.tunnel.example", mix: 7, attack: func() {
			n.Dnsperf("-t", "2", "-f", "inet", "-a", tun, "-s", s4k, "-d", a.tunnel, "-n", "1", "-Q", "150")
		}},
		{file: "attack-syn-flood.pcap", kind: "tcp_syn_flood", tgt: s4k, mix: 6, attack: func() {
			if err := lab.SYNFlood(n.Cli, netip.MustParseAddr(c4), netip.MustParseAddr(s4k), 53, 1200, 600); err != nil {
				t.Errorf("SYN flood: %v", err)
			}
		}},
		{file: "attack-ordinary.pcap", mix: 6, attack: func() {
			for _, s := range []string{s4u, s6u, s4k, s6k} {
				for _, q := range [][]string{{"visor-lab.example", "SOA"}, {"www.visor-lab.example", "AAAA"}, {"amp.example", "ANY"},
					{"nope.visor-lab.example", "A"}, {"x.broken.example", "A"}} {
					n.Kdig("+timeout=2", "@"+s, q[0], q[1])
					n.Kdig("+timeout=2", "+tcp", "@"+s, q[0], q[1])
				}
			}
		}},
	} {
		t.Run(sc.file, func(t *testing.T) {
			path, start := a.capture(t, sc.file, sc.mix, sc.attack)
			want := truth.Attack{File: sc.file, Expect: truth.Expect{Kind: sc.kind, Zone: sc.zone, Target: sc.tgt, Source: sc.src}}
			if sc.kind == "" {
				zero := 0
				want.Findings = &zero
			} else {
				want.Start = start.UTC().Format("2006-01-02T15:04:05.000000000Z")
			}
			if err := truth.WriteLine(path+".findings.json", &want); err != nil {
				t.Fatal(err)
			}
			lab.Keep(t, path, path+".findings.json")
			for _, bucket := range []time.Duration{time.Second, 5 * time.Second, time.Minute} {
				for _, d := range want.Diff(lab.Analyze(t, "--bucket", bucket.String(), path).Findings, bucket, launchSlack) {
					t.Errorf("%s buckets: %s", bucket, d)
				}
			}
		})
	}
}
