package sketch

import (
	"cmp"
	"unsafe"

	metro "github.com/dgryski/go-metro"
	"slices"
	"strings"
)

// TopK is a SpaceSaving frequent-items sketch with a fixed capacity.
//
// It tracks at most capacity items. For every tracked item it keeps an
// estimate and the item's own error; it also keeps a single error bound that
// covers every item, tracked or not. With N = Total() and k = capacity the
// sketch guarantees, after any sequence of Add, AddString and Merge calls
// between sketches of the same capacity:
//
//   - estimates never undercount: true ≤ Estimate for every tracked item;
//   - Estimate − true ≤ Error ≤ ErrorBound() ≤ N/k for every tracked item;
//   - an item that is not tracked occurred at most ErrorBound() times, so any
//     item with true frequency > N/k is present;
//   - while the number of distinct items is ≤ k, counts are exact and
//     ErrorBound() is 0. That stays true across merges whose union of
//     distinct items still fits in k.
//
// Adding an item that is already tracked allocates nothing and costs
// O(log k); adding a new item copies its name once and evicts the minimum
// in O(log k) (a min-heap indexed from each entry).
//
// Merge follows the mergeable SpaceSaving of Agarwal et al. (2012,
// "Mergeable summaries") in the form given by Cafaro et al. for parallel
// SpaceSaving: counts of items tracked by both sides are added; an item
// tracked by one side only is charged the other side's error bound (the
// most it can have occurred there) as both count and error; then the k
// largest are kept and the error bound becomes the larger of the two
// bounds' sum and the largest dropped count.
type TopK struct {
	capacity int
	index    slotIndex       // hash of name -> slot in entries
	entries  []topkEntry     // slots; len ≤ capacity
	heap     []heapItem      // min-heap of slots, ordered by lessItem
	heaped   bool            // heap is valid; it is built only once t is full
	recent   [256]recentSlot // direct-mapped cache in front of index
	total    uint64
	floor    uint64      // upper bound on the true count of any untracked item
	scratch  []topkEntry // Merge's work space, kept for reuse
	order    []int32
}

type topkEntry struct {
	name  string
	hash  uint64
	count uint64
	err   uint64
	hpos  int32 // position of this slot in heap
}

// recentSlot caches index[h] as slot+1 (0 is empty).
type recentSlot struct {
	h    uint64
	slot int32
}

// lookup finds the slot of hash h, through the recent cache.
func (t *TopK) lookup(h uint64) (int32, bool) {
	c := &t.recent[h&255]
	if c.h == h && c.slot > 0 {
		return c.slot - 1, true
	}
	slot, ok := t.index.get(h)
	if ok {
		c.h, c.slot = h, slot+1
	}
	return slot, ok
}

// Item is one entry of a TopK report.
type Item struct {
	Name     string
	Estimate uint64 // never below the true count
	Error    uint64 // this item's own maximum overcount: true ≥ Estimate − Error
}

// NewTopK returns an empty TopK that tracks up to capacity items. A capacity
// below 1 is treated as 1.
func NewTopK(capacity int) *TopK {
	capacity = max(capacity, 1)
	return &TopK{
		capacity: capacity,
		index:    newSlotIndex(capacity),
		entries:  make([]topkEntry, 0, capacity),
		heap:     make([]heapItem, 0, capacity),
	}
}

// Capacity returns the maximum number of items t tracks.
func (t *TopK) Capacity() int { return t.capacity }

// Len returns the number of items t tracks now.
func (t *TopK) Len() int { return len(t.entries) }

// Add counts n occurrences of item. It never retains item: the name is
// copied when t has to store it, and looking up an item that is already
// tracked allocates nothing.
func (t *TopK) Add(item []byte, n uint64) {
	t.AddHash(item, Hash(item), n)
}

// AddHash is Add for a caller that already has Hash(item) (to share it
// with a Cardinality's InsertHash).
func (t *TopK) AddHash(item []byte, h uint64, n uint64) {
	t.total += n
	if slot, ok := t.lookup(h); ok {
		t.bump(slot, n)
		return
	}
	t.insert(string(item), h, n)
}

