package sketch

import (
	"bytes"
	"cmp"
	"unsafe"

	metro "github.com/dgryski/go-metro"
	"slices"
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
// Adding an item allocates nothing when it is tracked and copies its name
// once when it is not; both cost O(1) for a count of 1. The items are kept
// in a stream-summary (Metwally et al., 2005): a list of buckets, one per
// distinct count in ascending order, each holding its items in the order
// they reached that count. The minimum to evict is the first item of the
// first bucket (among equal minimum counts, the one that has had it
// longest), and counting an item once moves it to the next bucket.
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
	buckets  []countBucket   // the stream-summary's buckets, linked by index
	minB     int32           // first bucket (smallest count); -1 when none
	freeB    int32           // free list of buckets, through next; -1 when none
	ordered  bool            // buckets are valid; they are built only once t is full
	recent   [256]recentSlot // direct-mapped cache in front of index
	total    uint64
	floor    uint64      // upper bound on the true count of any untracked item
	scratch  []topkEntry // Merge's and order's work space, kept for reuse
	ord      []int32
	// arena holds the names UnmarshalBinary read, reused when it reads
	// into t again: nothing else may hold them then (Merge and Clone copy
	// names).
	arena []byte
}

type topkEntry struct {
	name       []byte // owned by t: an evicted slot's buffer takes the next name
	hash       uint64
	count      uint64
	err        uint64
	bucket     int32 // the bucket holding this slot, while ordered
	prev, next int32 // neighbours in the bucket's list; -1 at its ends
}

// countBucket holds the slots whose count is count, first to last in the
// order they reached it; prev and next link the buckets by ascending count.
type countBucket struct {
	count      uint64
	first      int32
	last       int32
	prev, next int32
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
	slot, ok := t.index.get(h, t.entries)
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
		entries:  make([]topkEntry, 0, min(capacity, 16)),     // grown by use
		buckets:  make([]countBucket, 0, min(capacity+1, 17)), // a move may hold one more than the items
		minB:     -1,
		freeB:    -1,
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
	t.insert(item, h, n)
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
	t.insert(unsafe.Slice(unsafe.StringData(item), len(item)), h, n)
}

func (t *TopK) bump(slot int32, n uint64) {
	if !t.ordered {
		t.entries[slot].count += n
		return
	}
	t.move(slot, t.entries[slot].count+n)
}

// order builds the stream-summary from the entries, once t is full: below
// capacity no eviction happens, so no order needs keeping. Slots with equal
// counts are queued by name, so that the order does not depend on the
// order a merge left them in.
func (t *TopK) order() {
	ord := t.ord[:0]
	for i := range t.entries {
		ord = append(ord, int32(i))
	}
	slices.SortFunc(ord, func(a, b int32) int {
		x, y := &t.entries[a], &t.entries[b]
		if c := cmp.Compare(x.count, y.count); c != 0 {
			return c
		}
		return bytes.Compare(x.name, y.name)
	})
	t.buckets, t.minB, t.freeB = t.buckets[:0], -1, -1
	last := int32(-1)
	for _, slot := range ord {
		e := &t.entries[slot]
		if last < 0 || t.buckets[last].count != e.count {
			last = t.newBucket(e.count, last)
		}
		t.appendTo(last, slot)
	}
	t.ord = ord[:0]
	t.ordered = true
}

// newBucket makes an empty bucket for count and links it after bucket
// after (-1: first).
func (t *TopK) newBucket(count uint64, after int32) int32 {
	var b int32
	if t.freeB >= 0 {
		b = t.freeB
		t.freeB = t.buckets[b].next
	} else {
		b = int32(len(t.buckets))
		t.buckets = append(t.buckets, countBucket{})
	}
	nb := &t.buckets[b]
	*nb = countBucket{count: count, first: -1, last: -1, prev: after}
	if after < 0 {
		nb.next = t.minB
		t.minB = b
	} else {
		nb.next = t.buckets[after].next
		t.buckets[after].next = b
	}
	if nb.next >= 0 {
		t.buckets[nb.next].prev = b
	}
	return b
}

