package sketch

import (
	"unsafe"

	"github.com/axiomhq/hyperloglog"
)

// Cardinality counts distinct items with HyperLogLog
// (github.com/axiomhq/hyperloglog, precision 14 → ~0.8% standard error).
//
// Both kinds count their first items exactly in a hash set (both
// 1024; NewCardinality's table grows with them). Past it, NewCardinality's goes to
// HyperLogLog++'s sparse representation, near exact for small counts, and
// to 2^14 one-byte registers (16 KiB) once those are smaller;
// NewDenseCardinality's goes to the registers at once. Items are hashed with the library's MetroHash64 and its fixed
// seed, so sketches built in different processes or runs merge correctly.
//
// Estimate and Merge may compact the sparse representation. Reset keeps the
// current representation: a sketch that went dense stays dense (and estimates
// small counts with LogLog-Beta's bias correction, still within a fraction of
// a percent).
type Cardinality struct {
	sk *hyperloglog.Sketch // nil while small holds the items
	// small, for a sketch made by NewDenseCardinality, holds the distinct
	// hashes exactly until there are more than smallMax; they then go into
	// dense registers. spare keeps those registers across Reset.
	small  *hashSet
	spare  *hyperloglog.Sketch
	sparse bool // past small, the sketch starts sparse (NewCardinality's)
	// recent, for a sketch past small that started sparse, holds the last
	// hashes inserted, by their low bits: an item that comes back is not
	// inserted again (the sparse form's insert is a map write).
	recent *[64]uint64
}

// smallMax is how many distinct hashes a NewDenseCardinality sketch counts
// exactly, in a table of 16 KiB (as big as its registers).
const smallMax = 1024

// smallSparse is how many distinct hashes a NewCardinality sketch counts
// exactly before its sparse HyperLogLog, in a table that grows with them
// (16 KiB when full). The sparse form costs a map write an insert and a
// compaction every few hundred, so the many small sketches (per zone cut
// and window in findings, per client list) stay in the table, where an
// insert or a merge is a probe, for counts up to a thousand.
const smallSparse = 1024

// NewCardinality returns an empty Cardinality, for the many small ones (per
// zone, per prefix): it counts its first 1024 items exactly in a hash set
// that grows with them, then in HyperLogLog++'s sparse form, then in registers.
func NewCardinality() *Cardinality {
	return &Cardinality{small: newHashSet(smallSparse, 16), sparse: true}
}

// NewGrowingCardinality returns an empty Cardinality for the many sketches
// of which a few grow large (per zone cut and window in findings): it
// counts its first 1024 items exactly in a hash set that grows with them,
// then in 2^14 dense registers, as NewDenseCardinality's does, never in
// the sparse form (whose inserts are map writes). It reads back from its
// binary form as a NewDenseCardinality.
func NewGrowingCardinality() *Cardinality {
	return &Cardinality{small: newHashSet(smallMax, 16)}
}

// NewDenseCardinality returns an empty Cardinality for the few sketches
// that see every message: it counts the first 1024 distinct items exactly
// in a hash set, then moves to 2^14 dense registers (16 KiB each way), so an
// insert is one probe or one register update, never the sparse form's
// hash set and compactions. Past the set, linear counting keeps the
// estimate within a fraction of a percent up to thousands of items.
func NewDenseCardinality() *Cardinality {
	return &Cardinality{small: newHashSet(smallMax, cellsFor(smallMax))}
}

// Insert adds an item. It does not retain b. In the dense representation it
// allocates nothing; in the sparse one allocations are amortized (a hash set
// growing, then one compaction per 164 new distinct items until dense).
func (c *Cardinality) Insert(b []byte) { c.InsertHash(Hash(b)) }

// InsertString adds an item given as a string, without copying it.
func (c *Cardinality) InsertString(s string) {
	c.InsertHash(Hash(unsafe.Slice(unsafe.StringData(s), len(s))))
}

// InsertHash adds an item by a 64-bit hash the caller computed. The hash
// must be uniformly distributed, and sketches that are merged must use the
// same hash function (Insert uses MetroHash64 with seed 1337).
func (c *Cardinality) InsertHash(h uint64) {
	if c.sk != nil {
		if r := c.recent; r != nil {
			if r[h&63] == h && h != 0 {
				return
			}
			r[h&63] = h
		}
		c.sk.InsertHash(h)
		return
	}
	if !c.small.add(h) {
		c.toDense()
		c.sk.InsertHash(h)
	}
}

// toDense moves the exact hashes into the HyperLogLog (dense registers,
// or the sparse form for NewCardinality's).
func (c *Cardinality) toDense() {
	switch {
	case c.spare != nil:
	case c.sparse:
		c.spare = hyperloglog.New14()
		c.recent = new([64]uint64)
	default:
		c.spare = hyperloglog.NewNoSparse()
	}
	c.sk, c.spare = c.spare, nil
	c.small.each(c.sk.InsertHash)
	c.small.reset()
}

