package sketch

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/axiomhq/hyperloglog"
)

// insertRange inserts the distinct items lo..hi-1 (as 8-byte keys with a
// DNS-ish prefix) into c.
func insertRange(c *Cardinality, lo, hi uint64) {
	var buf [16]byte
	copy(buf[:], "qname:")
	for i := lo; i < hi; i++ {
		binary.BigEndian.PutUint64(buf[8:], i)
		c.Insert(buf[:])
	}
}

func relErr(got, want uint64) float64 {
	return math.Abs(float64(got)-float64(want)) / float64(want)
}

func TestCardinalityAccuracy(t *testing.T) {
	tests := []struct {
		n      uint64
		maxErr float64
	}{
		{10, 0},
		{100, 0},
		{1000, 0.005},
		{10_000, 0.02},
		{100_000, 0.02},
		{1_000_000, 0.02},
		{3_000_000, 0.02},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			if testing.Short() && tc.n > 100_000 {
				t.Skip("large cardinality in -short mode")
			}
			c := NewCardinality()
			insertRange(c, 0, tc.n)
			// Duplicates must not count.
			insertRange(c, 0, tc.n/2)
			got := c.Estimate()
			t.Logf("n=%d estimate=%d relative error=%.5f", tc.n, got, relErr(got, tc.n))
			if e := relErr(got, tc.n); e > tc.maxErr {
				t.Errorf("Estimate()=%d for %d distinct: relative error %.4f > %.4f", got, tc.n, e, tc.maxErr)
			}
		})
	}
}

func TestCardinalityEmpty(t *testing.T) {
	if got := NewCardinality().Estimate(); got != 0 {
		t.Errorf("empty Estimate()=%d, want 0", got)
	}
}

func TestCardinalityInsertString(t *testing.T) {
	a, b := NewCardinality(), NewCardinality()
	for i := range 5000 {
		s := fmt.Sprintf("host-%d.example.", i)
		a.Insert([]byte(s))
		b.InsertString(s)
	}
	a.Merge(b) // identical sets: union is the same set
	if got, want := a.Estimate(), b.Estimate(); got != want {
		t.Errorf("InsertString and Insert disagree: %d vs %d", got, want)
	}
}

func TestCardinalityMerge(t *testing.T) {
	tests := []struct {
		name     string
		aLo, aHi uint64
		bLo, bHi uint64
		union    uint64
		maxErr   float64
	}{
		{"sparse+sparse overlap", 0, 500, 250, 750, 750, 0},
		{"sparse+dense", 0, 300, 100, 200_100, 200_100, 0.02},
		{"dense+sparse", 0, 200_000, 199_900, 200_300, 200_300, 0.02},
		{"dense+dense overlap", 0, 600_000, 400_000, 1_000_000, 1_000_000, 0.02},
		{"identical", 0, 50_000, 0, 50_000, 50_000, 0.02},
		{"disjoint", 0, 40_000, 1 << 40, 1<<40 + 60_000, 100_000, 0.02},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := NewCardinality(), NewCardinality()
			insertRange(a, tc.aLo, tc.aHi)
			insertRange(b, tc.bLo, tc.bHi)
			bBefore := b.Estimate()
			m := a.Clone()
			m.Merge(b)
			if got := m.Estimate(); relErr(got, tc.union) > tc.maxErr {
				t.Errorf("merged Estimate()=%d, want %d ±%.0f%%", got, tc.union, 100*tc.maxErr)
			}
			// Merge is commutative, and must leave its argument alone.
			m2 := b.Clone()
			m2.Merge(a)
			if x, y := m.Estimate(), m2.Estimate(); x != y {
				t.Errorf("a∪b=%d but b∪a=%d", x, y)
			}
			if got := b.Estimate(); got != bBefore {
				t.Errorf("Merge modified its argument: %d -> %d", bBefore, got)
			}
			// And equal to inserting everything into one sketch.
			one := NewCardinality()
			insertRange(one, tc.aLo, tc.aHi)
			insertRange(one, tc.bLo, tc.bHi)
			if x, y := m.Estimate(), one.Estimate(); relErr(x, y) > 0.001 {
				t.Errorf("merged %d, single sketch %d", x, y)
			}
		})
	}
}

