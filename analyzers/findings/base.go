package findings

import (
	"container/heap"
	"slices"
	"strings"

	"github.com/visor-dns/visor/sketch"
)

// baseSum is a zone cut's part of the random-subdomain baseline: over the
// windows it showed in, the machine-made names of its window samples (k)
// and their sizes (n).
type baseSum struct {
	zone string
	h    uint64 // sketch.Hash of the zone's name
	k, n uint64
	at   int // index in baseSums.heap while it is built
}

// maxBase bounds the zone cuts whose baseline sums are kept: beyond it, the
// cuts with the smallest name hashes (a uniform sample of the cuts, the
// same whatever the order they come in, in a run, a summary or a merge).
const maxBase = 1 << 16

// baseSums holds the baseline sums of at most maxBase zone cuts.
type baseSums struct {
	m    map[string]*baseSum
	heap baseHeap // by hash, largest first; made once m is full
}

// less orders cuts by name hash, then name (a total order).
func (a *baseSum) less(b *baseSum) bool {
	return a.h < b.h || a.h == b.h && a.zone < b.zone
}

// add adds k machine-made names of n to zone's sums.
func (s *baseSums) add(zone string, k, n uint64) {
	if b := s.m[zone]; b != nil {
		b.k += k
		b.n += n
		return
	}
	if n == 0 {
		return
	}
	if s.m == nil {
		s.m = map[string]*baseSum{}
	}
	b := &baseSum{zone: zone, h: sketch.Hash([]byte(zone)), k: k, n: n}
	if len(s.m) < maxBase {
		s.m[zone] = b
		if s.heap != nil {
			heap.Push(&s.heap, b)
		}
		return
	}
	if s.heap == nil {
		s.heap = make(baseHeap, 0, len(s.m))
		for _, x := range s.m {
			s.heap = append(s.heap, x)
		}
		heap.Init(&s.heap)
	}
	top := s.heap[0]
	if !b.less(top) {
		return // not in the sample
	}
	delete(s.m, top.zone)
	s.m[zone] = b
	b.at = 0
	s.heap[0] = b
	heap.Fix(&s.heap, 0)
}

// merge adds o's sums.
func (s *baseSums) merge(o *baseSums) {
	for _, b := range o.m {
		s.add(b.zone, b.k, b.n)
	}
}

func (s *baseSums) reset() {
	clear(s.m)
	s.heap = nil
}

// sorted returns the sums by zone name.
func (s *baseSums) sorted() []*baseSum {
	out := make([]*baseSum, 0, len(s.m))
	for _, b := range s.m {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b *baseSum) int { return strings.Compare(a.zone, b.zone) })
	return out
}

// baseHeap is a max-heap of sums by hash.
type baseHeap []*baseSum

func (h baseHeap) Len() int           { return len(h) }
func (h baseHeap) Less(i, j int) bool { return h[j].less(h[i]) }
func (h baseHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].at, h[j].at = i, j
}
func (h *baseHeap) Push(x any) {
	b := x.(*baseSum)
	b.at = len(*h)
	*h = append(*h, b)
}
func (h *baseHeap) Pop() any {
	old := *h
	b := old[len(old)-1]
	*h = old[:len(old)-1]
	return b
}
