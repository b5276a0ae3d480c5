package sketch

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// checkHeap verifies t's internal consistency: index, slots and, once
// built, the stream-summary's buckets (ascending counts, every slot in the
// bucket of its count exactly once).
func checkHeap(t *testing.T, tk *TopK) {
	t.Helper()
	if len(tk.entries) > tk.capacity {
		t.Fatalf("%d entries exceed capacity %d", len(tk.entries), tk.capacity)
	}
	if tk.index.len() != len(tk.entries) {
		t.Fatalf("len(index)=%d len(entries)=%d", tk.index.len(), len(tk.entries))
	}
	tk.index.each(func(slot int32) {
		e := tk.entries[slot]
		if Hash([]byte(e.name)) != e.hash {
			t.Fatalf("slot %d holds %q with hash %x", slot, e.name, e.hash)
		}
		if got, ok := tk.index.get(e.hash, tk.entries); !ok || got != slot {
			t.Fatalf("index.get(%x) = %d, %v; want %d", e.hash, got, ok, slot)
		}
	})
	if !tk.ordered && len(tk.entries) > 0 {
		tk.order()
	}
	seen := 0
	prevCount, prevB := uint64(0), int32(-1)
	for b := tk.minB; b >= 0; b = tk.buckets[b].next {
		bk := tk.buckets[b]
		if bk.prev != prevB || (prevB >= 0 && bk.count <= prevCount) || bk.first < 0 {
			t.Fatalf("bucket %d (count %d, prev %d, first %d) out of order after %d (count %d)", b, bk.count, bk.prev, bk.first, prevB, prevCount)
		}
		prevSlot := int32(-1)
		for s := bk.first; s >= 0; s = tk.entries[s].next {
			e := tk.entries[s]
			if e.bucket != b || e.count != bk.count || e.prev != prevSlot {
				t.Fatalf("slot %d (count %d, bucket %d, prev %d) in bucket %d (count %d) after %d", s, e.count, e.bucket, e.prev, b, bk.count, prevSlot)
			}
			prevSlot = s
			seen++
		}
		if bk.last != prevSlot {
			t.Fatalf("bucket %d last=%d, list ends at %d", b, bk.last, prevSlot)
		}
		prevCount, prevB = bk.count, b
	}
	if seen != len(tk.entries) {
		t.Fatalf("buckets hold %d slots, entries %d", seen, len(tk.entries))
	}
	for _, e := range tk.entries {
		if e.err > tk.floor {
			t.Fatalf("%q error %d above bound %d", e.name, e.err, tk.floor)
		}
		if e.count < tk.floor {
			t.Fatalf("%q count %d below bound %d", e.name, e.count, tk.floor)
		}
	}
}

// checkGuarantees verifies the documented SpaceSaving guarantees of tk
// against the exact counts of everything added to it.
func checkGuarantees(t *testing.T, tk *TopK, exact map[string]uint64) {
	t.Helper()
	checkHeap(t, tk)
	var total uint64
	for _, c := range exact {
		total += c
	}
	if tk.Total() != total {
		t.Fatalf("Total()=%d, want %d", tk.Total(), total)
	}
	bound := tk.ErrorBound()
	if bound > total/uint64(tk.Capacity()) {
		t.Errorf("ErrorBound()=%d exceeds Total/capacity=%d", bound, total/uint64(tk.Capacity()))
	}
	for _, it := range tk.Top(tk.Capacity()) {
		tr := exact[it.Name]
		if it.Estimate < tr {
			t.Errorf("%q: estimate %d below true %d", it.Name, it.Estimate, tr)
		}
		if it.Estimate-tr > it.Error {
			t.Errorf("%q: overcount %d exceeds its Error %d", it.Name, it.Estimate-tr, it.Error)
		}
		if it.Error > bound {
			t.Errorf("%q: Error %d exceeds ErrorBound %d", it.Name, it.Error, bound)
		}
	}
	for name, tr := range exact {
		if _, ok := tk.Lookup(name); ok {
			continue
		}
		if tr > bound {
			t.Errorf("untracked %q occurred %d times, above ErrorBound %d", name, tr, bound)
		}
		if tr > total/uint64(tk.Capacity()) {
			t.Errorf("heavy hitter %q (%d > %d) missing", name, tr, total/uint64(tk.Capacity()))
		}
	}
}

