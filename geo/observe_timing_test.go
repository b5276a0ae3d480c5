package geo_test

import (
	"net/netip"
	"testing"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/analyzers/net"
	"github.com/visor-dns/visor/geo"
)

// frames are four packets between addresses of geotest's networks.
func frames() []visor.Frame {
	f := func(src, dst string) visor.Frame {
		s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
		v := uint8(4)
		if s.Is6() {
			v = 6
		}
		return visor.Frame{WireLen: 80, IPVersion: v, Src: s, Dst: d, Proto: visor.TransportUDP, SrcPort: 40000, DstPort: 53}
	}
	return []visor.Frame{f("198.51.100.10", "198.51.100.1"), f("198.51.100.1", "198.51.100.130"),
		f("2001:db8:100::104", "2001:db8:200::1"), f("198.51.100.200", "198.51.100.1")}
}

// The packet path with databases allocates nothing once the addresses and
// names are known.
func TestNetObserveWithGeoAllocatesNothing(t *testing.T) {
	city, asn := open(t)
	st := net.NewGeoState(geo.NewLookup(city, asn))
	fs := frames()
	for i := range fs {
		st.Observe(&fs[i], visor.DirUnknown)
	}
	if n := testing.AllocsPerRun(1000, func() {
		for i := range fs {
			st.Observe(&fs[i], visor.Direction(i%3))
		}
	}); n != 0 {
		t.Fatalf("%v allocations per round", n)
	}
}

// BenchmarkNetObserve compares the packet path without databases (the
// default) and with both.
func BenchmarkNetObserve(b *testing.B) {
	city, asn := open(b)
	for _, c := range []struct {
		name string
		lk   *geo.Lookup
	}{{"none", nil}, {"city+asn", geo.NewLookup(city, asn)}} {
		b.Run(c.name, func(b *testing.B) {
			st := net.NewGeoState(c.lk)
			fs := frames()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				st.Observe(&fs[i%len(fs)], visor.DirUnknown)
			}
		})
	}
}