// Hash is the 64-bit hash visor's sketches identify items by: MetroHash64
// with a fixed seed, the same as Cardinality.Insert, so one hash serves a
// TopK and a Cardinality, and sketches from different runs agree. Items are
// identified by it: a collision (odds about 2^-64 per pair) would merge two
// counts.
func Hash(b []byte) uint64 { return metro.Hash64(b, hllSeed) }

// hllSeed is the seed github.com/axiomhq/hyperloglog hashes items with.
const hllSeed = 1337

// AddString counts n occurrences of item. The name is cloned when t has to
// store it, so t never pins a larger string item may be part of.
func (t *TopK) AddString(item string, n uint64) {
	t.total += n
	h := Hash(unsafe.Slice(unsafe.StringData(item), len(item)))
	if slot, ok := t.lookup(h); ok {
		t.bump(slot, n)
		return
	}
	t.insert(strings.Clone(item), h, n)
}

func (t *TopK) bump(slot int32, n uint64) {
	e := &t.entries[slot]
	e.count += n
	if t.heaped {
		t.heap[e.hpos].count = e.count
		t.down(int(e.hpos))
	}
}

// buildHeap orders every slot into the min-heap, once t is full: below
// capacity no eviction happens, so no heap needs keeping.
func (t *TopK) buildHeap() {
	t.heap = t.heap[:0]
	for i := range t.entries {
		t.entries[i].hpos = int32(i)
		t.heap = append(t.heap, heapItem{count: t.entries[i].count, hash: t.entries[i].hash, slot: int32(i)})
	}
	for i := len(t.heap)/2 - 1; i >= 0; i-- {
		t.down(i)
	}
	t.heaped = true
}

// insert stores an untracked item; name must already be owned by t.
func (t *TopK) insert(name string, h uint64, n uint64) {
	if len(t.entries) < t.capacity {
		// An untracked item may have occurred up to floor times already
		// (floor is 0 unless a merge dropped items).
		slot := int32(len(t.entries))
		t.entries = append(t.entries, topkEntry{name: name, hash: h, count: t.floor + n, err: t.floor})
		t.index.put(h, slot)
		t.heaped = false
		return
	}
	if !t.heaped {
		t.buildHeap()
	}
	// Evict the minimum: the newcomer inherits its count as error.
	slot := t.heap[0].slot
	e := &t.entries[slot]
	t.index.del(e.hash)
	if c := &t.recent[e.hash&255]; c.h == e.hash {
		*c = recentSlot{}
	}
	t.floor = max(t.floor, e.count)
	e.name, e.hash = name, h
	e.err = e.count
	e.count += n
	t.index.put(h, slot)
	t.heap[0].count, t.heap[0].hash = e.count, h
	t.down(0)
}

// heapItem is a heap cell: a copy of its entry's count and hash, so that
// sifting reads one array instead of chasing slots.
type heapItem struct {
	count, hash uint64
	slot        int32
}

// lessItem orders the heap: smallest count first; among equal counts the
// largest hash first, so eviction does not depend on arrival order. (A name
// comparison would too, but a flood of new names makes every eviction tie,
// and comparing hashes is several times cheaper.)
func lessItem(a, b *heapItem) bool {
	if a.count != b.count {
		return a.count < b.count
	}
	return a.hash > b.hash
}

func (t *TopK) less(i, j int) bool {
	return lessItem(&t.heap[i], &t.heap[j])
}

func (t *TopK) swap(i, j int) {
	h := t.heap
	h[i], h[j] = h[j], h[i]
	t.entries[h[i].slot].hpos = int32(i)
	t.entries[h[j].slot].hpos = int32(j)
}

func (t *TopK) down(i int) {
	n := len(t.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && t.less(r, l) {
			m = r
		}
		if !t.less(m, i) {
			return
		}
		t.swap(i, m)
		i = m
	}
}

