package sketch

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/axiomhq/hyperloglog"
	"google.golang.org/protobuf/encoding/protowire"
)

// The sketches serialise as protobuf messages (summary/visor_summary.proto
// describes them: TopK, Cardinality, Quantiles), written and read with
// protowire so that a field is never allocated for. Unmarshalling checks
// every length and value against the sketch's bounds: hostile bytes give
// an error, never a panic or an allocation beyond those bounds.

// Bounds of what UnmarshalBinary accepts.
const (
	// MaxTopKCapacity is the largest TopK capacity a serialised sketch
	// may declare.
	MaxTopKCapacity = 1 << 16
	// maxItemLen bounds one TopK item's name.
	maxItemLen = 4096
	// HLLPrecision is the precision of every Cardinality.
	HLLPrecision = 14
	// QuantilesAccuracy is the relative accuracy of every Quantiles.
	QuantilesAccuracy = quantilesAccuracy
	// QuantilesMaxBins is the bin bound of every Quantiles.
	QuantilesMaxBins = quantilesMaxBins
)

// ErrCorrupt wraps every error of UnmarshalBinary.
var ErrCorrupt = errors.New("corrupt sketch")

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

// field walks the fields of a message, calling fn with each one's number,
// type and value bytes (for varints and fixed values, the decoded value is
// in v).
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, val []byte) error) error {
	for off := 0; off < len(b); {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return corrupt("bad tag at byte %d", off)
		}
		off += n
		var v uint64
		var val []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b[off:])
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b[off:])
		case protowire.Fixed32Type:
			var v32 uint32
			v32, n = protowire.ConsumeFixed32(b[off:])
			v = uint64(v32)
		case protowire.BytesType:
			val, n = protowire.ConsumeBytes(b[off:])
		default:
			n = protowire.ConsumeFieldValue(num, typ, b[off:])
		}
		if n < 0 {
			return corrupt("bad value of field %d at byte %d", num, off)
		}
		off += n
		if err := fn(num, typ, v, val); err != nil {
			return err
		}
	}
	return nil
}

// Fields is the field walker the analyzers' and the summary's messages
// use: fn gets each field's number, wire type, varint or fixed value, and
// bytes value. Unknown fields are for fn to skip.
func Fields(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, val []byte) error) error {
	return fields(b, fn)
}

// packedUints decodes a packed repeated uint64 field into dst, at most max
// values.
func packedUints(dst []uint64, val []byte, max int) ([]uint64, error) {
	// Sized once: a varint ends at each byte without its high bit.
	n := 0
	for _, c := range val {
		if c < 0x80 {
			n++
		}
	}
	if n > max-len(dst) {
		n = max - len(dst) + 1 // the loop below says what is wrong
	}
	if n > 0 && cap(dst)-len(dst) < n {
		dst = append(make([]uint64, 0, len(dst)+n), dst...)
	}
	for len(val) > 0 {
		v, n := protowire.ConsumeVarint(val)
		if n < 0 {
			return dst, corrupt("bad packed varint")
		}
		if len(dst) >= max {
			return dst, corrupt("more than %d packed values", max)
		}
		dst = append(dst, v)
		val = val[n:]
	}
	return dst, nil
}

// PackedUints decodes a packed repeated varint field, at most max values.
func PackedUints(dst []uint64, val []byte, max int) ([]uint64, error) {
	return packedUints(dst, val, max)
}

// AppendPackedUints appends a packed repeated varint field (nothing when
// vs is empty).
func AppendPackedUints(b []byte, num protowire.Number, vs []uint64) []byte {
	if len(vs) == 0 {
		return b
	}
	n := 0
	for _, v := range vs {
		n += protowire.SizeVarint(v)
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))
	for _, v := range vs {
		b = protowire.AppendVarint(b, v)
	}
	return b
}

