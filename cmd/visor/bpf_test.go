package main

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBPFAgainstTcpdump: --bpf keeps the packets tcpdump's own filter
// keeps, precedence included (pcap-filter(7): and and or bind equally, left
// to right), IPv4 first fragments' ports and ARP's addresses too. tcpdump
// writes its selection to a file; visor counts that file and, with --bpf,
// the whole capture.
func TestBPFAgainstTcpdump(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not found (scripts/deps.sh installs it)")
	}
	exprs := []string{
		"udp", "tcp port 53", "ip6", "not ip6 and udp",
		"udp or tcp and ip6", "ip6 and tcp or udp", "udp or (tcp and ip6)",
		"not udp and tcp or ip6", "tcp or udp and not ip6 or ip6 and udp",
		"src port 53 or dst port 53 and ip", "greater 200 and udp", "less 100 or tcp and not ip",
		"net 198.51.100.0/24 or ip6 and src port 53",
		// host and net match ARP's addresses too
		"net 198.51.100.0/24", "host 198.51.100.2", "not host 198.51.100.2", "src host 198.51.100.10 or ip6",
		"dst net 198.51.100.0 mask 255.255.255.0 and not udp",
	}
	for _, capf := range []string{"lab-eth.pcap", "lab-tcp.pcap", "lab-sll2.pcap"} {
		path := filepath.Join("../../testdata", capf)
		for _, e := range exprs {
			t.Run(capf+"/"+e, func(t *testing.T) {
				sel := filepath.Join(t.TempDir(), "sel.pcap")
				if out, err := exec.Command(tcpdump, "-nr", path, "-w", sel, e).CombinedOutput(); err != nil {
					t.Fatalf("tcpdump %q: %v: %s", e, err, out)
				}
				want := analyzeJSON(t, sel).Summary.Net.Packets
				if got := analyzeJSON(t, "--bpf", e, path).Summary.Net.Packets; got != want {
					t.Errorf("--bpf %q: %d packets, tcpdump keeps %d", e, got, want)
				}
			})
		}
	}
}
