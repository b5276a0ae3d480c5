package dns

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/visor-dns/visor/sketch"
)

// Field numbers of the summary format's DNS message
// (summary/visor_summary.proto) past the counters (1..16).
const (
	fieldRcodes      = 17
	fieldQtypes      = 18
	fieldQNames      = 19
	fieldTops        = 20 // 20..28, in the order of State.tops
	fieldXactTotal   = 29
	fieldXactTimeout = 30
	fieldDirs        = 31 // repeated: unknown, in, out
	fieldECS         = 32 // 32..34: prefix, geo, asn
)

func (s *State) counters() []*uint64 {
	return []*uint64{&s.Messages, &s.Queries, &s.Responses, &s.UDP, &s.TCP, &s.IPv4, &s.IPv6,
		&s.Malformed, &s.Nodata, &s.EDNS, &s.DO, &s.ECS, &s.TC, &s.DoT, &s.DoH, &s.DoQ}
}

// AppendBinary appends s as the summary format's DNS message.
func (s *State) AppendBinary(b []byte) ([]byte, error) {
	for i, v := range s.counters() {
		b = sketch.AppendUint(b, protowire.Number(i+1), *v)
	}
	b = sketch.AppendPackedUints(b, fieldRcodes, s.rcodes[:])
	var qt []uint64
	for t, n := range s.qtypeLow {
		if n > 0 {
			qt = append(qt, uint64(t), n)
		}
	}
	for t, n := range s.qtypes {
		if n > 0 {
			qt = append(qt, uint64(t), n)
		}
	}
	b = sketch.AppendPackedUints(b, fieldQtypes, qt)
	var err error
	keep := func(e error) {
		if err == nil {
			err = e
		}
	}
	b = sketch.AppendMessage(b, fieldQNames, func(b []byte) []byte {
		b, e := s.qnames.AppendBinary(b)
		keep(e)
		return b
	})
	for i, t := range s.tops() {
		b = sketch.AppendMessage(b, protowire.Number(fieldTops+i), func(b []byte) []byte {
			b, e := (*t).AppendBinary(b)
			keep(e)
			return b
		})
	}
	b = sketch.AppendUint(b, fieldXactTotal, s.xactTotal)
	b = sketch.AppendUint(b, fieldXactTimeout, s.xactTimedOut)
	for i := range s.dirs {
		d := &s.dirs[i]
		b = sketch.AppendMessage(b, fieldDirs, func(b []byte) []byte {
			b = sketch.AppendUint(b, 1, d.count)
			b = sketch.AppendUint(b, 2, d.timedOut)
			return sketch.AppendMessage(b, 3, func(b []byte) []byte {
				b, e := d.latency.AppendBinary(b)
				keep(e)
				return b
			})
		})
	}
	b = sketch.AppendMessage(b, fieldDepth, s.depth.appendDepth)
	b = s.appendTransport(b) // transport_summary.go
	for i, t := range []*sketch.TopK{s.ecs.prefix, s.ecs.loc, s.ecs.autonomy} {
		if t == nil {
			continue
		}
		b = sketch.AppendMessage(b, protowire.Number(fieldECS+i), func(b []byte) []byte {
			b, e := t.AppendBinary(b)
			keep(e)
			return b
		})
	}
	return b, err
}

// maxQtypes bounds the query types a DNS message may list.
const maxQtypes = 1 << 16

// UnmarshalBinary replaces s's content with the DNS message b. s keeps no
// geo lookup: a state read back only merges and reports.
func (s *State) UnmarshalBinary(b []byte) error {
	// A state read before (a merge's part, bucket after bucket) is read
	// into again in its own memory; on an error it is left partly read.
	n := s
	if s.qnames == nil {
		n = NewState()
	} else {
		s.Reset()
		s.ecs = ecsTops{}
	}
	cs := n.counters()
	tops := n.tops()
	dir := 0
	err := sketch.Fields(b, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) error {
		if num >= 1 && int(num) <= len(cs) && typ == protowire.VarintType {
			*cs[num-1] = v
			return nil
		}
		var err error
		switch {
		case typ == protowire.VarintType && num == fieldXactTotal:
			n.xactTotal = v
		case typ == protowire.VarintType && num == fieldXactTimeout:
			n.xactTimedOut = v
		case typ != protowire.BytesType:
		case num == fieldRcodes:
			var rc []uint64
			if rc, err = sketch.PackedUints(nil, val, len(n.rcodes)); err == nil {
				copy(n.rcodes[:], rc)
			}
		case num == fieldQtypes:
			var qt []uint64
			if qt, err = sketch.PackedUints(nil, val, 2*maxQtypes); err != nil {
				break
			}
			if len(qt)%2 != 0 {
				return fmt.Errorf("%w: odd qtype list", sketch.ErrCorrupt)
			}
			for i := 0; i < len(qt); i += 2 {
				t, c := qt[i], qt[i+1]
				switch {
				case t >= 1<<16:
					return fmt.Errorf("%w: qtype %d", sketch.ErrCorrupt, t)
				case t < uint64(len(n.qtypeLow)):
					n.qtypeLow[t] += c
				default:
					n.qtypes[uint16(t)] += c
				}
			}
		case num == fieldDepth:
			err = n.depth.parseDepth(val)
		case num == fieldTransport:
			err = n.parseTransport(val)
		case num == fieldQNames:
			err = n.qnames.UnmarshalBinary(val)
		case num >= fieldTops && int(num) < fieldTops+len(tops):
			err = (*tops[num-fieldTops]).UnmarshalBinary(val)
		case num == fieldDirs:
			if dir >= len(n.dirs) {
				return fmt.Errorf("%w: more than %d transaction directions", sketch.ErrCorrupt, len(n.dirs))
			}
			d := &n.dirs[dir]
			dir++
			err = sketch.Fields(val, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) error {
				switch {
				case num == 1 && typ == protowire.VarintType:
					d.count = v
				case num == 2 && typ == protowire.VarintType:
					d.timedOut = v
				case num == 3 && typ == protowire.BytesType:
					return d.latency.UnmarshalBinary(val)
				}
				return nil
			})
		case num >= fieldECS && num < fieldECS+3:
			if n.ecs.prefix == nil {
				n.ecs.alloc()
			}
			t := []**sketch.TopK{&n.ecs.prefix, &n.ecs.loc, &n.ecs.autonomy}[num-fieldECS]
			if *t == nil {
				*t = sketch.NewTopK(TopCapacity)
			}
			err = (*t).UnmarshalBinary(val)
		}
		if err != nil {
			return fmt.Errorf("dns field %d: %w", num, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	n.ecs.city, n.ecs.asn = n.ecs.loc != nil, n.ecs.autonomy != nil
	if n != s {
		*s = *n
	}
	return nil
}

// Clone returns a deep copy of s (without its geo lookup).
func (s *State) Clone() *State {
	c := NewState()
	c.Merge(s)
	return c
}
