package net

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/visor-dns/visor/sketch"
)

// AppendBinary appends s as the summary format's Net message
// (summary/visor_summary.proto): its counters, then its sketches.
func (s *State) AppendBinary(b []byte) ([]byte, error) {
	for i, v := range s.counters() {
		b = sketch.AppendUint(b, protowire.Number(i+1), *v)
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
	n := NewState()
	cs := n.counters()
	fs := n.sketches()
	err := sketch.Fields(b, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) error {
		if num >= 1 && int(num) <= len(cs) && typ == protowire.VarintType {
			*cs[num-1] = v
			return nil
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
	*s = *n
	return nil
}

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
