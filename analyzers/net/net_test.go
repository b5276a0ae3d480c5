package net

import (
	"net/netip"
	"testing"

	"github.com/visor-dns/visor"
)

func TestObserveAndMerge(t *testing.T) {
	frames := []struct {
		f   visor.Frame
		dir visor.Direction
	}{
		{visor.Frame{WireLen: 100, IPVersion: 4, Proto: 17, Src: netip.MustParseAddr("198.51.100.10"), Dst: netip.MustParseAddr("198.51.100.1")}, visor.DirIn},
		{visor.Frame{WireLen: 200, IPVersion: 4, Proto: 17, Src: netip.MustParseAddr("198.51.100.1"), Dst: netip.MustParseAddr("198.51.100.10")}, visor.DirOut},
		{visor.Frame{WireLen: 300, IPVersion: 6, Proto: 6, Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2")}, visor.DirUnknown},
		{visor.Frame{WireLen: 60, IPVersion: 4, Proto: 1, Src: netip.MustParseAddr("198.51.100.10"), Dst: netip.MustParseAddr("198.51.100.1")}, visor.DirIn},
		{visor.Frame{WireLen: 42}, visor.DirUnknown},
		{visor.Frame{WireLen: 1500, IPVersion: 4, Proto: 17, Fragment: true, Src: netip.MustParseAddr("198.51.100.1"), Dst: netip.MustParseAddr("198.51.100.10")}, visor.DirOut},
	}
	whole, a, b := NewState(), NewState(), NewState()
	for i, fr := range frames {
		whole.Observe(&fr.f, fr.dir)
		if i%2 == 0 {
			a.Observe(&fr.f, fr.dir)
		} else {
			b.Observe(&fr.f, fr.dir)
		}
	}
	a.Merge(b)
	for name, s := range map[string]*State{"one state": whole, "merged": a} {
		t.Run(name, func(t *testing.T) {
			r := s.Report(2)
			want := [...]uint64{6, 2202, 4, 1, 1, 3, 1, 1, 1, 2, 2, 2}
			got := [...]uint64{r.Packets, r.Bytes, r.IPv4, r.IPv6, r.NonIP, r.UDP, r.TCP, r.OtherL4, r.Fragments, r.In, r.Out, r.UnknownDir}
			if got != want {
				t.Errorf("counters %v, want %v", got, want)
			}
			if r.Cardinality.SrcIPs != 3 || r.Cardinality.DstIPs != 3 {
				t.Errorf("cardinality %+v, want 3 and 3", r.Cardinality)
			}
			if len(r.Top.SrcIPs) != 2 || r.Top.SrcIPs[0].Name != "198.51.100.1" || r.Top.SrcIPs[0].Estimate != 2 ||
				r.Top.SrcIPs[1].Name != "198.51.100.10" {
				t.Errorf("top src %+v", r.Top.SrcIPs)
			}
		})
	}
}

// The address memo skips distinct counts it has entered since Reset, and
// only those: after a Reset the same addresses count again.
func TestAddressMemoAcrossReset(t *testing.T) {
	c, s6, s7 := netip.MustParseAddr("198.51.100.10"), netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
	s := NewState()
	for _, round := range []struct {
		pairs    [][2]netip.Addr
		src, dst uint64
	}{
		{[][2]netip.Addr{{c, s6}, {s6, c}, {c, s6}, {s6, c}, {c, s7}, {s7, c}, {c, s6}}, 3, 3},
		{[][2]netip.Addr{{c, s6}, {s6, c}}, 2, 2},
		{[][2]netip.Addr{{c, s6}}, 1, 1},
	} {
		s.Reset()
		for _, p := range round.pairs {
			s.Observe(&visor.Frame{WireLen: 60, IPVersion: 4, Proto: 17, Src: p[0], Dst: p[1]}, visor.DirUnknown)
		}
		r := s.Report(3)
		if r.Cardinality.SrcIPs != round.src || r.Cardinality.DstIPs != round.dst {
			t.Errorf("%d packets: cardinality %+v, want %d and %d", len(round.pairs), r.Cardinality, round.src, round.dst)
		}
		var n uint64
		for _, it := range r.Top.SrcIPs {
			n += it.Estimate
		}
		if n != uint64(len(round.pairs)) {
			t.Errorf("%d packets: top sources sum to %d", len(round.pairs), n)
		}
	}
}
