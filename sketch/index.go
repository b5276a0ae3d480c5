package sketch

// slotIndex maps an item's 64-bit hash to its slot in a TopK. It is open
// addressing with linear probing and backward-shift deletion: a flood of new
// items deletes and inserts on every Add, and a table with tombstones (as
// Go's map keeps) slows every miss down.
type slotIndex struct {
	keys []uint64
	vals []int32 // slot+1; 0 is an empty cell
	mask uint64
	n    int
}

func newSlotIndex(capacity int) slotIndex {
	size := 16
	for size < 2*capacity {
		size <<= 1
	}
	return slotIndex{keys: make([]uint64, size), vals: make([]int32, size), mask: uint64(size - 1)}
}

func (x *slotIndex) get(h uint64) (int32, bool) {
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		v := x.vals[i]
		if v == 0 {
			return 0, false
		}
		if x.keys[i] == h {
			return v - 1, true
		}
	}
}

// put sets h's slot, adding h if absent. The table never fills: TopK holds
// at most capacity items in twice as many cells.
func (x *slotIndex) put(h uint64, slot int32) {
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		if x.vals[i] == 0 {
			x.keys[i], x.vals[i] = h, slot+1
			x.n++
			return
		}
		if x.keys[i] == h {
			x.vals[i] = slot + 1
			return
		}
	}
}

func (x *slotIndex) del(h uint64) {
	i := h & x.mask
	for {
		if x.vals[i] == 0 {
			return
		}
		if x.keys[i] == h {
			break
		}
		i = (i + 1) & x.mask
	}
	x.n--
	// Shift back the cells after i that would no longer be reachable.
	for j := (i + 1) & x.mask; x.vals[j] != 0; j = (j + 1) & x.mask {
		home := x.keys[j] & x.mask
		if (j-home)&x.mask >= (j-i)&x.mask {
			x.keys[i], x.vals[i] = x.keys[j], x.vals[j]
			i = j
		}
	}
	x.vals[i] = 0
}

func (x *slotIndex) len() int { return x.n }

func (x *slotIndex) reset() {
	clear(x.vals)
	x.n = 0
}

func (x *slotIndex) clone() slotIndex {
	c := *x
	c.keys = append([]uint64(nil), x.keys...)
	c.vals = append([]int32(nil), x.vals...)
	return c
}

// each calls f for every entry (tests use it).
func (x *slotIndex) each(f func(h uint64, slot int32)) {
	for i, v := range x.vals {
		if v != 0 {
			f(x.keys[i], v-1)
		}
	}
}
