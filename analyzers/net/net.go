// Package net is the packet-level analyzer: counters by IP version,
// transport and direction, distinct and top addresses, and packet rates
// over seconds of capture time.
package net

import (
	"net/netip"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/geo"
	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/sketch"
)

// TopCapacity is the frequent-items capacity of each address list.
const TopCapacity = 1024

// State is one bucket's (or the summary's) packet-level state. It merges.
type State struct {
	Packets, Bytes    uint64
	IPv4, IPv6, NonIP uint64
	UDP, TCP, OtherL4 uint64
	Fragments         uint64
	In, Out, Unknown  uint64
	src, dst          *sketch.Cardinality
	topSrc, topDst    *sketch.TopK
	pps               *sketch.Quantiles
	geo               *geo.Lookup  // nil: no geo work at all
	topGeo, topASN    *sketch.TopK // nil without their database
	// The last two sources and destinations with their hashes: a
	// conversation alternates two addresses, and an address met again
	// since Reset is in its distinct count already.
	srcMemo, dstMemo sketch.AddrHashes
	// The rate edges of the runs merged into a bucket, until SettleRates
	// (summary.go); empty unless the run writes a summary.
	edges []RateEdge
}

// NewState returns an empty state.
func NewState() *State {
	return &State{
		src: sketch.NewDenseCardinality(), dst: sketch.NewDenseCardinality(),
		topSrc: sketch.NewTopK(TopCapacity), topDst: sketch.NewTopK(TopCapacity),
		pps: sketch.NewQuantiles(),
	}
}

// NewGeoState returns an empty state that also counts the locations and
// ASes of the remote addresses through lk (nil: as NewState). Only the
// goroutine that observes into the state may use lk.
func NewGeoState(lk *geo.Lookup) *State {
	s := NewState()
	s.geo = lk
	if lk.HasCity() {
		s.topGeo = sketch.NewTopK(TopCapacity)
	}
	if lk.HasASN() {
		s.topASN = sketch.NewTopK(TopCapacity)
	}
	return s
}

// Observe counts one decoded packet.
func (s *State) Observe(f *visor.Frame, dir visor.Direction) {
	s.Packets++
	s.Bytes += uint64(f.WireLen)
	switch dir {
	case visor.DirIn:
		s.In++
	case visor.DirOut:
		s.Out++
	default:
		s.Unknown++
	}
	switch f.IPVersion {
	case 4:
		s.IPv4++
	case 6:
		s.IPv6++
	default:
		s.NonIP++
		return
	}
	if f.Fragment {
		s.Fragments++
	}
	switch f.Proto {
	case visor.TransportUDP:
		s.UDP++
	case visor.TransportTCP:
		s.TCP++
	default:
		s.OtherL4++
	}
	s.topSrc.AddAddr(f.Src, count(f.Src, &s.srcMemo, s.src), 1)
	s.topDst.AddAddr(f.Dst, count(f.Dst, &s.dstMemo, s.dst), 1)
	if s.geo != nil {
		// The remote end, as pktvisor: the source of a packet in, the
		// destination of a packet out, both when the direction is unknown.
		if dir != visor.DirOut {
			s.observeGeo(f.Src)
		}
		if dir != visor.DirIn {
			s.observeGeo(f.Dst)
		}
	}
}

// count returns a's hash and enters a in its distinct count c, unless the
// memo m shows it there already.
func count(a netip.Addr, m *sketch.AddrHashes, c *sketch.Cardinality) uint64 {
	h, fresh := m.Hash(a)
	if fresh {
		c.InsertHash(h)
	}
	return h
}

func (s *State) observeGeo(a netip.Addr) {
	n := s.geo.Names(a)
	if n.Loc != nil {
		s.topGeo.AddHash(n.Loc.B, n.Loc.Hash, 1)
	}
	if n.ASN != nil {
		s.topASN.AddHash(n.ASN.B, n.ASN.Hash, 1)
	}
}

// MergeRates adds per-second packet counts (kept by the pipeline's reader,
// which sees every packet) to the rate quantiles.
func (s *State) MergeRates(q *sketch.Quantiles) { s.pps.Merge(q) }

// Merge adds o into s.
func (s *State) Merge(o *State) {
	s.Packets += o.Packets
	s.Bytes += o.Bytes
	s.IPv4 += o.IPv4
	s.IPv6 += o.IPv6
	s.NonIP += o.NonIP
	s.UDP += o.UDP
	s.TCP += o.TCP
	s.OtherL4 += o.OtherL4
	s.Fragments += o.Fragments
	s.In += o.In
	s.Out += o.Out
	s.Unknown += o.Unknown
	s.src.Merge(o.src)
	s.dst.Merge(o.dst)
	s.topSrc.Merge(o.topSrc)
	s.topDst.Merge(o.topDst)
	s.pps.Merge(o.pps)
	s.edges = append(s.edges, o.edges...)
	// A state read back from a summary may have geo tops the other lacks.
	if o.topGeo != nil {
		if s.topGeo == nil {
			s.topGeo = sketch.NewTopK(TopCapacity)
		}
		s.topGeo.Merge(o.topGeo)
	}
	if o.topASN != nil {
		if s.topASN == nil {
			s.topASN = sketch.NewTopK(TopCapacity)
		}
		s.topASN.Merge(o.topASN)
	}
}

// Reset empties s for reuse.
func (s *State) Reset() {
	src, dst, ts, td, pps := s.src, s.dst, s.topSrc, s.topDst, s.pps
	src.Reset()
	dst.Reset()
	ts.Reset()
	td.Reset()
	pps.Reset()
	*s = State{src: src, dst: dst, topSrc: ts, topDst: td, pps: pps, geo: s.geo, topGeo: s.topGeo, topASN: s.topASN, edges: s.edges[:0]}
	if s.topGeo != nil {
		s.topGeo.Reset()
	}
	if s.topASN != nil {
		s.topASN.Reset()
	}
}

// Report renders s with top-N lists of at most top entries.
func (s *State) Report(top int) report.Net {
	return report.Net{
		Packets: s.Packets, Bytes: s.Bytes, IPv4: s.IPv4, IPv6: s.IPv6, NonIP: s.NonIP,
		UDP: s.UDP, TCP: s.TCP, OtherL4: s.OtherL4, Fragments: s.Fragments,
		In: s.In, Out: s.Out, UnknownDir: s.Unknown,
		Cardinality: report.NetCardinality{SrcIPs: s.src.Estimate(), DstIPs: s.dst.Estimate()},
		Top: report.NetTop{
			SrcIPs: report.TopItems(s.topSrc, top, visor.AddrName),
			DstIPs: report.TopItems(s.topDst, top, visor.AddrName),
			Geo:    topOf(s.topGeo, top),
			ASN:    topOf(s.topASN, top),
		},
		Rates: report.NetRates{PPS: report.QuantilesOf(s.pps)},
	}
}

// topOf renders t, or nothing when t is nil (its database was not given).
func topOf(t *sketch.TopK, top int) []report.TopItem {
	if t == nil {
		return nil
	}
	return report.TopItems(t, top, nil)
}
