package sketch

// slotIndex maps an item's 64-bit hash to its slot in a TopK. It is open
// addressing with linear probing and backward-shift deletion: a flood of new
// items deletes and inserts on every Add, and a table with tombstones (as
// Go's map keeps) slows every miss down.
type slotIndex struct {
	cells []indexCell
	mask  uint64
	n     int
}

// indexCell keeps a hash and its slot together: a probe reads one cache
// line.
type indexCell struct {
	key uint64
	val int32 // slot+1; 0 is an empty cell
}

func newSlotIndex(capacity int) slotIndex {
	size := 16
	for size < 2*capacity {
		size <<= 1
	}
	return slotIndex{cells: make([]indexCell, size), mask: uint64(size - 1)}
}

func (x *slotIndex) get(h uint64) (int32, bool) {
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		c := &x.cells[i]
		if c.val == 0 {
			return 0, false
		}
		if c.key == h {
			return c.val - 1, true
		}
	}
}

// put sets h's slot, adding h if absent. The table never fills: TopK holds
// at most capacity items in twice as many cells.
func (x *slotIndex) put(h uint64, slot int32) {
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		c := &x.cells[i]
		if c.val == 0 {
			*c = indexCell{h, slot + 1}
			x.n++
			return
		}
		if c.key == h {
			c.val = slot + 1
			return
		}
	}
}

func (x *slotIndex) del(h uint64) {
	i := h & x.mask
	for {
		if x.cells[i].val == 0 {
			return
		}
		if x.cells[i].key == h {
			break
		}
		i = (i + 1) & x.mask
	}
	x.n--
	// Shift back the cells after i that would no longer be reachable.
	for j := (i + 1) & x.mask; x.cells[j].val != 0; j = (j + 1) & x.mask {
		home := x.cells[j].key & x.mask
		if (j-home)&x.mask >= (j-i)&x.mask {
			x.cells[i] = x.cells[j]
			i = j
		}
	}
	x.cells[i].val = 0
}

func (x *slotIndex) len() int { return x.n }

func (x *slotIndex) reset() {
	clear(x.cells)
	x.n = 0
}

func (x *slotIndex) clone() slotIndex {
	c := *x
	c.cells = append([]indexCell(nil), x.cells...)
	return c
}

// each calls f for every entry (tests use it).
func (x *slotIndex) each(f func(h uint64, slot int32)) {
	for _, c := range x.cells {
		if c.val != 0 {
			f(c.key, c.val-1)
		}
	}
}