// exactTop sorts exact counts like Top does.
func exactTop(exact map[string]uint64) []Item {
	out := make([]Item, 0, len(exact))
	for n, c := range exact {
		out = append(out, Item{Name: n, Estimate: c})
	}
	slices.SortFunc(out, func(a, b Item) int {
		if a.Estimate != b.Estimate {
			if a.Estimate > b.Estimate {
				return -1
			}
			return 1
		}
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

type obs struct {
	name string
	n    uint64
}

// zipfStream returns a deterministic stream of observations over imax+1
// names with Zipf exponent s.
func zipfStream(seed uint64, length int, s float64, imax uint64, prefix string) []obs {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	z := rand.NewZipf(r, s, 1, imax)
	out := make([]obs, length)
	for i := range out {
		out[i] = obs{name: prefix + strconv.FormatUint(z.Uint64(), 10), n: 1 + r.Uint64N(3)}
	}
	return out
}

func feed(tk *TopK, exact map[string]uint64, stream []obs) {
	for i, o := range stream {
		if i%2 == 0 {
			tk.Add([]byte(o.name), o.n)
		} else {
			tk.AddString(o.name, o.n)
		}
		if exact != nil {
			exact[o.name] += o.n
		}
	}
}

func TestTopKExactUnderCapacity(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		distinct int
		length   int
	}{
		{"one item", 1, 1, 100},
		{"few items", 8, 5, 1000},
		{"exactly capacity", 64, 64, 5000},
		{"large", 1000, 999, 50000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(tc.capacity)))
			tk := NewTopK(tc.capacity)
			exact := map[string]uint64{}
			for range tc.length {
				name := "item-" + strconv.Itoa(r.IntN(tc.distinct))
				n := uint64(1 + r.IntN(5))
				tk.Add([]byte(name), n)
				exact[name] += n
			}
			checkHeap(t, tk)
			if got := tk.ErrorBound(); got != 0 {
				t.Errorf("ErrorBound()=%d, want 0", got)
			}
			want := exactTop(exact)
			got := tk.Top(tc.capacity + 10)
			if !slices.Equal(got, want) {
				t.Errorf("Top mismatch:\n got %v\nwant %v", got, want)
			}
			if len(got) != len(exact) {
				t.Errorf("Top returned %d items, want %d", len(got), len(exact))
			}
		})
	}
}

func TestTopKZipfErrorBound(t *testing.T) {
	tests := []struct {
		capacity int
		s        float64
		imax     uint64
		length   int
	}{
		{10, 1.1, 1000, 20000},
		{64, 1.2, 10000, 100000},
		{256, 1.5, 100000, 200000},
		{1000, 1.05, 50000, 200000},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("k=%d/s=%g", tc.capacity, tc.s), func(t *testing.T) {
			tk := NewTopK(tc.capacity)
			exact := map[string]uint64{}
			feed(tk, exact, zipfStream(uint64(tc.capacity), tc.length, tc.s, tc.imax, "d"))
			if len(exact) <= tc.capacity {
				t.Fatalf("stream has only %d distinct items; test needs more than %d", len(exact), tc.capacity)
			}
			if tk.ErrorBound() == 0 {
				t.Errorf("ErrorBound()=0 after %d distinct items in capacity %d", len(exact), tc.capacity)
			}
			checkGuarantees(t, tk, exact)
			// The head of a Zipf stream is well separated: with enough
			// capacity the top 5 come out in the exact order (with 10
			// counters only the top item is reliable).
			head := 5
			if tc.capacity < 64 {
				head = 1
			}
			want := exactTop(exact)[:head]
			got := tk.Top(head)
			for i := range want {
				if got[i].Name != want[i].Name {
					t.Errorf("rank %d: got %q, want %q", i, got[i].Name, want[i].Name)
				}
			}
		})
	}
}