// appendTo queues slot last in bucket b.
func (t *TopK) appendTo(b, slot int32) {
	bk := &t.buckets[b]
	e := &t.entries[slot]
	e.bucket, e.prev, e.next = b, bk.last, -1
	if bk.last >= 0 {
		t.entries[bk.last].next = slot
	} else {
		bk.first = slot
	}
	bk.last = slot
}

// move sets slot's count to c (not below its count now) and requeues it
// in c's bucket; its old bucket goes to the free list when left empty.
func (t *TopK) move(slot int32, c uint64) {
	e := &t.entries[slot]
	b := e.bucket
	e.count = c
	if e.prev < 0 && e.next < 0 {
		// Alone in its bucket (a heavy hitter, often): the bucket takes
		// the new count when that keeps the buckets in order.
		if nx := t.buckets[b].next; nx < 0 || t.buckets[nx].count > c {
			t.buckets[b].count = c
			return
		}
	}
	// Find the last bucket with a count ≤ c, walking up from b: one step
	// when c is one more than before.
	at := b
	for nx := t.buckets[at].next; nx >= 0 && t.buckets[nx].count <= c; nx = t.buckets[nx].next {
		at = nx
	}
	if at == b && t.buckets[b].count == c {
		return
	}
	// Unlink slot from b.
	bk := &t.buckets[b]
	if e.prev >= 0 {
		t.entries[e.prev].next = e.next
	} else {
		bk.first = e.next
	}
	if e.next >= 0 {
		t.entries[e.next].prev = e.prev
	} else {
		bk.last = e.prev
	}
	if t.buckets[at].count != c {
		at = t.newBucket(c, at)
	}
	t.appendTo(at, slot)
	if bk := &t.buckets[b]; bk.first < 0 {
		if bk.prev >= 0 {
			t.buckets[bk.prev].next = bk.next
		} else {
			t.minB = bk.next
		}
		if bk.next >= 0 {
			t.buckets[bk.next].prev = bk.prev
		}
		bk.next = t.freeB
		t.freeB = b
	}
}

// insert stores an untracked item, copying its name.
func (t *TopK) insert(item []byte, h uint64, n uint64) {
	if len(t.entries) < t.capacity {
		// An untracked item may have occurred up to floor times already
		// (floor is 0 unless a merge dropped items).
		slot := int32(len(t.entries))
		t.entries = append(t.entries, topkEntry{name: ownName(nil, item), hash: h, count: t.floor + n, err: t.floor})
		t.index.put(h, slot)
		t.recent[h&255] = recentSlot{h, slot + 1}
		t.ordered = false
		return
	}
	if !t.ordered {
		t.order()
	}
	// Evict the minimum: the newcomer inherits its count as error.
	slot := t.buckets[t.minB].first
	e := &t.entries[slot]
	t.index.del(e.hash, slot)
	if c := &t.recent[e.hash&255]; c.h == e.hash {
		*c = recentSlot{}
	}
	t.floor = max(t.floor, e.count)
	e.name, e.hash = ownName(e.name, item), h
	e.err = e.count
	t.index.put(h, slot)
	t.recent[h&255] = recentSlot{h, slot + 1} // a response often follows its query
	t.move(slot, e.count+n)
}

// ownName copies item into buf when it fits, else into a new buffer with
// some room to spare, so that evicted slots' buffers serve the names that
// follow.
func ownName(buf, item []byte) []byte {
	if cap(buf) >= len(item) {
		return append(buf[:0], item...)
	}
	return append(make([]byte, 0, (len(item)+31)&^31), item...)
}

