package analyzers

import (
	"runtime"
	"testing"

	"github.com/visor-dns/visor"
)

// manyBuckets analyses n one-second buckets of one query each and returns
// the bytes allocated during the run and the live heap the report (its
// closed buckets) holds.
func manyBuckets(t *testing.T, n int) (alloc, kept int64) {
	t.Helper()
	pkts := make([][]byte, 64)
	for i := range pkts {
		pkts[i] = rawQuery(t, uint16(i))
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	a := New(Options{Bucket: 1e9, DNSPorts: []uint16{53}, Shards: 2})
	const base = int64(1_800_000_000e9)
	for i := 0; i < n; i++ {
		d := pkts[i%len(pkts)]
		a.Observe(&visor.Packet{TS: base + int64(i)*1e9 + 5e8, Data: d, OrigLen: len(d), LinkType: 101})
	}
	rep := a.Finish()
	a = nil
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if got := rep.NumBuckets(); got != n {
		t.Fatalf("%d buckets, want %d", got, n)
	}
	rep.Close()
	rep = nil
	var m2 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m2)
	return int64(m1.TotalAlloc - m0.TotalAlloc), int64(m1.HeapAlloc) - int64(m2.HeapAlloc)
}

// TestMemoryPerBucket checks what a closed bucket costs: its states and
// their entries are reused (about 5 KB allocated a bucket, where a new set
// of sketches is about 1 MB) and what the report keeps of it is its compact form (a few hundred
// bytes, where the Go form of a bucket's section is several KB). It compares
// two runs, so the fixed costs of a run cancel out; it measures bytes, not
// time.
func TestMemoryPerBucket(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	manyBuckets(t, 100) // warm up: the runtime's and the packages' own allocations
	const n1, n2 = 500, 4500
	a1, _ := manyBuckets(t, n1)
	a2, kept := manyBuckets(t, n2)
	allocPer := (a2 - a1) / (n2 - n1)
	heapPer := kept / n2
	t.Logf("per bucket: %d bytes allocated, %d bytes of heap kept", allocPer, heapPer)
	if allocPer > 16<<10 {
		t.Errorf("%d bytes allocated a bucket: are states made a bucket instead of reused?", allocPer)
	}
	if heapPer > 1<<10 {
		t.Errorf("%d bytes of heap kept a bucket: are closed buckets kept in full?", heapPer)
	}
}