func TestTopKMergeUnderCapacityEqualsSingleStream(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		shards   int
		distinct int
	}{
		{"two shards", 50, 2, 50},
		{"eight shards", 200, 8, 150},
		{"disjoint-ish", 100, 4, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(tc.shards)))
			single := NewTopK(tc.capacity)
			shards := make([]*TopK, tc.shards)
			for i := range shards {
				shards[i] = NewTopK(tc.capacity)
			}
			for range 20000 {
				name := "q" + strconv.Itoa(r.IntN(tc.distinct))
				n := uint64(1 + r.IntN(4))
				single.AddString(name, n)
				shards[r.IntN(tc.shards)].AddString(name, n)
			}
			merged := NewTopK(tc.capacity)
			for _, s := range shards {
				merged.Merge(s)
			}
			checkHeap(t, merged)
			if merged.ErrorBound() != 0 {
				t.Errorf("ErrorBound()=%d, want 0", merged.ErrorBound())
			}
			if merged.Total() != single.Total() {
				t.Errorf("Total()=%d, want %d", merged.Total(), single.Total())
			}
			if got, want := merged.Top(tc.capacity), single.Top(tc.capacity); !slices.Equal(got, want) {
				t.Errorf("merged Top differs from single stream:\n got %v\nwant %v", got, want)
			}
			// Adding after a merge stays exact too.
			merged.AddString("q0", 5)
			single.AddString("q0", 5)
			if got, want := merged.Top(3), single.Top(3); !slices.Equal(got, want) {
				t.Errorf("after Add: got %v, want %v", got, want)
			}
		})
	}
}

func TestTopKMergeBoundAssociative(t *testing.T) {
	const k = 50
	streams := [][]obs{
		zipfStream(1, 30000, 1.1, 5000, "a"),
		zipfStream(2, 20000, 1.3, 5000, "a"), // same names, different skew
		zipfStream(3, 25000, 1.2, 2000, "c"), // mostly different names
	}
	parts := make([]*TopK, len(streams))
	exact := map[string]uint64{}
	for i, s := range streams {
		parts[i] = NewTopK(k)
		feed(parts[i], exact, s)
	}
	merge := func(a, b *TopK) *TopK {
		c := a.Clone()
		c.Merge(b)
		return c
	}
	a, b, c := parts[0], parts[1], parts[2]
	groupings := map[string]*TopK{
		"(a+b)+c": merge(merge(a, b), c),
		"a+(b+c)": merge(a, merge(b, c)),
		"(c+a)+b": merge(merge(c, a), b),
		"b+(a+c)": merge(b, merge(a, c)),
	}
	var heads [][]string
	for name, g := range groupings {
		t.Run(name, func(t *testing.T) {
			checkGuarantees(t, g, exact)
			var head []string
			for _, it := range g.Top(3) {
				head = append(head, it.Name)
			}
			heads = append(heads, head)
		})
	}
	// Merging must not have modified the inputs.
	for i, s := range streams {
		ex := map[string]uint64{}
		for _, o := range s {
			ex[o.name] += o.n
		}
		checkGuarantees(t, parts[i], ex)
	}
	want := exactTop(exact)[:3]
	for _, h := range heads {
		for i := range want {
			if h[i] != want[i].Name {
				t.Errorf("grouping head %v, want %v", h, want)
				break
			}
		}
	}
}

func TestTopKMergeDifferentCapacity(t *testing.T) {
	small := NewTopK(2)
	exact := map[string]uint64{}
	feed(small, exact, zipfStream(9, 500, 1.1, 50, "x"))
	if small.ErrorBound() == 0 {
		t.Fatal("small sketch should have overflowed")
	}
	big := NewTopK(100)
	big.Merge(small)
	// big is not full but carries small's bound: a new item may already
	// have occurred up to that many times, so its estimate must include it.
	for _, o := range zipfStream(10, 500, 1.1, 50, "x") {
		big.AddString(o.name, o.n)
		exact[o.name] += o.n
	}
	checkHeap(t, big)
	for _, it := range big.Top(100) {
		if tr := exact[it.Name]; it.Estimate < tr || it.Estimate-tr > it.Error {
			t.Errorf("%q: estimate %d error %d, true %d", it.Name, it.Estimate, it.Error, tr)
		}
	}
}

