package filter

import (
	"net/netip"
	"testing"

	"github.com/visor-dns/visor"
)

func TestCompileAndMatch(t *testing.T) {
	q4 := &visor.Frame{IPVersion: 4, Src: netip.MustParseAddr("198.51.100.10"), Dst: netip.MustParseAddr("198.51.100.1"),
		Proto: 17, SrcPort: 40000, DstPort: 53, WireLen: 80}
	t6 := &visor.Frame{IPVersion: 6, Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::53"),
		Proto: 6, SrcPort: 53, DstPort: 50000, WireLen: 1500}
	arp := &visor.Frame{WireLen: 60}
	tests := []struct {
		expr        string
		q4, t6, arp bool
	}{
		{"", true, true, true},
		{"udp", true, false, false},
		{"tcp", false, true, false},
		{"ip", true, false, false},
		{"ip6", false, true, false},
		{"port 53", true, true, false},
		{"udp port 53", true, false, false},
		{"tcp port domain", false, true, false},
		{"dst port 53", true, false, false},
		{"src port 53", false, true, false},
		{"src or dst port 53", true, true, false},
		{"src and dst port 53", false, false, false},
		{"portrange 40000-40010", true, false, false},
		{"host 198.51.100.1", true, false, false},
		{"src host 198.51.100.1", false, false, false},
		{"198.51.100.10", true, false, false},
		{"net 198.51.100.0/24", true, false, false},
		{"net 198.51.100.0 mask 255.255.255.0", true, false, false},
		{"dst net 2001:db8::/32", false, true, false},
		{"not ip", false, true, true},
		{"!udp && !tcp", false, false, true},
		{"(udp or tcp) and not host 2001:db8::1", true, false, false},
		// and/or: equal precedence, left to right, as tcpdump reads them
		{"udp or tcp and ip6", false, true, false},
		{"ip6 and tcp or udp", true, true, false},
		{"ip6 and (tcp or udp)", false, true, false},
		{"not ip6 and udp or tcp", true, true, false},
		{"ip proto 17", true, false, false},
		{"ip6 proto tcp", false, true, false},
		{"proto udp", true, false, false},
		{"proto 6", false, true, false},
		{"proto 99", false, false, false},
		{"greater 1000", false, true, false},
		{"less 100", true, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			f, err := Compile(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(q4); got != tc.q4 {
				t.Errorf("udp/4 query: %v, want %v", got, tc.q4)
			}
			if got := f.Match(t6); got != tc.t6 {
				t.Errorf("tcp/6 answer: %v, want %v", got, tc.t6)
			}
			if got := f.Match(arp); got != tc.arp {
				t.Errorf("non-IP: %v, want %v", got, tc.arp)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, expr := range []string{"ether host 00:11:22:33:44:55", "port", "host nothere", "(udp", "udp and", "portrange 9-1", "vlan 100", "udp )"} {
		t.Run(expr, func(t *testing.T) {
			if _, err := Compile(expr); err == nil {
				t.Errorf("Compile(%q) succeeded; want an error", expr)
			}
		})
	}
}