// Merge adds o's counts into t. t keeps its own capacity; the guarantees in
// the type's documentation hold when both sketches have the same capacity.
// o is not modified.
func (t *TopK) Merge(o *TopK) {
	if o == nil || o.total == 0 && len(o.entries) == 0 && o.floor == 0 {
		return
	}
	if o == t {
		o = t.Clone()
	}
	comb := t.scratch[:0]
	mine := len(t.entries) // comb[:mine] hold t's name buffers
	for i := range t.entries {
		e := t.entries[i]
		if s, ok := o.index.get(e.hash, o.entries); ok {
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
		if _, ok := t.index.get(oe.hash, t.entries); ok {
			continue
		}
		oe.count += t.floor
		oe.err += t.floor
		comb = append(comb, oe)
	}
	floor := t.floor + o.floor

	t.index.reset()
	t.entries = t.entries[:0]
	// Names from o are copied, into the buffers of t's dropped entries
	// where they fit.
	var spare [][]byte
	keep := func(i int32) {
		e := comb[i]
		if int(i) >= mine {
			var buf []byte
			if n := len(spare); n > 0 {
				buf, spare = spare[n-1], spare[:n-1]
			}
			e.name = ownName(buf, e.name)
		}
		slot := int32(len(t.entries))
		t.entries = append(t.entries, e)
		t.index.put(e.hash, slot)
	}
	if len(comb) > t.capacity {
		// Keep the capacity largest, ordered as Top reports them; sort
		// indices rather than the wide entries.
		ord := t.ord[:0]
		for i := range comb {
			ord = append(ord, int32(i))
		}
		slices.SortFunc(ord, func(a, b int32) int { return cmpReport(&comb[a], &comb[b]) })
		floor = max(floor, comb[ord[t.capacity]].count)
		for _, i := range ord[t.capacity:] {
			if int(i) < mine {
				spare = append(spare, comb[i].name)
			}
		}
		for _, i := range ord[:t.capacity] {
			keep(i)
		}
		t.ord = ord[:0]
	} else {
		for i := range comb {
			keep(int32(i))
		}
	}
	t.ordered = false
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
	return bytes.Compare(a.name, b.name)
}

// Top returns at most n items, largest Estimate first, ties broken by Name
// ascending. The n first in that order are picked with a heap of n (a
// report asks for ten of up to a thousand), then sorted.
func (t *TopK) Top(n int) []Item {
	if n <= 0 || len(t.entries) == 0 {
		return nil
	}
	n = min(n, len(t.entries))
	es := t.entries
	// h is a heap of entry indices whose root is the last in report order.
	h := make([]int32, 0, n)
	after := func(a, b int32) bool { return cmpReport(&es[a], &es[b]) > 0 }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			m := l
			if r := l + 1; r < len(h) && after(h[r], h[l]) {
				m = r
			}
			if !after(h[m], h[i]) {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for i := range es {
		switch {
		case len(h) < n:
			h = append(h, int32(i))
			for j := len(h) - 1; j > 0; {
				p := (j - 1) / 2
				if !after(h[j], h[p]) {
					break
				}
				h[j], h[p] = h[p], h[j]
				j = p
			}
		case after(h[0], int32(i)):
			h[0] = int32(i)
			down(0)
		}
	}
	slices.SortFunc(h, func(a, b int32) int { return cmpReport(&es[a], &es[b]) })
	out := make([]Item, len(h))
	for i, k := range h {
		e := &es[k]
		out[i] = Item{Name: string(e.name), Estimate: e.count, Error: e.err}
	}
	return out
}

// Lookup returns the tracked entry for item, or false when t does not track
// it (it then occurred at most ErrorBound() times).
func (t *TopK) Lookup(item string) (Item, bool) {
	slot, ok := t.index.get(Hash([]byte(item)), t.entries)
	if !ok {
		return Item{}, false
	}
	e := &t.entries[slot]
	return Item{Name: string(e.name), Estimate: e.count, Error: e.err}, true
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
	if len(t.entries) == 0 && t.total == 0 && t.floor == 0 {
		return // nothing added since the last Reset: the recent cache is clear
	}
	t.index.reset()
	clear(t.entries) // drop name references
	t.entries = t.entries[:0]
	t.buckets, t.minB, t.freeB = t.buckets[:0], -1, -1
	t.ordered = false
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
		buckets:  make([]countBucket, len(t.buckets), max(len(t.buckets), t.capacity+1)),
		minB:     t.minB,
		freeB:    t.freeB,
		ordered:  t.ordered,
		total:    t.total,
		floor:    t.floor,
	}
	copy(c.entries, t.entries)
	for i := range c.entries {
		c.entries[i].name = bytes.Clone(c.entries[i].name)
	}
	copy(c.buckets, t.buckets)
	return c
}
