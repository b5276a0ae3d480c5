package dns

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/visor-dns/visor/sketch"
)

// fieldDepth is the DNS message's Depth field (visor_summary.proto).
const fieldDepth = 35

// appendDepth appends d as the summary format's Depth message. The TC
// retry lists are settled when a bucket closes, before it is written.
func (d *depth) appendDepth(b []byte) []byte {
	b = sketch.AppendPackedUints(b, 1, d.opcodes[:])
	var sz []uint64
	i := uint64(0)
	for t := range d.sizes {
		for v := range d.sizes[t] {
			for k := range d.sizes[t][v] {
				for _, n := range d.sizes[t][v][k] {
					if n > 0 {
						sz = append(sz, i, n)
					}
					i++
				}
			}
		}
	}
	b = sketch.AppendPackedUints(b, 2, sz)
	b = sketch.AppendUint(b, 3, d.sized)
	var es []uint64
	for _, e := range d.ednsSizes[:d.ednsSizeN] {
		es = append(es, uint64(e.size), e.n)
	}
	b = sketch.AppendPackedUints(b, 4, es)
	b = sketch.AppendUint(b, 5, d.ednsSizeMore)
	b = sketch.AppendPackedUints(b, 6, d.versions[:])
	b = sketch.AppendPackedUints(b, 7, d.extRcodes[:])
	b = sketch.AppendPackedUints(b, 8, d.ede[:])
	b = sketch.AppendUint(b, 9, d.cookies)
	b = sketch.AppendUint(b, 10, d.tcResponses)
	b = sketch.AppendUint(b, 11, d.tcRetries)
	return sketch.AppendUint(b, 12, d.tcUnchecked)
}

// parseDepth reads a Depth message into d (empty).
func (d *depth) parseDepth(b []byte) error {
	fixed := func(dst []uint64, val []byte) error {
		vs, err := sketch.PackedUints(nil, val, len(dst))
		copy(dst, vs)
		return err
	}
	nSizes := uint64(len(d.sizes) * len(d.sizes[0]) * len(d.sizes[0][0]) * sizeBins)
	return sketch.Fields(b, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) error {
		if typ == protowire.VarintType {
			switch num {
			case 3:
				d.sized = v
			case 5:
				d.ednsSizeMore = v
			case 9:
				d.cookies = v
			case 10:
				d.tcResponses = v
			case 11:
				d.tcRetries = v
			case 12:
				d.tcUnchecked = v
			}
			return nil
		}
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			return fixed(d.opcodes[:], val)
		case 2:
			vs, err := sketch.PackedUints(nil, val, 2*int(nSizes))
			if err != nil || len(vs)%2 != 0 {
				return fmt.Errorf("%w: size bins", sketch.ErrCorrupt)
			}
			for i := 0; i < len(vs); i += 2 {
				x, n := vs[i], vs[i+1]
				if x >= nSizes {
					return fmt.Errorf("%w: size bin %d", sketch.ErrCorrupt, x)
				}
				k := x / sizeBins
				d.sizes[k/4][k/2%2][k%2][x%sizeBins] += n
			}
		case 4:
			vs, err := sketch.PackedUints(nil, val, 2*ednsSizeSlots)
			if err != nil || len(vs)%2 != 0 {
				return fmt.Errorf("%w: EDNS sizes", sketch.ErrCorrupt)
			}
			for i := 0; i < len(vs); i += 2 {
				if vs[i] > 0xffff {
					return fmt.Errorf("%w: EDNS size %d", sketch.ErrCorrupt, vs[i])
				}
				d.addEDNSSize(uint16(vs[i]), vs[i+1])
			}
		case 6:
			return fixed(d.versions[:], val)
		case 7:
			return fixed(d.extRcodes[:], val)
		case 8:
			return fixed(d.ede[:], val)
		}
		return nil
	})
}
