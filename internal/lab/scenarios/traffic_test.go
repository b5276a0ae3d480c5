//go:build lab

package scenarios

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/visor-dns/visor/internal/lab"
	"github.com/visor-dns/visor/internal/truth"
	"github.com/visor-dns/visor/report"
)

// The lab's addresses: unbound (recursive) and knotd
// (authoritative) in the server namespace, a blackholed upstream.
const (
	s4u  = "198.51.100.1" // unbound
	s6u  = "2001:db8:100::1"
	s4k  = "198.51.100.2" // knotd
	s6k  = "2001:db8:100::2"
	c4   = "198.51.100.10"
	c6   = "2001:db8:100::10"
	dead = "198.51.100.254" // blackholed in the server namespace
)

// labZones are knotd's zones in the traffic and attack labs.
var labZones = []string{"visor-lab.example", "victim.example", "100.51.198.in-addr.arpa"}

// labUnbound is unbound over knotd: broken.example and everything else
// (root priming included) go to the blackhole; other.example is refused.
func labUnbound() lab.Unbound {
	return lab.Unbound{
		Verbosity: 1, Interfaces: []string{s4u, s6u}, Outgoing: []string{s4u, s6u},
		MaxUDPSize: 1232, // answers over 1232 bytes are truncated (TC=1): kdig retries over TCP
		LocalZones: map[string]string{
			"100.51.198.in-addr.arpa": "nodefault", // an RFC 6303 default zone that would short-circuit the lab
			"other.example":           "refuse",
		},
		Stubs: map[string]string{
			"visor-lab.example": s4k, "victim.example": s4k, "100.51.198.in-addr.arpa": s4k,
			"broken.example": dead, ".": dead,
		},
	}
}

// singles are the kdig questions of the traffic lab.
var singles = [][]string{
	{"visor-lab.example", "SOA"}, {"visor-lab.example", "NS"}, {"visor-lab.example", "MX"}, {"visor-lab.example", "TXT"},
	{"visor-lab.example", "ANY"}, {"www.visor-lab.example", "A"}, {"www.visor-lab.example", "AAAA"},
	{"www.visor-lab.example", "TXT"}, {"www.visor-lab.example", "MX"}, {"alias.visor-lab.example", "A"},
	{"_sip._udp.visor-lab.example", "SRV"}, {"mail.visor-lab.example", "A"}, {"nope.visor-lab.example", "A"},
	{"www.victim.example", "A"}, {"x.broken.example", "A"}, {"www.other.example", "A"},
	{"1.100.51.198.in-addr.arpa", "PTR"}, {"multi.visor-lab.example", "A"},
}

// mixedQueries is dnsperf's mixed workload (no EDNS: nothing needs more
// than 512 bytes), twice over.
func mixedQueries() []string {
	var q []string
	for round := 0; round < 2; round++ {
		q = append(q, "visor-lab.example SOA", "visor-lab.example NS", "visor-lab.example MX", "visor-lab.example TXT",
			"visor-lab.example A", "visor-lab.example AAAA", "www.visor-lab.example A", "www.visor-lab.example AAAA",
			"www.visor-lab.example TXT", "www.visor-lab.example MX", "mail.visor-lab.example A", "mail.visor-lab.example AAAA",
			"mail2.visor-lab.example AAAA", "alias.visor-lab.example A", "multi.visor-lab.example A",
			"_sip._udp.visor-lab.example SRV", "www.victim.example A", "www.victim.example AAAA", "nope.visor-lab.example A",
			"missing.victim.example TXT", "x.broken.example A", "www.other.example A", "80.100.51.198.in-addr.arpa PTR")
		for i := 1; i <= 40; i++ {
			typ := "A"
			if i%3 == 0 {
				typ = "AAAA"
			}
			q = append(q, fmt.Sprintf("h%d.visor-lab.example %s", i, typ))
		}
	}
	return q
}