// Merge adds o's counts into t. t keeps its own capacity; the guarantees in
// the type's documentation hold when both sketches have the same capacity.
// o is not modified (t may share o's immutable name strings).
func (t *TopK) Merge(o *TopK) {
	if o == nil || o.total == 0 && len(o.entries) == 0 && o.floor == 0 {
		return
	}
	if o == t {
		o = t.Clone()
	}
	comb := t.scratch[:0]
	for i := range t.entries {
		e := t.entries[i]
		if s, ok := o.index.get(e.hash); ok {
			oe := &o.entries[s]
			e.count += oe.count
			e.err += oe.err
		} else {
			e.count += o.floor
			e.err += o.floor
		}
		comb = append(comb, e)
	}
	for i := range o.entries {
		oe := o.entries[i]
		if _, ok := t.index.get(oe.hash); ok {
			continue
		}
		oe.count += t.floor
		oe.err += t.floor
		comb = append(comb, oe)
	}
	floor := t.floor + o.floor

	t.index.reset()
	t.entries = t.entries[:0]
	t.heap = t.heap[:0]
	keep := func(e topkEntry) {
		slot := int32(len(t.entries))
		e.hpos = slot
		t.entries = append(t.entries, e)
		t.index.put(e.hash, slot)
	}
	if len(comb) > t.capacity {
		// Keep the capacity largest, ordered as Top reports them; sort
		// indices rather than the wide entries.
		ord := t.order[:0]
		for i := range comb {
			ord = append(ord, int32(i))
		}
		slices.SortFunc(ord, func(a, b int32) int { return cmpReport(&comb[a], &comb[b]) })
		floor = max(floor, comb[ord[t.capacity]].count)
		for _, i := range ord[:t.capacity] {
			keep(comb[i])
		}
		t.order = ord[:0]
	} else {
		for _, e := range comb {
			keep(e)
		}
	}
	t.heaped = false
	t.recent = [256]recentSlot{}
	clear(comb) // drop name references
	t.scratch = comb[:0]
	t.floor = floor
	t.total += o.total
}

// cmpReport orders entries as Top reports them: largest count first, ties by
// name ascending.
func cmpReport(a, b *topkEntry) int {
	if c := cmp.Compare(b.count, a.count); c != 0 {
		return c
	}
	return strings.Compare(a.name, b.name)
}

// Top returns at most n items, largest Estimate first, ties broken by Name
// ascending.
func (t *TopK) Top(n int) []Item {
	if n <= 0 || len(t.entries) == 0 {
		return nil
	}
	es := slices.Clone(t.entries)
	slices.SortFunc(es, func(a, b topkEntry) int { return cmpReport(&a, &b) })
	es = es[:min(n, len(es))]
	out := make([]Item, len(es))
	for i, e := range es {
		out[i] = Item{Name: e.name, Estimate: e.count, Error: e.err}
	}
	return out
}

// Lookup returns the tracked entry for item, or false when t does not track
// it (it then occurred at most ErrorBound() times).
func (t *TopK) Lookup(item string) (Item, bool) {
	slot, ok := t.index.get(Hash([]byte(item)))
	if !ok {
		return Item{}, false
	}
	e := &t.entries[slot]
	return Item{Name: e.name, Estimate: e.count, Error: e.err}, true
}

// ErrorBound returns the largest overestimate of any reported count, which is
// also the most often any untracked item can have occurred. It is 0 while
// fewer distinct items than the capacity were ever seen and no merge
// overflowed, and never exceeds Total()/capacity.
func (t *TopK) ErrorBound() uint64 { return t.floor }

// Total returns the sum of all counts added (including merged sketches).
func (t *TopK) Total() uint64 { return t.total }

// Reset empties t, keeping its allocated memory for reuse.
func (t *TopK) Reset() {
	t.index.reset()
	clear(t.entries) // drop name references
	t.entries = t.entries[:0]
	t.heap = t.heap[:0]
	t.heaped = false
	t.recent = [256]recentSlot{}
	t.total = 0
	t.floor = 0
}

// Clone returns a deep copy of t.
func (t *TopK) Clone() *TopK {
	c := &TopK{
		capacity: t.capacity,
		index:    t.index.clone(),
		entries:  make([]topkEntry, len(t.entries), t.capacity),
		heap:     make([]heapItem, len(t.heap), t.capacity),
		heaped:   t.heaped,
		total:    t.total,
		floor:    t.floor,
	}
	copy(c.entries, t.entries)
	copy(c.heap, t.heap)
	return c
}