// Merge adds o's items to c (a set union). o is not modified.
func (c *Cardinality) Merge(o *Cardinality) {
	if o == nil || o == c {
		return
	}
	if o.sk == nil {
		o.small.each(c.InsertHash)
		return
	}
	if c.sk == nil {
		c.toDense()
	}
	// Both sketches are precision 14; Merge only fails on a precision
	// mismatch.
	if err := c.sk.Merge(o.sk); err != nil {
		panic("sketch: " + err.Error())
	}
}

// Exact says whether c counts its items exactly: they are in its hash
// set, not in HyperLogLog registers yet.
func (c *Cardinality) Exact() bool { return c.sk == nil && c.small != nil }

// Has says whether c is Exact and holds the item of hash h.
func (c *Cardinality) Has(h uint64) bool { return c.Exact() && c.small.has(h) }

// Estimate returns the estimated number of distinct items.
func (c *Cardinality) Estimate() uint64 {
	if c.sk == nil {
		return uint64(c.small.n)
	}
	return c.sk.Estimate()
}

// Reset empties c, keeping its allocated memory for reuse.
func (c *Cardinality) Reset() {
	if c.recent != nil {
		*c.recent = [64]uint64{}
	}
	if c.small == nil {
		c.sk.Reset()
		return
	}
	c.small.reset()
	if c.sk != nil {
		c.sk.Reset()
		c.spare, c.sk = c.sk, nil
	}
}

// Fresh returns c emptied, or a new sketch when emptying c would not make it
// the same as a new one: a NewCardinality's HyperLogLog that went dense
// stays dense through Reset, where a new one starts sparse.
func (c *Cardinality) Fresh() *Cardinality {
	if c.sparse && (c.sk != nil || c.spare != nil) {
		return NewCardinality()
	}
	c.Reset()
	return c
}

// Clone returns a deep copy of c.
func (c *Cardinality) Clone() *Cardinality {
	d := &Cardinality{sparse: c.sparse}
	if c.sk != nil {
		d.sk = c.sk.Clone()
	}
	if c.small != nil {
		d.small = c.small.clone()
	}
	if c.recent != nil {
		r := *c.recent
		d.recent = &r
	}
	return d
}

// hashSet is a set of nonzero-mapped 64-bit hashes, open addressing in
// twice its capacity.
type hashSet struct {
	cells  []uint64 // 0 is empty; hash 0 is stored as 1
	mask   uint64
	n, max int
}

// newHashSet returns a set for up to max hashes in a table of initial
// cells (a power of two, at least 16), doubled while it fills past half.
func newHashSet(max, initial int) *hashSet {
	return &hashSet{cells: make([]uint64, initial), mask: uint64(initial - 1), max: max}
}

// cellsFor is the table for max hashes at a load of at most one half.
func cellsFor(max int) int {
	size := 16
	for size < 2*max {
		size <<= 1
	}
	return size
}

// grow doubles the table.
func (s *hashSet) grow() {
	old := s.cells
	s.cells = make([]uint64, 2*len(old))
	s.mask = uint64(len(s.cells) - 1)
	for _, h := range old {
		if h != 0 {
			i := h & s.mask
			for s.cells[i] != 0 {
				i = (i + 1) & s.mask
			}
			s.cells[i] = h
		}
	}
}

// find returns h as the set holds it (0 as 1), its cell or the empty
// cell where it would go, and whether it is there.
func (s *hashSet) find(h uint64) (uint64, uint64, bool) {
	if h == 0 {
		h = 1
	}
	for i := h & s.mask; ; i = (i + 1) & s.mask {
		switch s.cells[i] {
		case h:
			return h, i, true
		case 0:
			return h, i, false
		}
	}
}

// add inserts h; false when h is new and the set is full.
func (s *hashSet) add(h uint64) bool {
	h, i, ok := s.find(h)
	switch {
	case ok:
		return true
	case s.n >= s.max:
		return false
	case 2*(s.n+1) > len(s.cells):
		s.grow()
		return s.add(h)
	}
	s.cells[i] = h
	s.n++
	return true
}

func (s *hashSet) has(h uint64) bool {
	_, _, ok := s.find(h)
	return ok
}

func (s *hashSet) each(f func(uint64)) {
	left := s.n // an empty set, or the last item found, ends the scan early
	for i := 0; left > 0; i++ {
		if h := s.cells[i]; h != 0 {
			f(h)
			left--
		}
	}
}

func (s *hashSet) reset() {
	if s.n > 0 {
		clear(s.cells)
		s.n = 0
	}
}

func (s *hashSet) clone() *hashSet {
	c := *s
	c.cells = append([]uint64(nil), s.cells...)
	return &c
}