// TestTraffic is the traffic lab: kdig (UDP, TCP, TCP keepopen, large
// answers that fragment or truncate) and dnsperf (UDP, TCP, a
// random-subdomain burst from 12 sources) against unbound and knotd, over
// IPv4 and IPv6, captured on the client's veth three ways at once
// (lab-eth.pcap: tcpdump Ethernet; lab-sll2.pcap: tcpdump -i any, SLL2,
// nanosecond; lab.pcapng: dumpcap), then mostly-TCP traffic (lab-tcp.pcap).
// No capture drops a packet; the three simultaneous captures have the same
// tshark truth (but for file and packets) and the same visor report;
// visor's counts of each capture equal tshark's.
func TestTraffic(t *testing.T) {
	lab.Require(t, "ip", "knotd", "unbound", "dnsperf", "kdig", "tshark", "dumpcap", "tcpdump", "ethtool")
	lab.Visor(t)
	cli := []string{c4 + "/24", c6 + "/64"}
	for i := 101; i <= 108; i++ {
		cli = append(cli, fmt.Sprintf("198.51.100.%d/32", i))
	}
	for i := 101; i <= 104; i++ {
		cli = append(cli, fmt.Sprintf("2001:db8:100::%d/128", i))
	}
	n := lab.NewNet(t, lab.NetConfig{
		SrvAddrs:   []string{s4u + "/24", s4k + "/24", s6u + "/64", s6k + "/64"},
		CliAddrs:   cli,
		Blackholes: []string{dead + "/32"},
		NoOffload:  true, // a 3.4 kB answer spans several segments within the 1500-byte MTU
	})
	dir := t.TempDir()
	knot := n.StartKnot(dir, lab.Knot{Listen: []string{s4k, s6k}, UDPMaxPayload: 4096, Zones: labZones})
	unbound := n.StartUnbound(dir, "unbound", labUnbound())
	n.WaitAnswer(s4k, "visor-lab.example", "SOA", "hostmaster", knot)
	n.WaitAnswer(s6u, "www.visor-lab.example", "A", "198.51.100.80", knot, unbound)
	mixed := filepath.Join(dir, "mixed.txt")
	lab.WriteLines(t, mixed, mixedQueries())
	rnd4, rnd6 := lab.RandomNames(t, dir, 20240101, "victim.example", 320, 240, 30, 20)
	time.Sleep(time.Second) // let IPv6 and ARP set-up chatter settle before capturing

	eth := n.Tcpdump(n.Cli, filepath.Join(dir, "lab-eth.pcap"), "-i", n.CliIf)
	sll2 := n.Tcpdump(n.Cli, filepath.Join(dir, "lab-sll2.pcap"), "-i", "any", "--time-stamp-precision=nano")
	ng := n.Dumpcap(n.Cli, n.CliIf, filepath.Join(dir, "lab.pcapng"))
	time.Sleep(500 * time.Millisecond)
	trafficMain(t, n, mixed, rnd4, rnd6)
	lab.StopAll(t, eth, sll2, ng)

	tcp := n.Tcpdump(n.Cli, filepath.Join(dir, "lab-tcp.pcap"), "-i", n.CliIf)
	time.Sleep(500 * time.Millisecond)
	trafficTCP(n, mixed)
	lab.StopAll(t, tcp)

	caps := []string{eth.Path, sll2.Path, ng.Path, tcp.Path}
	truths := map[string]*truth.Capture{}
	for _, c := range caps {
		if st, err := os.Stat(c); err != nil || st.Size() >= 2<<20 {
			t.Errorf("%s: %v, %d bytes: want under 2 MB", c, err, st.Size())
		}
		truths[c] = lab.TsharkTruth(t, c)
	}
	// the three simultaneous captures agree on every DNS count
	ref, _ := json.Marshal(truths[eth.Path].DNS)
	for _, c := range []string{sll2.Path, ng.Path} {
		if b, _ := json.Marshal(truths[c].DNS); string(b) != string(ref) {
			t.Errorf("the DNS truth of %s differs from lab-eth.pcap's:\n%s\n%s", filepath.Base(c), b, ref)
		}
	}
	var refDNS []byte
	for _, c := range caps {
		t.Run(filepath.Base(c), func(t *testing.T) {
			r := lab.Analyze(t, c)
			for _, d := range truths[c].Diff(r) {
				t.Error(d)
			}
			if c == tcp.Path {
				return
			}
			// one traffic, three capture formats: the same DNS report
			d := r.Summary.DNS
			d.Xacts = report.Xacts{Total: d.Xacts.Total, TimedOut: d.Xacts.TimedOut}
			b, _ := json.Marshal(d)
			if refDNS == nil {
				refDNS = b
				if d.Messages == 0 {
					t.Fatal("no DNS messages")
				}
			} else if string(b) != string(refDNS) {
				t.Errorf("DNS report differs from lab-eth.pcap's:\n%s\n%s", b, refDNS)
			}
		})
	}
}