func TestTopKSelfMerge(t *testing.T) {
	tk := NewTopK(4)
	tk.AddString("a", 3)
	tk.AddString("b", 1)
	tk.Merge(tk)
	want := []Item{{Name: "a", Estimate: 6}, {Name: "b", Estimate: 2}}
	if got := tk.Top(10); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if tk.Total() != 8 {
		t.Errorf("Total()=%d, want 8", tk.Total())
	}
}

func TestTopKTieBreak(t *testing.T) {
	tests := []struct {
		name  string
		order []string
	}{
		{"ascending", []string{"a", "b", "c", "d", "e"}},
		{"descending", []string{"e", "d", "c", "b", "a"}},
		{"shuffled", []string{"c", "e", "a", "d", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tk := NewTopK(10)
			for _, n := range tc.order {
				tk.AddString(n, 2)
			}
			tk.AddString("z", 3)
			want := []Item{{Name: "z", Estimate: 3}, {Name: "a", Estimate: 2}, {Name: "b", Estimate: 2}, {Name: "c", Estimate: 2}}
			if got := tk.Top(4); !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
	// The first eviction orders the items by count, then name, whatever
	// the insertion order; afterwards, among equal minimum counts, the
	// item that has had the minimum longest goes first.
	t.Run("eviction", func(t *testing.T) {
		for _, order := range [][]string{{"a", "b", "c"}, {"c", "b", "a"}, {"b", "c", "a"}} {
			tk := NewTopK(3)
			for _, n := range order {
				tk.AddString(n, 1)
			}
			tk.AddString("new", 1)
			want := []Item{{Name: "new", Estimate: 2, Error: 1}, {Name: "b", Estimate: 1}, {Name: "c", Estimate: 1}}
			if got := tk.Top(3); !slices.Equal(got, want) {
				t.Errorf("order %v: got %v, want %v", order, got, want)
			}
			if tk.ErrorBound() != 1 {
				t.Errorf("order %v: ErrorBound()=%d, want 1", order, tk.ErrorBound())
			}
			checkHeap(t, tk)
		}
		tk := NewTopK(3)
		for _, n := range []string{"a", "b", "c", "d", "c", "e", "f"} {
			tk.AddString(n, 1) // d evicts a; c joins d at 2; e evicts b; f evicts d
			checkHeap(t, tk)
		}
		want := []Item{{Name: "f", Estimate: 3, Error: 2}, {Name: "c", Estimate: 2}, {Name: "e", Estimate: 2, Error: 1}}
		if got := tk.Top(3); !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestTopKAddDoesNotRetain(t *testing.T) {
	tk := NewTopK(5)
	buf := []byte("alpha")
	tk.Add(buf, 1)
	copy(buf, "omega")
	tk.Add(buf, 2)
	copy(buf, "XXXXX")
	// Force an eviction path too.
	for _, n := range []string{"b", "c"} {
		tk.AddString(n, 5)
	}
	buf2 := []byte("delta")
	tk.Add(buf2, 10) // capacity 5: fills the last slot
	buf3 := []byte("gamma")
	tk.Add(buf3, 20) // evicts the minimum ("alpha")
	copy(buf2, "?????")
	copy(buf3, "!!!!!")
	want := []Item{
		{Name: "gamma", Estimate: 21, Error: 1},
		{Name: "delta", Estimate: 10},
		{Name: "b", Estimate: 5},
		{Name: "c", Estimate: 5},
		{Name: "omega", Estimate: 2},
	}
	if got := tk.Top(10); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if it, ok := tk.Lookup("alpha"); ok {
		t.Errorf("alpha (the minimum) should have been evicted, found %v", it)
	}
	checkHeap(t, tk)
}

func TestTopKResetAndClone(t *testing.T) {
	tk := NewTopK(8)
	feed(tk, nil, zipfStream(4, 2000, 1.1, 100, "r"))
	if tk.ErrorBound() == 0 || tk.Total() == 0 {
		t.Fatal("setup: sketch should have overflowed")
	}
	clone := tk.Clone()
	before := clone.Top(8)

	tk.Reset()
	if tk.Total() != 0 || tk.ErrorBound() != 0 || tk.Len() != 0 || tk.Top(5) != nil {
		t.Fatalf("after Reset: total=%d bound=%d len=%d top=%v", tk.Total(), tk.ErrorBound(), tk.Len(), tk.Top(5))
	}
	checkHeap(t, tk)
	tk.AddString("x", 4)
	tk.Add([]byte("y"), 1)
	tk.AddString("x", 1)
	want := []Item{{Name: "x", Estimate: 5}, {Name: "y", Estimate: 1}}
	if got := tk.Top(5); !slices.Equal(got, want) {
		t.Errorf("reuse after Reset: got %v, want %v", got, want)
	}
	if got := clone.Top(8); !slices.Equal(got, before) {
		t.Errorf("clone changed by Reset of original: got %v, want %v", got, before)
	}
	clone.AddString("zzz", 1000)
	checkHeap(t, clone)
	if _, ok := tk.Lookup("zzz"); ok {
		t.Error("Add on clone leaked into original")
	}
}

func TestTopKZeroCapacity(t *testing.T) {
	tk := NewTopK(0)
	if tk.Capacity() != 1 {
		t.Fatalf("Capacity()=%d, want 1", tk.Capacity())
	}
	tk.AddString("a", 2)
	tk.AddString("b", 1)
	want := []Item{{Name: "b", Estimate: 3, Error: 2}}
	if got := tk.Top(3); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestTopKZeroAllocTracked(t *testing.T) {
	tk := NewTopK(128)
	keys := make([][]byte, 100)
	for i := range keys {
		keys[i] = []byte("example-" + strconv.Itoa(i) + ".com.")
		tk.Add(keys[i], 1)
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		tk.Add(keys[i%len(keys)], 1)
		i++
	})
	if allocs != 0 {
		t.Errorf("Add of a tracked item: %v allocs/op, want 0", allocs)
	}
}

func TestTopKMergeOverflowOfExactSketches(t *testing.T) {
	// Both inputs are exact (bound 0), but their union does not fit: the
	// dropped items' counts must become the bound.
	const k = 4
	a, b := NewTopK(k), NewTopK(k)
	exact := map[string]uint64{}
	for i, n := range []uint64{10, 9, 8, 7} {
		name := "a" + strconv.Itoa(i)
		a.AddString(name, n)
		exact[name] += n
	}
	for i, n := range []uint64{5, 5, 4} {
		name := "b" + strconv.Itoa(i)
		b.AddString(name, n)
		exact[name] += n
	}
	b.AddString("a0", 2) // shared item
	exact["a0"] += 2
	if a.ErrorBound() != 0 || b.ErrorBound() != 0 {
		t.Fatal("setup: inputs should be exact")
	}
	a.Merge(b)
	checkGuarantees(t, a, exact)
	want := []Item{{Name: "a0", Estimate: 12}, {Name: "a1", Estimate: 9}, {Name: "a2", Estimate: 8}, {Name: "a3", Estimate: 7}}
	if got := a.Top(k); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := a.ErrorBound(); got != 5 {
		t.Errorf("ErrorBound()=%d, want 5 (largest dropped count)", got)
	}
}

// Top(n) is the first n of every item sorted by estimate, then name, for
// every n, with many ties.
func TestTopKTopIsSortedPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 9))
	tk := NewTopK(300)
	for range 5000 {
		tk.AddString("n"+strconv.Itoa(r.IntN(250)), uint64(1+r.IntN(3)))
	}
	all := tk.Top(1 << 20)
	ref := slices.Clone(all)
	slices.SortFunc(ref, func(a, b Item) int {
		if a.Estimate != b.Estimate {
			return cmp.Compare(b.Estimate, a.Estimate)
		}
		return strings.Compare(a.Name, b.Name)
	})
	if len(all) != 250 || !slices.Equal(all, ref) {
		t.Fatalf("Top(all): %d items, sorted %v", len(all), slices.Equal(all, ref))
	}
	for n := 1; n <= 260; n++ {
		if got := tk.Top(n); !slices.Equal(got, ref[:min(n, len(ref))]) {
			t.Fatalf("Top(%d) = %v, want %v", n, got, ref[:min(n, len(ref))])
		}
	}
}