func TestCardinalityResetAndClone(t *testing.T) {
	c := NewCardinality()
	insertRange(c, 0, 100_000)
	clone := c.Clone()
	c.Reset()
	if got := c.Estimate(); got != 0 {
		t.Fatalf("after Reset Estimate()=%d, want 0", got)
	}
	// c is dense now; reuse must still be accurate for small counts.
	for _, n := range []uint64{10, 100, 1000, 20_000} {
		c.Reset()
		insertRange(c, 1<<32, 1<<32+n)
		if got := c.Estimate(); relErr(got, n) > 0.02 {
			t.Errorf("after Reset, %d distinct: Estimate()=%d", n, got)
		}
	}
	if got := clone.Estimate(); relErr(got, 100_000) > 0.02 {
		t.Errorf("clone Estimate()=%d after Reset of original, want ~100000", got)
	}
}

func TestCardinalityZeroAllocDense(t *testing.T) {
	c := NewCardinality()
	insertRange(c, 0, 100_000)
	var buf [16]byte
	i := uint64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		binary.BigEndian.PutUint64(buf[8:], i)
		c.Insert(buf[:])
		i++
	})
	if allocs != 0 {
		t.Errorf("Insert: %v allocs/op, want 0", allocs)
	}
}

// A dense sketch estimates small counts within a fraction of a percent too
// (linear counting over its registers).
func TestDenseCardinalitySmall(t *testing.T) {
	for _, n := range []int{0, 1, 10, 100, 1000, 5000} {
		c := NewDenseCardinality()
		for i := range n {
			c.InsertString("name-" + strconv.Itoa(i))
		}
		got := float64(c.Estimate())
		if d := got - float64(n); d > 0.005*float64(n)+1 || d < -0.005*float64(n)-1 {
			t.Errorf("n=%d: estimate %.0f", n, got)
		}
	}
}

func names(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, prefix+strconv.Itoa(i))
	}
	return out
}

func within(got uint64, want int, pct float64) bool {
	d := float64(got) - float64(want)
	return d <= pct/100*float64(want)+0.5 && d >= -pct/100*float64(want)-0.5
}

// A NewDenseCardinality sketch is exact up to 1024 items, whatever the
// merges, and estimates beyond; Reset makes it exact again.
func TestDenseCardinalityExactThenDense(t *testing.T) {
	fill := func(c *Cardinality, items []string) *Cardinality {
		for _, s := range items {
			c.InsertString(s)
			c.InsertString(s) // repeats count once
		}
		return c
	}
	tests := []struct {
		name  string
		make  func() *Cardinality
		want  int
		exact bool
	}{
		{"1024 exact", func() *Cardinality { return fill(NewDenseCardinality(), names("a", 0, 1024)) }, 1024, true},
		{"1025 dense", func() *Cardinality { return fill(NewDenseCardinality(), names("a", 0, 1025)) }, 1025, false},
		{"merge of two small, overlapping", func() *Cardinality {
			c := fill(NewDenseCardinality(), names("a", 0, 600))
			c.Merge(fill(NewDenseCardinality(), names("a", 300, 900)))
			return c
		}, 900, true},
		{"merge of two small, overflowing", func() *Cardinality {
			c := fill(NewDenseCardinality(), names("a", 0, 800))
			c.Merge(fill(NewDenseCardinality(), names("a", 400, 1600)))
			return c
		}, 1600, false},
		{"small into dense", func() *Cardinality {
			c := fill(NewDenseCardinality(), names("a", 0, 3000))
			c.Merge(fill(NewDenseCardinality(), names("b", 0, 500)))
			return c
		}, 3500, false},
		{"dense into small", func() *Cardinality {
			c := fill(NewDenseCardinality(), names("b", 0, 500))
			c.Merge(fill(NewDenseCardinality(), names("a", 0, 3000)))
			return c
		}, 3500, false},
		{"small into sparse", func() *Cardinality {
			c := fill(NewCardinality(), names("a", 0, 300))
			c.Merge(fill(NewDenseCardinality(), names("b", 0, 300)))
			return c
		}, 600, false},
		{"sparse into small", func() *Cardinality {
			c := fill(NewDenseCardinality(), names("b", 0, 300))
			c.Merge(fill(NewCardinality(), names("a", 0, 300)))
			return c
		}, 600, false},
		{"growing: 1024 exact through its table's doublings", func() *Cardinality { return fill(NewGrowingCardinality(), names("a", 0, 1024)) }, 1024, true},
		{"growing: 1025 dense", func() *Cardinality { return fill(NewGrowingCardinality(), names("a", 0, 1025)) }, 1025, false},
		{"growing: merge of two small, overlapping", func() *Cardinality {
			c := fill(NewGrowingCardinality(), names("a", 0, 20))
			c.Merge(fill(NewGrowingCardinality(), names("a", 10, 700)))
			return c
		}, 700, true},
		{"growing: reset after dense, then exact again", func() *Cardinality {
			c := fill(NewGrowingCardinality(), names("a", 0, 5000))
			c.Reset()
			return fill(c, names("z", 0, 300))
		}, 300, true},
		{"reset after dense", func() *Cardinality {
			c := fill(NewDenseCardinality(), names("a", 0, 5000))
			c.Reset()
			return fill(c, names("z", 0, 77))
		}, 77, true},
		{"clone is independent", func() *Cardinality {
			c := fill(NewDenseCardinality(), names("a", 0, 100))
			d := c.Clone()
			fill(c, names("b", 0, 100))
			return d
		}, 100, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.make().Estimate()
			if tc.exact && got != uint64(tc.want) || !tc.exact && !within(got, tc.want, 1) {
				t.Errorf("estimate %d, want %d (exact %v)", got, tc.want, tc.exact)
			}
		})
	}
}