func trafficMain(t *testing.T, n *lab.Net, mixed string, rnd4, rnd6 []string) {
	for _, s := range []string{s4u, s6u, s4k, s6k} {
		for _, q := range singles {
			n.Kdig("@"+s, q[0], q[1])
		}
		// 3.4 kB answer: knotd sends IP fragments; unbound truncates (TC=1) and kdig retries over TCP
		n.Kdig("@"+s, "+bufsize=4096", "big.visor-lab.example", "TXT")
	}
	for _, s := range []string{s4u, s6k} {
		for _, q := range singles {
			n.Kdig("@"+s, "+tcp", q[0], q[1])
		}
	}
	for _, s := range []string{s4u, s6u, s4k, s6k} {
		n.Kdig("@"+s, "+tcp", "+keepopen", "www.visor-lab.example", "A", "mail.visor-lab.example", "AAAA",
			"visor-lab.example", "MX", "nope.visor-lab.example", "A", "www.visor-lab.example", "TXT", "big.visor-lab.example", "TXT")
	}
	n.Dnsperf("-t", "3", "-f", "inet", "-s", s4u, "-d", mixed, "-n", "1", "-Q", "300")
	n.Dnsperf("-t", "3", "-f", "inet6", "-s", s6u, "-d", mixed, "-n", "1", "-Q", "300")
	n.Dnsperf("-t", "3", "-f", "inet", "-s", s4k, "-d", mixed, "-n", "1", "-Q", "300")
	n.Dnsperf("-t", "3", "-f", "inet6", "-s", s6k, "-d", mixed, "-n", "1", "-Q", "300")
	n.Dnsperf("-t", "3", "-m", "tcp", "-f", "inet", "-s", s4u, "-d", mixed, "-n", "1", "-c", "1", "-q", "20")
	n.Dnsperf("-t", "3", "-m", "tcp", "-f", "inet6", "-s", s6k, "-d", mixed, "-n", "1", "-c", "1", "-q", "20")
	// the random-subdomain burst: 12 sources, 320 names
	var runs [][]string
	for i, f := range rnd4 {
		runs = append(runs, []string{"-t", "3", "-f", "inet", "-a", fmt.Sprintf("198.51.100.%d", 101+i), "-s", s4u, "-d", f, "-n", "1", "-Q", "100"})
	}
	for i, f := range rnd6 {
		runs = append(runs, []string{"-t", "3", "-f", "inet6", "-a", fmt.Sprintf("2001:db8:100::%d", 101+i), "-s", s6u, "-d", f, "-n", "1", "-Q", "100"})
	}
	if len(runs) != 12 {
		t.Fatalf("%d random-name files, want 12", len(runs))
	}
	n.DnsperfAll(runs)
}

func trafficTCP(n *lab.Net, mixed string) {
	n.Dnsperf("-t", "3", "-m", "tcp", "-f", "inet6", "-s", s6u, "-d", mixed, "-n", "1", "-c", "2", "-q", "50")
	n.Dnsperf("-t", "3", "-m", "tcp", "-f", "inet", "-s", s4k, "-d", mixed, "-n", "1", "-c", "2", "-q", "50")
	for _, s := range []string{s4u, s6u, s4k, s6k} {
		n.Kdig("@"+s, "+tcp", "+keepopen", "www.visor-lab.example", "A", "www.visor-lab.example", "AAAA", "visor-lab.example", "SOA",
			"nope.visor-lab.example", "A", "x.broken.example", "A", "www.other.example", "A", "big.visor-lab.example", "TXT",
			"_sip._udp.visor-lab.example", "SRV")
	}
	for _, q := range singles[:6] {
		n.Kdig("@"+s4u, q[0], q[1])
	}
}
