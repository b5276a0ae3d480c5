package findings

import (
	"github.com/visor-dns/visor/sketch"
	"net/netip"
	"testing"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/decode"
)

func TestZone(t *testing.T) {
	var c zoneCache
	for _, tc := range []struct{ name, zone string }{
		{"abc123.victim.example", "victim.example"},
		{"victim.example", "victim.example"},
		{"a.b.c.www.bbc.co.uk", "bbc.co.uk"},
		{"co.uk", "co.uk"},
		{"foo.co.uk", "foo.co.uk"},
		{"com", "com"},
		{"localhost", "localhost"},
		{".", "."},
		{"80.100.51.198.in-addr.arpa", "198.in-addr.arpa"}, // in-addr.arpa is on the list
	} {
		for i := 0; i < 2; i++ { // miss, then hit
			if got := c.zone([]byte(tc.name)); got != tc.zone {
				t.Errorf("zone(%q) = %q, want %q (pass %d)", tc.name, got, tc.zone, i)
			}
		}
	}
}

func query(t testing.TB, name string, qtype uint16) []byte {
	b := []byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, l := range splitLabels(name) {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0, byte(qtype>>8), byte(qtype), 0, 1)
}

func splitLabels(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// TestObserveAllocatesNothing: once the zone and addresses are known, a
// message costs no allocation, even with a new random label each time.
func TestObserveAllocatesNothing(t *testing.T) {
	s := NewState()
	var v decode.DNS
	names := make([][]byte, 64)
	for i := range names {
		names[i] = query(t, string(rune('a'+i%26))+"x"+string(rune('a'+i/26))+"q7z.victim.example", 1)
	}
	m := &visor.Message{TS: 1e18, IPVersion: 4, Transport: visor.TransportUDP,
		Src: netip.MustParseAddr("198.51.100.7"), Dst: netip.MustParseAddr("198.51.100.1"), SrcPort: 5353, DstPort: 53}
	// the sparse HLL grows while new names come: warm it up to dense
	for i := 0; i < 20000; i++ {
		b := query(t, "w"+string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676%26))+".victim.example", 1)
		decode.ParseDNS(b, &v)
		m.Data, m.WireLen = b, len(b)
		s.ObserveDNS(m, &v, sketch.Hash(v.QName()), visor.DirUnknown)
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		b := names[i%len(names)]
		i++
		decode.ParseDNS(b, &v)
		m.Data, m.WireLen = b, len(b)
		s.ObserveDNS(m, &v, sketch.Hash(v.QName()), visor.DirUnknown)
	})
	if allocs != 0 {
		t.Errorf("ObserveDNS: %.1f allocations per message, want 0", allocs)
	}
}

func TestThresholdSet(t *testing.T) {
	th := DefaultThresholds()
	if err := th.Set("rs-names=12"); err != nil || th.RSNames != 12 {
		t.Errorf("Set: %v, RSNames %v", err, th.RSNames)
	}
	for _, bad := range []string{"rs-names", "nope=1", "rs-names=x", "rs-names=-1"} {
		if err := th.Set(bad); err == nil {
			t.Errorf("Set(%q) took it", bad)
		}
	}
}

func TestShape(t *testing.T) {
	s := NewState()
	for _, tc := range []struct {
		sub       string
		longest   int
		entropyMb uint64
	}{
		{"", 0, 0},
		{"..", 0, 0},
		{"aaaa", 4, 0},
		{"abc", 3, 1585},
		{"ab.cde", 3, 2322},
		{"abab.abab.x", 4, 1392}, // 4 a, 4 b, 1 x over 9 bytes
	} {
		longest, mb := s.shape([]byte(tc.sub))
		if longest != tc.longest || mb != tc.entropyMb {
			t.Errorf("%q: longest %d entropy %d mbit, want %d and %d", tc.sub, longest, mb, tc.longest, tc.entropyMb)
		}
	}
	// The count table is left clean for the next name.
	for c, n := range s.cnt {
		if n != 0 {
			t.Fatalf("cnt[%d] = %d after shape", c, n)
		}
	}
}

// BenchmarkShape measures the label shape of random-subdomain labels.
func BenchmarkShape(b *testing.B) {
	s := NewState()
	names := [][]byte{[]byte("m7xlaajs7"), []byte("tjaiabk12"), []byte("s9fvthacmax"), []byte("a.b.cc"), []byte("0123456789abcdefghij")}
	for i := 0; b.Loop(); i++ {
		s.shape(names[i%len(names)])
	}
}
