//go:build lab

package scenarios

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/visor-dns/visor/internal/lab"
)

// TestNFLOG: a real Linux NFLOG capture (link type 239): iptables NFLOG
// rules in the client namespace log its DNS packets (UDP and TCP, both
// ways) to group 5, `tcpdump -i nflog:5` writes them, and visor's DNS
// counts of the file equal tshark's.
func TestNFLOG(t *testing.T) {
	lab.Require(t, "ip", "knotd", "kdig", "iptables", "tcpdump", "tshark")
	lab.Visor(t)
	n := lab.NewNet(t, lab.NetConfig{SrvAddrs: []string{s4k + "/24", s6k + "/64"}, CliAddrs: []string{c4 + "/24", c6 + "/64"}})
	dir := t.TempDir()
	knot := n.StartKnot(dir, lab.Knot{Listen: []string{s4k, s6k}, UDPMaxPayload: 4096, Zones: labZones})
	n.WaitAnswer(s4k, "visor-lab.example", "SOA", "hostmaster", knot)
	for _, ipt := range []string{"iptables", "ip6tables"} {
		for _, rule := range [][]string{
			{"-A", "OUTPUT", "-p", "udp", "--dport", "53"}, {"-A", "INPUT", "-p", "udp", "--sport", "53"},
			{"-A", "OUTPUT", "-p", "tcp", "--dport", "53"}, {"-A", "INPUT", "-p", "tcp", "--sport", "53"},
		} {
			if _, err := n.Command(n.Cli, ipt, "-V").Output(); err != nil && ipt == "ip6tables" {
				continue
			}
			n.Run(n.Cli, ipt, append(rule, "-j", "NFLOG", "--nflog-group", "5")...)
		}
	}
	pcap := filepath.Join(dir, "nflog.pcap")
	capt := n.Tcpdump(n.Cli, pcap, "-i", "nflog:5")
	time.Sleep(300 * time.Millisecond)
	sent := 0
	for _, srv := range []string{s4k, s6k} {
		for _, q := range singles[:13] {
			n.Kdig("@"+srv, q[0], q[1])
			sent++
		}
		n.Kdig("+tcp", "@"+srv, "www.visor-lab.example", "A", "mail.visor-lab.example", "MX")
		sent += 2
	}
	// a large answer, IP-fragmented: the INPUT hook sees the reassembled datagram
	n.Kdig("+bufsize=4096", "@"+s4k, "big.visor-lab.example", "TXT")
	sent++
	lab.StopAll(t, capt)
	want := lab.TsharkTruth(t, pcap)
	if want.DNS.Queries < uint64(sent) || want.DNS.TCP == 0 || want.DNS.IPv6 == 0 {
		t.Fatalf("tshark sees %+v in the NFLOG capture, %d queries were sent", want.DNS, sent)
	}
	r := lab.Analyze(t, pcap)
	if lt := r.Inputs[0].LinkTypes; lt["NFLOG"] != r.Inputs[0].Packets {
		t.Errorf("link types %v", lt)
	}
	for _, d := range want.Diff(r) {
		t.Error(d)
	}
	for _, k := range []string{"unsupported_link_type", "truncated_link_header", "bad_link_header", "truncated_ip_header", "bad_ip_header"} {
		if r.Integrity[k] != 0 {
			t.Errorf("integrity %v", r.Integrity)
		}
	}
	t.Logf("NFLOG capture: %d packets, %d DNS messages (tshark %d)", want.Packets, r.Summary.DNS.Messages, want.DNS.Messages)
}