// A sketch past its exact set skips items it inserted lately, and still
// estimates as the library's sketch given every insert: with repeats near
// and far, in its sparse form and dense, and after a Reset, whose skipped
// items must be inserted again (each item once more, last first).
func TestCardinalityRecentSkipsOnlyRepeats(t *testing.T) {
	item := func(i uint64) uint64 { return Hash(binary.BigEndian.AppendUint64([]byte("name:"), i)) }
	c := NewCardinality()
	for round, n := range []uint64{300, 5000, 40_000} {
		ref := hyperloglog.New14()
		c.Reset()
		for i := uint64(0); i < 5*n; i++ {
			h := item(i % n) // four times over in a scattered order, then once in order
			if i < 4*n {
				h = item(i * i % n)
			}
			c.InsertHash(h)
			ref.InsertHash(h)
		}
		if got, want := c.Estimate(), ref.Estimate(); got != want {
			t.Errorf("round %d, %d distinct: Estimate()=%d, the library's %d", round, n, got, want)
		}
		c.Reset()
		ref = hyperloglog.New14()
		for i := n; i > 0; i-- {
			c.InsertHash(item(i - 1))
			ref.InsertHash(item(i - 1))
		}
		if got, want := c.Estimate(), ref.Estimate(); got != want {
			t.Errorf("round %d again after Reset: Estimate()=%d, the library's %d", round, got, want)
		}
	}
}

// Exact and Has: the hash set's items while it holds them, nothing once
// the sketch counts in registers.
func TestCardinalityExactHas(t *testing.T) {
	c := NewGrowingCardinality()
	if !c.Exact() || c.Has(7) {
		t.Fatalf("empty: Exact %v, Has(7) %v", c.Exact(), c.Has(7))
	}
	const k = 0x9e3779b97f4a7c15
	at := func(i uint64) uint64 { return i * k } // wraps
	for i := uint64(0); i < smallMax; i++ {
		c.InsertHash(at(i))
	}
	for _, h := range []uint64{0, 1, at(5), at(smallMax - 1)} {
		if !c.Has(h) {
			t.Errorf("Has(%#x) false, inserted", h)
		}
	}
	if c.Has(at(smallMax)) || c.Has(2) {
		t.Error("Has true for a hash not inserted")
	}
	c.InsertHash(at(smallMax))
	if c.Exact() || c.Has(0) {
		t.Errorf("past %d items: Exact %v, Has(0) %v, want false", smallMax, c.Exact(), c.Has(0))
	}
}
