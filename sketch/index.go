package sketch

// slotIndex maps an item's 64-bit hash to its slot in a TopK. It is open
// addressing with linear probing and backward-shift deletion: a flood of new
// items deletes and inserts on every Add, and a table with tombstones (as
// Go's map keeps) slows every miss down.
//
// A cell is 8 bytes: the hash's top 32 bits (which also give the home cell)
// and slot+1 (0: empty). A tag match is confirmed against the entry's full
// hash, which the caller reads anyway. The table keeps at least eight
// cells an item, doubling as items come (a list that holds a few names
// stays a few cache lines): at half load, clusters made evictions (a
// delete and an insert each) half as fast again, and at an eighth they are
// another sixth faster than at a quarter. A full 1024-item list takes
// 64 KiB.
type slotIndex struct {
	cells []uint64
	shift uint // 64 - log2(len(cells)): a hash's home is h >> shift
	mask  uint64
	n     int
	max   int // cells at full capacity
}

// cellsPerItem is the least number of cells an item the table keeps.
const cellsPerItem = 8

func newSlotIndex(capacity int) slotIndex {
	x := slotIndex{max: 16}
	for x.max < cellsPerItem*capacity {
		x.max <<= 1
	}
	x.resize(16)
	return x
}

// resize makes the table size cells (a power of two, at most 2^32) and
// puts back what it held: a cell's home comes from its tag.
func (x *slotIndex) resize(size int) {
	old := x.cells
	bits := uint(0)
	for 1<<bits < size {
		bits++
	}
	x.cells, x.shift, x.mask, x.n = make([]uint64, size), 64-bits, uint64(size-1), 0
	for _, c := range old {
		if c != 0 {
			x.putCell(c)
		}
	}
}

func cellOf(h uint64, slot int32) uint64 { return h&^0xffffffff | uint64(uint32(slot+1)) }

func cellSlot(c uint64) int32 { return int32(uint32(c)) - 1 }

// get returns the slot of the item with hash h; es are the TopK's entries.
func (x *slotIndex) get(h uint64, es []topkEntry) (int32, bool) {
	tag := h &^ 0xffffffff
	for i := h >> x.shift; ; i = (i + 1) & x.mask {
		c := x.cells[i]
		if c == 0 {
			return 0, false
		}
		if c&^0xffffffff == tag {
			if s := cellSlot(c); es[s].hash == h {
				return s, true
			}
		}
	}
}

// put adds h, which must be absent, at slot. The table never fills: TopK
// holds at most capacity items in eight times as many cells.
func (x *slotIndex) put(h uint64, slot int32) {
	if (x.n+1)*cellsPerItem > len(x.cells) && len(x.cells) < x.max {
		x.resize(2 * len(x.cells))
	}
	x.putCell(cellOf(h, slot))
}

func (x *slotIndex) putCell(c uint64) {
	for i := c >> x.shift; ; i = (i + 1) & x.mask {
		if x.cells[i] == 0 {
			x.cells[i] = c
			x.n++
			return
		}
	}
}

// del removes the item with hash h at slot.
func (x *slotIndex) del(h uint64, slot int32) {
	want := cellOf(h, slot)
	i := h >> x.shift
	for {
		c := x.cells[i]
		if c == 0 {
			return
		}
		if c == want {
			break
		}
		i = (i + 1) & x.mask
	}
	x.n--
	// Shift back the cells after i that would no longer be reachable.
	for j := (i + 1) & x.mask; x.cells[j] != 0; j = (j + 1) & x.mask {
		home := x.cells[j] >> x.shift
		if (j-home)&x.mask >= (j-i)&x.mask {
			x.cells[i] = x.cells[j]
			i = j
		}
	}
	x.cells[i] = 0
}

func (x *slotIndex) len() int { return x.n }

func (x *slotIndex) reset() {
	if x.n > 0 { // deletes leave no mark: an empty table is all zero
		clear(x.cells)
	}
	x.n = 0
}

func (x *slotIndex) clone() slotIndex {
	c := *x
	c.cells = append([]uint64(nil), x.cells...)
	return c
}

// each calls f for every slot held (tests use it).
func (x *slotIndex) each(f func(slot int32)) {
	for _, c := range x.cells {
		if c != 0 {
			f(cellSlot(c))
		}
	}
}
