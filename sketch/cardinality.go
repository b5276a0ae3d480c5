package sketch

import (
	"unsafe"

	"github.com/axiomhq/hyperloglog"
)

// Cardinality counts distinct items with HyperLogLog
// (github.com/axiomhq/hyperloglog, precision 14 → ~0.8% standard error).
//
// It starts in HyperLogLog++'s sparse representation, which is near exact for
// small counts, and switches to 2^14 one-byte registers (16 KiB) once that is
// smaller. Items are hashed with the library's MetroHash64 and its fixed
// seed, so sketches built in different processes or runs merge correctly.
//
// Estimate and Merge may compact the sparse representation. Reset keeps the
// current representation: a sketch that went dense stays dense (and estimates
// small counts with LogLog-Beta's bias correction, still within a fraction of
// a percent).
type Cardinality struct {
	sk *hyperloglog.Sketch
}

// NewCardinality returns an empty Cardinality.
func NewCardinality() *Cardinality {
	return &Cardinality{sk: hyperloglog.New14()}
}

// NewDenseCardinality returns an empty Cardinality that starts with its
// 2^14 registers (16 KiB): for the few sketches that see every message,
// an insert is then a register update, where the sparse form's is a hash
// set lookup. Below a few thousand items it estimates through linear
// counting, within a fraction of a percent.
func NewDenseCardinality() *Cardinality {
	return &Cardinality{sk: hyperloglog.NewNoSparse()}
}

// Insert adds an item. It does not retain b. In the dense representation it
// allocates nothing; in the sparse one allocations are amortized (a hash set
// growing, then one compaction per 164 new distinct items until dense).
func (c *Cardinality) Insert(b []byte) { c.sk.Insert(b) }

// InsertString adds an item given as a string, without copying it.
func (c *Cardinality) InsertString(s string) {
	c.sk.Insert(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// InsertHash adds an item by a 64-bit hash the caller computed. The hash
// must be uniformly distributed, and sketches that are merged must use the
// same hash function (Insert uses MetroHash64 with seed 1337).
func (c *Cardinality) InsertHash(h uint64) { c.sk.InsertHash(h) }

// Merge adds o's items to c (a set union). o is not modified.
func (c *Cardinality) Merge(o *Cardinality) {
	if o == nil || o == c {
		return
	}
	// Both sketches are precision 14; Merge only fails on a precision
	// mismatch.
	if err := c.sk.Merge(o.sk); err != nil {
		panic("sketch: " + err.Error())
	}
}

// Estimate returns the estimated number of distinct items.
func (c *Cardinality) Estimate() uint64 { return c.sk.Estimate() }

// Reset empties c, keeping its allocated memory for reuse.
func (c *Cardinality) Reset() { c.sk.Reset() }

// Clone returns a deep copy of c.
func (c *Cardinality) Clone() *Cardinality { return &Cardinality{sk: c.sk.Clone()} }
