package net

import (
	"cmp"
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/visor-dns/visor/sketch"
)

// AppendBinary appends s as the summary format's Net message
// (summary/visor_summary.proto): its counters, then its sketches.
func (s *State) AppendBinary(b []byte) ([]byte, error) {
	for i, v := range s.counters() {
		b = sketch.AppendUint(b, protowire.Number(i+1), *v)
	}
	for _, e := range s.edges {
		b = sketch.AppendMessage(b, fieldEdges, func(b []byte) []byte {
			b = sketch.AppendUint(b, 1, uint64(e.FirstSec))
			b = sketch.AppendUint(b, 2, e.FirstCount)
			b = sketch.AppendUint(b, 3, uint64(e.LastSec))
			return sketch.AppendUint(b, 4, e.LastCount)
		})
	}
	var err error
	for _, f := range s.sketches() {
		if f.topk != nil && *f.topk == nil {
			continue
		}
		b = sketch.AppendMessage(b, f.num, func(b []byte) []byte {
			var e error
			switch {
			case f.card != nil:
				b, e = (*f.card).AppendBinary(b)
			case f.topk != nil:
				b, e = (*f.topk).AppendBinary(b)
			default:
				b, e = (*f.quant).AppendBinary(b)
			}
			if err == nil {
				err = e
			}
			return b
		})
	}
	return b, err
}

// UnmarshalBinary replaces s's content with the Net message b. s keeps no
// geo lookup: a state read back only merges and reports.
func (s *State) UnmarshalBinary(b []byte) error {
	// A state read before (a merge's part, bucket after bucket) is read
	// into again in its own memory; on an error it is left partly read.
	n := s
	if s.src == nil {
		n = NewState()
	} else {
		s.Reset()
		s.topGeo, s.topASN = nil, nil
	}
	cs := n.counters()
	fs := n.sketches()
	err := sketch.Fields(b, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) error {
		if num >= 1 && int(num) <= len(cs) && typ == protowire.VarintType {
			*cs[num-1] = v
			return nil
		}
		if num == fieldEdges && typ == protowire.BytesType {
			if len(n.edges) >= maxEdges {
				return fmt.Errorf("%w: more than %d rate edges", sketch.ErrCorrupt, maxEdges)
			}
			var e RateEdge
			err := sketch.Fields(val, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
				if typ == protowire.VarintType {
					switch num {
					case 1:
						e.FirstSec = int64(v)
					case 2:
						e.FirstCount = v
					case 3:
						e.LastSec = int64(v)
					case 4:
						e.LastCount = v
					}
				}
				return nil
			})
			if e.LastSec < e.FirstSec {
				return fmt.Errorf("%w: rate edge ends before it starts", sketch.ErrCorrupt)
			}
			n.edges = append(n.edges, e)
			return err
		}
		for _, f := range fs {
			if f.num != num || typ != protowire.BytesType {
				continue
			}
			var err error
			switch {
			case f.card != nil:
				err = (*f.card).UnmarshalBinary(val)
			case f.topk != nil:
				if *f.topk == nil {
					*f.topk = sketch.NewTopK(TopCapacity)
				}
				err = (*f.topk).UnmarshalBinary(val)
			default:
				err = (*f.quant).UnmarshalBinary(val)
			}
			if err != nil {
				return fmt.Errorf("net field %d: %w", num, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n != s {
		*s = *n
	}
	return nil
}

// fieldEdges is the Net message's rate edges; maxEdges bounds them.
const (
	fieldEdges = 20
	maxEdges   = 1 << 20
)

func (s *State) counters() []*uint64 {
	return []*uint64{&s.Packets, &s.Bytes, &s.IPv4, &s.IPv6, &s.NonIP, &s.UDP, &s.TCP, &s.OtherL4,
		&s.Fragments, &s.In, &s.Out, &s.Unknown}
}

// sketchField is one sketch of a state and its field number.
type sketchField struct {
	num   protowire.Number
	card  **sketch.Cardinality
	topk  **sketch.TopK
	quant **sketch.Quantiles
}

func (s *State) sketches() []sketchField {
	return []sketchField{
		{num: 13, card: &s.src}, {num: 14, card: &s.dst},
		{num: 15, topk: &s.topSrc}, {num: 16, topk: &s.topDst},
		{num: 17, quant: &s.pps},
		{num: 18, topk: &s.topGeo}, {num: 19, topk: &s.topASN},
	}
}

// Clone returns a deep copy of s (without its geo lookup).
func (s *State) Clone() *State {
	c := NewState()
	c.Merge(s)
	return c
}

// RateEdge is one run's first and last second of packets in a bucket,
// with their counts, kept out of the rate quantiles by a run that writes a
// summary: another piece of the same capture may hold the rest of those
// seconds, or the seconds between (SettleRates).
type RateEdge struct {
	FirstSec, LastSec     int64
	FirstCount, LastCount uint64
}

// AddRateEdge keeps a run's rate edges for SettleRates (none when e's
// counts are 0).
func (s *State) AddRateEdge(e RateEdge) {
	if e.FirstCount > 0 {
		s.edges = append(s.edges, e)
	}
}

// SettleRates adds the kept rate edges of the runs merged into s (one
// bucket) to the rate quantiles as one run over their concatenated
// captures would have: the counts of a second two runs share added up,
// the empty seconds between two runs added as zeros. Runs that overlap in
// time (not pieces of one capture) add their edges as they are.
func (s *State) SettleRates() {
	es := s.edges
	if len(es) == 0 {
		return
	}
	slices.SortFunc(es, func(a, b RateEdge) int {
		if c := cmp.Compare(a.FirstSec, b.FirstSec); c != 0 {
			return c
		}
		return cmp.Compare(a.LastSec, b.LastSec)
	})
	pend, n := es[0].LastSec, es[0].LastCount
	if es[0].LastSec != es[0].FirstSec {
		s.pps.Add(float64(es[0].FirstCount))
	}
	for _, e := range es[1:] {
		single := e.FirstSec == e.LastSec
		switch {
		case e.FirstSec == pend:
			if single {
				n += e.FirstCount
				continue
			}
			s.pps.Add(float64(n + e.FirstCount))
		case e.FirstSec > pend:
			s.pps.Add(float64(n))
			if gap := e.FirstSec - pend - 1; gap > 0 {
				s.pps.AddN(0, uint64(gap))
			}
			if single {
				pend, n = e.FirstSec, e.FirstCount
				continue
			}
			s.pps.Add(float64(e.FirstCount))
		default: // overlapping runs
			s.pps.Add(float64(n))
			if single {
				pend, n = e.FirstSec, e.FirstCount
				continue
			}
			s.pps.Add(float64(e.FirstCount))
		}
		pend, n = e.LastSec, e.LastCount
	}
	s.pps.Add(float64(n))
	s.edges = s.edges[:0]
}
