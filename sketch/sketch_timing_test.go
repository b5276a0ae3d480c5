package sketch

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"testing"
)

func benchKeys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = []byte("host-" + strconv.Itoa(i) + ".example.com.")
	}
	return keys
}

// BenchmarkTopKAddTracked adds items the sketch already tracks: the hot
// path, expected 0 allocs/op.
func BenchmarkTopKAddTracked(b *testing.B) {
	keys := benchKeys(1000)
	tk := NewTopK(1024)
	for _, k := range keys {
		tk.Add(k, 1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		tk.Add(keys[i%len(keys)], 1)
	}
}

// BenchmarkTopKAddUntracked adds items the sketch never holds at that
// moment: every call evicts the minimum and copies the name (1 alloc/op).
func BenchmarkTopKAddUntracked(b *testing.B) {
	keys := benchKeys(1 << 16)
	tk := NewTopK(1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		tk.Add(keys[i%len(keys)], 1)
	}
}

// BenchmarkTopKAddZipf is a realistic mix: Zipf(1.1) over 100k names into
// 1024 counters.
func BenchmarkTopKAddZipf(b *testing.B) {
	keys := benchKeys(100_001)
	r := rand.New(rand.NewPCG(1, 2))
	z := rand.NewZipf(r, 1.1, 1, 100_000)
	idx := make([]int, 1<<20)
	for i := range idx {
		idx[i] = int(z.Uint64())
	}
	tk := NewTopK(1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		tk.Add(keys[idx[i&(len(idx)-1)]], 1)
	}
}

func BenchmarkTopKMerge(b *testing.B) {
	x, y := NewTopK(1024), NewTopK(1024)
	keys := benchKeys(4096)
	for i, k := range keys {
		if i%2 == 0 {
			x.Add(k, uint64(i))
		} else {
			y.Add(k, uint64(i))
		}
	}
	dst := NewTopK(1024)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		dst.Reset()
		dst.Merge(x)
		dst.Merge(y)
	}
}

// BenchmarkCardinalityInsert inserts distinct items into a dense sketch.
func BenchmarkCardinalityInsert(b *testing.B) {
	c := NewCardinality()
	insertRange(c, 1<<40, 1<<40+100_000) // go dense first
	var buf [16]byte
	copy(buf[:], "qname:")
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		binary.BigEndian.PutUint64(buf[8:], uint64(i))
		c.Insert(buf[:])
	}
}

// BenchmarkCardinalityInsertFromEmpty includes the sparse phase and the
// switch to dense, amortized over b.N inserts.
func BenchmarkCardinalityInsertFromEmpty(b *testing.B) {
	c := NewCardinality()
	var buf [16]byte
	copy(buf[:], "qname:")
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		binary.BigEndian.PutUint64(buf[8:], uint64(i))
		c.Insert(buf[:])
	}
}

func BenchmarkCardinalityMerge(b *testing.B) {
	x, y := NewCardinality(), NewCardinality()
	insertRange(x, 0, 100_000)
	insertRange(y, 50_000, 150_000)
	dst := NewCardinality()
	insertRange(dst, 1<<40, 1<<40+100_000) // dense
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		dst.Reset()
		dst.Merge(x)
		dst.Merge(y)
	}
}

func BenchmarkQuantilesAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	vals := genValues("lognormal latency", 1<<16, r)
	q := NewQuantiles()
	for _, v := range vals {
		q.Add(v)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		q.Add(vals[i&(len(vals)-1)])
	}
}

func BenchmarkQuantilesQuantile(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	q := NewQuantiles()
	for _, v := range genValues("lognormal latency", 1<<16, r) {
		q.Add(v)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = q.Quantile(0.99)
	}
}