// AppendUint appends a varint field unless v is 0 (proto3's default).
func AppendUint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// AppendBytes appends a length-delimited field (nothing when v is empty).
func AppendBytes(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// AppendMessage appends an embedded message field written by fn, always
// (an empty message is still present). Its length is patched in after.
func AppendMessage(b []byte, num protowire.Number, fn func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	// Reserve the longest length varint a message may need here (4 bytes:
	// up to 256 MiB), then shrink it.
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	b = fn(b)
	n := len(b) - at - 4
	size := protowire.SizeVarint(uint64(n))
	if size > 4 {
		// Longer than 256 MiB: rewrite with room for the length.
		body := append([]byte(nil), b[at+4:]...)
		b = protowire.AppendVarint(b[:at], uint64(n))
		return append(b, body...)
	}
	copy(b[at+size:], b[at+4:])
	protowire.AppendVarint(b[at:at], uint64(n))
	return b[:at+size+n]
}

// AppendBinary appends t as a TopK message: capacity, total, error bound,
// then its entries column by column (names, counts, errors). An entry whose
// estimate is at most the error bound is left out: what it says (it
// occurred at most that often) is what the bound says of every untracked
// item, so the sketch read back keeps every guarantee (a list that
// overflowed holds many such entries: the names met once in its tail).
func (t *TopK) AppendBinary(b []byte) ([]byte, error) {
	b = AppendUint(b, 1, uint64(t.capacity))
	b = AppendUint(b, 2, t.total)
	b = AppendUint(b, 3, t.floor)
	n := 0
	for i := range t.entries {
		if e := &t.entries[i]; e.count > t.floor {
			b = protowire.AppendTag(b, 4, protowire.BytesType)
			b = protowire.AppendBytes(b, e.name)
			n++
		}
	}
	if n > 0 {
		vs := make([]uint64, 0, n)
		for i := range t.entries {
			if e := &t.entries[i]; e.count > t.floor {
				vs = append(vs, e.count)
			}
		}
		b = AppendPackedUints(b, 5, vs)
		vs = vs[:0]
		for i := range t.entries {
			if e := &t.entries[i]; e.count > t.floor {
				vs = append(vs, e.err)
			}
		}
		b = AppendPackedUints(b, 6, vs)
	}
	return b, nil
}

// MarshalBinary returns t as a TopK message.
func (t *TopK) MarshalBinary() ([]byte, error) { return t.AppendBinary(nil) }

// UnmarshalBinary replaces t with the TopK message b. The capacity must be
// between 1 and MaxTopKCapacity, the entries at most the capacity, every
// error at most its count, and every name distinct and at most 4096 bytes.
func (t *TopK) UnmarshalBinary(b []byte) error {
	sc := topkScratchPool.Get().(*topkScratch)
	defer sc.put()
	return t.unmarshal(b, sc)
}

// topkScratch holds the columns of a TopK message being read, reused from
// one message to the next (a merge reads thousands).
type topkScratch struct {
	names        [][]byte
	counts, errs []uint64
}

var topkScratchPool = sync.Pool{New: func() any { return new(topkScratch) }}

func (sc *topkScratch) put() {
	clear(sc.names)
	sc.names, sc.counts, sc.errs = sc.names[:0], sc.counts[:0], sc.errs[:0]
	topkScratchPool.Put(sc)
}

func (t *TopK) unmarshal(b []byte, sc *topkScratch) error {
	var capacity, total, floor uint64
	names, counts, errs := sc.names[:0], sc.counts[:0], sc.errs[:0]
	defer func() { sc.names, sc.counts, sc.errs = names, counts, errs }()
	err := fields(b, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) error {
		var err error
		switch {
		case num == 1 && typ == protowire.VarintType:
			capacity = v
			if capacity < 1 || capacity > MaxTopKCapacity {
				return corrupt("top-k capacity %d outside 1..%d", v, MaxTopKCapacity)
			}
		case num == 2 && typ == protowire.VarintType:
			total = v
		case num == 3 && typ == protowire.VarintType:
			floor = v
		case num == 4 && typ == protowire.BytesType:
			if len(names) >= MaxTopKCapacity {
				return corrupt("more than %d top-k items", MaxTopKCapacity)
			}
			if len(val) > maxItemLen {
				return corrupt("top-k item of %d bytes", len(val))
			}
			names = append(names, val)
		case num == 5 && typ == protowire.BytesType:
			counts, err = packedUints(counts, val, MaxTopKCapacity)
		case num == 6 && typ == protowire.BytesType:
			errs, err = packedUints(errs, val, MaxTopKCapacity)
		}
		return err
	})
	if err != nil {
		return err
	}
	if capacity == 0 {
		return corrupt("top-k without a capacity")
	}
	if len(names) != len(counts) || len(names) != len(errs) {
		return corrupt("top-k with %d names, %d counts and %d errors", len(names), len(counts), len(errs))
	}
	if uint64(len(names)) > capacity {
		return corrupt("top-k of capacity %d holds %d items", capacity, len(names))
	}
	// A TopK of the same capacity (a merge's part read bucket after
	// bucket) is filled again in its own memory.
	n := t
	if t.capacity != int(capacity) || t.index.cells == nil {
		n = NewTopK(int(capacity))
	} else {
		t.Reset()
	}
	if err := n.fill(names, counts, errs); err != nil {
		if n == t {
			t.Reset()
		}
		return err
	}
	n.total, n.floor = total, floor
	if n != t {
		*t = *n
	}
	return nil
}

