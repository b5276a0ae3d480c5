package sketch

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestTopKBinaryRoundTrip(t *testing.T) {
	for _, n := range []int{0, 5, 100, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			a := NewTopK(64)
			r := rand.New(rand.NewPCG(1, uint64(n)))
			for i := 0; i < n; i++ {
				a.Add([]byte(fmt.Sprintf("name%d.example", r.IntN(200))), 1)
			}
			b, err := a.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var c TopK
			if err := c.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if c.Total() != a.Total() || c.ErrorBound() != a.ErrorBound() || c.Capacity() != 64 {
				t.Fatalf("total %d/%d bound %d/%d", c.Total(), a.Total(), c.ErrorBound(), a.ErrorBound())
			}
			// Every item above the error bound, as it was; those at most
			// at it are left out, and the bound covers them.
			if got, want := fmt.Sprint(c.Top(64)), fmt.Sprint(above(a)); got != want {
				t.Fatalf("top\n got %s\nwant %s", got, want)
			}
			left := 0
			for _, it := range a.Top(64) {
				if _, ok := c.Lookup(it.Name); !ok {
					left++
					if it.Estimate > c.ErrorBound() {
						t.Errorf("%s (count %d) left out above the bound %d", it.Name, it.Estimate, c.ErrorBound())
					}
				}
			}
			if (n >= 100) != (left > 0) { // 100 and more overflow the 64
				t.Errorf("%d items left out", left)
			}
			// The copy merges as the original. (Adding to a full copy may
			// evict another of equal minima: the order of ties is not kept.)
			a.Merge(a.Clone())
			c.Merge(c.Clone())
			if got, want := fmt.Sprint(above(&c)), fmt.Sprint(above(a)); got != want {
				t.Fatalf("after merge\n got %s\nwant %s", got, want)
			}
		})
	}
}

// above returns t's items counted above its error bound.
func above(t *TopK) []Item {
	var out []Item
	for _, it := range t.Top(t.Capacity()) {
		if it.Estimate > t.ErrorBound() {
			out = append(out, it)
		}
	}
	return out
}

func TestCardinalityBinaryRoundTrip(t *testing.T) {
	for _, kind := range []string{"dense", "sparse"} {
		for _, n := range []int{0, 10, 500, 3000, 100000} {
			t.Run(fmt.Sprint(kind, n), func(t *testing.T) {
				a := NewDenseCardinality()
				if kind == "sparse" {
					a = NewCardinality()
				}
				for i := 0; i < n; i++ {
					a.Insert([]byte(fmt.Sprint("x", i)))
				}
				b, err := a.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				c := NewCardinality()
				if err := c.UnmarshalBinary(b); err != nil {
					t.Fatal(err)
				}
				if c.Estimate() != a.Estimate() {
					t.Fatalf("estimate %d, want %d", c.Estimate(), a.Estimate())
				}
				// Merging the copy into the original adds nothing.
				e := a.Estimate()
				a.Merge(c)
				if a.Estimate() != e {
					t.Fatalf("merge with its copy: %d, want %d", a.Estimate(), e)
				}
				c.Insert([]byte("one more"))
				if c.Estimate() < e {
					t.Fatalf("insert into the copy: %d < %d", c.Estimate(), e)
				}
			})
		}
	}
}

func TestQuantilesBinaryRoundTrip(t *testing.T) {
	a := NewQuantiles()
	r := rand.New(rand.NewPCG(2, 3))
	for i := 0; i < 10000; i++ {
		a.Add(r.ExpFloat64() * 1000)
	}
	a.AddN(0, 17)
	a.Add(1e-3)
	b, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var c Quantiles
	if err := c.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for _, p := range []float64{0, 0.001, 0.5, 0.9, 0.99, 1} {
		if c.Quantile(p) != a.Quantile(p) {
			t.Errorf("p%v: %v, want %v", p, c.Quantile(p), a.Quantile(p))
		}
	}
	if c.Count() != a.Count() || c.Sum() != a.Sum() {
		t.Fatalf("count %d sum %v, want %d %v", c.Count(), c.Sum(), a.Count(), a.Sum())
	}
	e := NewQuantiles()
	b, _ = e.MarshalBinary()
	if err := c.UnmarshalBinary(b); err != nil || c.Count() != 0 {
		t.Fatalf("empty: %v, count %d", err, c.Count())
	}
}

func TestUnmarshalRefuses(t *testing.T) {
	tk := NewTopK(4)
	tk.Add([]byte("a"), 2)
	good, _ := tk.MarshalBinary()
	q := NewQuantiles()
	q.Add(3)
	qgood, _ := q.MarshalBinary()
	for _, c := range []struct {
		name string
		b    []byte
		u    interface{ UnmarshalBinary([]byte) error }
	}{
		{"topk empty", nil, new(TopK)},
		{"topk truncated", good[:len(good)-1], new(TopK)},
		{"topk capacity 0", append([]byte{8, 0}, good[2:]...), new(TopK)},
		{"topk capacity huge", append([]byte{8, 0xff, 0xff, 0xff, 0xff, 0x0f}, good[2:]...), new(TopK)},
		{"cardinality precision 16", []byte{8, 16}, new(Cardinality)},
		{"cardinality too many hashes", append([]byte{8, 14, 0x12, 0x88, 0x40}, make([]byte, 8*1025)...), NewCardinality()},
		{"quantiles accuracy", append([]byte{9, 0, 0, 0, 0, 0, 0, 0, 0}, qgood[9:]...), NewQuantiles()},
		{"quantiles count", append(bytes.Clone(qgood), 16, 9), NewQuantiles()},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.u.UnmarshalBinary(c.b); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err %v, want ErrCorrupt", err)
			}
		})
	}
}