// fill puts the entries read into an empty t, sized at once: entries, the
// index's cells, and one buffer for the names (each capped, so a name
// reused for another never overwrites its neighbour).
func (t *TopK) fill(names [][]byte, counts, errs []uint64) error {
	if cap(t.entries) < len(names) {
		t.entries = make([]topkEntry, 0, len(names))
	}
	size := len(t.index.cells)
	for size < cellsPerItem*len(names) && size < t.index.max {
		size <<= 1
	}
	if size > len(t.index.cells) {
		t.index.resize(size)
	}
	nameBytes := 0
	for _, name := range names {
		nameBytes += len(name)
	}
	arena := t.arena[:0]
	if cap(arena) < nameBytes {
		arena = make([]byte, 0, nameBytes)
	}
	for i, name := range names {
		if errs[i] > counts[i] {
			return corrupt("top-k item %d: error %d above its count %d", i, errs[i], counts[i])
		}
		h := Hash(name)
		if _, dup := t.index.get(h, t.entries); dup {
			return corrupt("top-k item %d repeats an item", i)
		}
		slot := int32(len(t.entries))
		at := len(arena)
		arena = append(arena, name...)
		t.entries = append(t.entries, topkEntry{name: arena[at:len(arena):len(arena)], hash: h, count: counts[i], err: errs[i]})
		t.index.put(h, slot)
	}
	t.arena = arena
	return nil
}

// AppendBinary appends c as a Cardinality message: its precision, and
// either its exact hashes (while it counts exactly) or its HyperLogLog in
// the library's own binary form.
func (c *Cardinality) AppendBinary(b []byte) ([]byte, error) {
	if c.sk == nil {
		return c.AppendExactExcept(b, nil), nil
	}
	b = AppendUint(b, 1, HLLPrecision)
	if c.sparse {
		b = AppendUint(b, 4, 1)
	}
	hb, err := c.sk.MarshalBinary()
	if err != nil {
		return b, err
	}
	return AppendBytes(b, 3, hb), nil
}

// AppendExactExcept appends, for an Exact c, a Cardinality message of the
// hashes c holds that skip does not (all of them, skip nil): a reader
// makes c again by inserting the hashes skip knows. Hash 0 is held as 1
// (skip gets 1 for it).
func (c *Cardinality) AppendExactExcept(b []byte, skip func(uint64) bool) []byte {
	b = AppendUint(b, 1, HLLPrecision)
	if c.sparse {
		b = AppendUint(b, 4, 1)
	}
	keep := func(h uint64) bool { return skip == nil || !skip(h) }
	n := 0
	c.small.each(func(h uint64) {
		if keep(h) {
			n++
		}
	})
	if n > 0 {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(8*n))
		c.small.each(func(h uint64) {
			if keep(h) {
				b = protowire.AppendFixed64(b, h)
			}
		})
	}
	return b
}

// MarshalBinary returns c as a Cardinality message.
func (c *Cardinality) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// UnmarshalBinary replaces c with the Cardinality message b. The precision
// must be 14, and the exact hashes at most as many as c's kind holds.
func (c *Cardinality) UnmarshalBinary(b []byte) error {
	var prec uint64
	var sparse bool
	var exact, hll []byte
	err := fields(b, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			prec = v
		case num == 2 && typ == protowire.BytesType:
			exact = val
		case num == 3 && typ == protowire.BytesType:
			hll = val
		case num == 4 && typ == protowire.VarintType:
			sparse = v != 0
		}
		return nil
	})
	if err != nil {
		return err
	}
	if prec != HLLPrecision {
		return corrupt("cardinality of precision %d, not %d", prec, HLLPrecision)
	}
	limit := smallMax
	if sparse {
		limit = smallSparse
	}
	if len(exact)%8 != 0 || len(exact)/8 > limit {
		return corrupt("cardinality with %d bytes of exact hashes (at most %d hashes)", len(exact), limit)
	}
	if len(exact) > 0 && hll != nil {
		return corrupt("cardinality with both exact hashes and a HyperLogLog")
	}
	// c itself when it is of the same kind and exact as a new one is (a
	// sparse one that went dense stays dense: see Fresh): its hash set is
	// reused, not allocated again.
	n := c
	switch {
	case c.small != nil && c.sk == nil && c.sparse == sparse && (!sparse || c.spare == nil):
		c.Reset()
	case sparse:
		n = NewCardinality()
	default:
		n = NewDenseCardinality()
	}
	for i := 0; i < len(exact); i += 8 {
		h, _ := protowire.ConsumeFixed64(exact[i:])
		n.InsertHash(h)
	}
	if hll != nil {
		if len(hll) < 2 || hll[1] != HLLPrecision {
			return corrupt("HyperLogLog not of precision %d", HLLPrecision)
		}
		sk := hyperloglog.New14()
		if err := sk.UnmarshalBinary(hll); err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		n.sk = sk
		if sparse && n.recent == nil {
			n.recent = new([64]uint64)
		}
	}
	if n != c {
		*c = *n
	}
	return nil
}