// FuzzSketchUnmarshal feeds hostile bytes to the three sketches' readers:
// an error or a sketch that works, never a panic.
func FuzzSketchUnmarshal(f *testing.F) {
	tk := NewTopK(8)
	for i := 0; i < 20; i++ {
		tk.Add([]byte(fmt.Sprint(i%11)), 1)
	}
	c := NewCardinality()
	for i := 0; i < 100; i++ {
		c.Insert([]byte(fmt.Sprint(i)))
	}
	d := NewDenseCardinality()
	d.Insert([]byte("x"))
	q := NewQuantiles()
	q.Add(5)
	q.Add(0)
	for _, m := range []interface{ MarshalBinary() ([]byte, error) }{tk, c, d, q} {
		b, _ := m.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var tk TopK
		if tk.UnmarshalBinary(b) == nil {
			tk.Add([]byte("x"), 1)
			tk.Merge(NewTopK(4))
			tk.Top(10)
		}
		var c Cardinality
		if c.UnmarshalBinary(b) == nil {
			c.Insert([]byte("x"))
			c.Merge(NewCardinality())
			NewDenseCardinality().Merge(&c)
			c.Estimate()
		}
		var q Quantiles
		if q.UnmarshalBinary(b) == nil {
			q.Add(1)
			q.Merge(NewQuantiles())
			q.Quantile(0.99)
		}
	})
}

// TestTopKUnmarshalReuse: names read back share one buffer; an item that
// takes an evicted slot's buffer must not overwrite its neighbours.
func TestTopKUnmarshalReuse(t *testing.T) {
	a := NewTopK(4)
	for _, n := range []string{"aa", "bb", "cc", "dd"} {
		a.Add([]byte(n), 2)
	}
	b, _ := a.MarshalBinary()
	var c TopK
	if err := c.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	c.Add([]byte("a-much-longer-name"), 1)
	c.Add([]byte("e"), 5)
	names := map[string]bool{}
	for _, it := range c.Top(4) {
		names[it.Name] = true
	}
	for _, n := range []string{"bb", "cc", "dd", "e"} {
		if !names[n] && n != "a-much-longer-name" {
			// one of the originals was evicted: the others must be whole
			if _, ok := c.Lookup(n); ok {
				t.Errorf("%s tracked but not listed", n)
			}
		}
	}
	for _, it := range c.Top(4) {
		if _, ok := c.Lookup(it.Name); !ok {
			t.Errorf("listed %q cannot be looked up (its name was overwritten)", it.Name)
		}
	}
}

// A TopK read into again (as a merge reads part after part) holds what a
// fresh one would, in its own memory; a message refused while its entries
// are put in leaves it empty.
func TestTopKUnmarshalAgain(t *testing.T) {
	msg := func(n, names int, seed uint64) []byte {
		a := NewTopK(64)
		r := rand.New(rand.NewPCG(seed, 9))
		for i := 0; i < n; i++ {
			a.Add([]byte(fmt.Sprintf("n%d.example", r.IntN(names))), 1)
		}
		b, err := a.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var reused TopK
	for i, m := range [][]byte{msg(5000, 300, 1), msg(30, 20, 2), msg(0, 1, 3), msg(800, 90, 4), msg(5000, 100000, 5)} {
		var fresh TopK
		if err := fresh.UnmarshalBinary(m); err != nil {
			t.Fatal(err)
		}
		if err := reused.UnmarshalBinary(m); err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(reused.Top(64), reused.Total(), reused.ErrorBound()), fmt.Sprint(fresh.Top(64), fresh.Total(), fresh.ErrorBound()); got != want {
			t.Fatalf("message %d read again:\n got %s\nwant %s", i, got, want)
		}
		// It keeps counting as the fresh one.
		for j := 0; j < 50; j++ {
			reused.AddString(fmt.Sprint("new", j%7), 1)
			fresh.AddString(fmt.Sprint("new", j%7), 1)
		}
		if got, want := fmt.Sprint(reused.Top(64)), fmt.Sprint(fresh.Top(64)); got != want {
			t.Fatalf("message %d, counted on:\n got %s\nwant %s", i, got, want)
		}
	}
	dup := AppendUint(nil, 1, 64)
	for range 2 {
		dup = protowire.AppendTag(dup, 4, protowire.BytesType)
		dup = protowire.AppendBytes(dup, []byte("same"))
	}
	dup = AppendPackedUints(dup, 5, []uint64{1, 1})
	dup = AppendPackedUints(dup, 6, []uint64{0, 0})
	if err := reused.UnmarshalBinary(dup); err == nil || reused.Len() != 0 || reused.Total() != 0 {
		t.Fatalf("a repeated item: %v, %d items left", err, reused.Len())
	}
}