// AppendBinary appends q as a Quantiles message: accuracy, count, sum,
// the count of zeros, and the positive bins' counts from the lowest
// non-empty bin's index on (DDSketch's cubically interpolated mapping).
func (q *Quantiles) AppendBinary(b []byte) ([]byte, error) {
	b = protowire.AppendTag(b, 1, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.Float64bits(quantilesAccuracy))
	b = AppendUint(b, 2, q.count)
	if q.sum != 0 {
		b = protowire.AppendTag(b, 3, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(q.sum))
	}
	b = AppendUint(b, 4, uint64(q.sk.GetZeroCount()))
	st := q.sk.GetPositiveValueStore()
	if st.IsEmpty() {
		return b, nil
	}
	lo, err1 := st.MinIndex()
	hi, err2 := st.MaxIndex()
	if err1 != nil || err2 != nil || hi-lo >= 1<<20 {
		return b, fmt.Errorf("quantiles store spans bins %d..%d", lo, hi)
	}
	vs := make([]uint64, hi-lo+1)
	st.ForEach(func(i int, c float64) bool {
		vs[i-lo] += uint64(math.Round(c))
		return false
	})
	b = protowire.AppendTag(b, 5, protowire.VarintType)
	b = protowire.AppendVarint(b, protowire.EncodeZigZag(int64(lo)))
	return AppendPackedUints(b, 6, vs), nil
}

// MarshalBinary returns q as a Quantiles message.
func (q *Quantiles) MarshalBinary() ([]byte, error) { return q.AppendBinary(nil) }

// quantilesMaxIndex bounds the bin indexes a serialised Quantiles may use
// (the mapping indexes values up to about 1.26e308 well within it).
const quantilesMaxIndex = 1 << 20

// UnmarshalBinary replaces q with the Quantiles message b. The accuracy
// must be 1%, the bins at most 2048 and within the mapping's range, and
// the count the sum of the bins' counts and the zeros.
func (q *Quantiles) UnmarshalBinary(b []byte) error {
	var acc, sum float64
	var count, zeros uint64
	var lo int64
	var bins []uint64
	err := fields(b, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) error {
		var err error
		switch {
		case num == 1 && typ == protowire.Fixed64Type:
			acc = math.Float64frombits(v)
		case num == 2 && typ == protowire.VarintType:
			count = v
		case num == 3 && typ == protowire.Fixed64Type:
			sum = math.Float64frombits(v)
		case num == 4 && typ == protowire.VarintType:
			zeros = v
		case num == 5 && typ == protowire.VarintType:
			lo = protowire.DecodeZigZag(v)
		case num == 6 && typ == protowire.BytesType:
			bins, err = packedUints(bins, val, quantilesMaxBins)
		}
		return err
	})
	if err != nil {
		return err
	}
	if acc != quantilesAccuracy {
		return corrupt("quantiles of accuracy %v, not %v", acc, quantilesAccuracy)
	}
	if math.IsNaN(sum) || math.IsInf(sum, 0) || sum < 0 {
		return corrupt("quantiles with sum %v", sum)
	}
	if lo < -quantilesMaxIndex || lo > quantilesMaxIndex {
		return corrupt("quantiles bin index %d out of range", lo)
	}
	total := zeros
	for _, c := range bins {
		if total+c < total {
			return corrupt("quantiles counts overflow")
		}
		total += c
	}
	if total != count {
		return corrupt("quantiles count %d is not the bins' %d", count, total)
	}
	n := NewQuantiles()
	st := n.sk.GetPositiveValueStore()
	for i, c := range bins {
		if c > 0 {
			st.AddWithCount(int(lo)+i, float64(c))
		}
	}
	if zeros > 0 {
		if err := n.sk.AddWithCount(0, float64(zeros)); err != nil {
			return corrupt("quantiles zeros: %v", err)
		}
	}
	n.count, n.sum = count, sum
	*q = *n
	return nil
}
