package findings

// nSlots is how many time slots a state splits its bucket into: the peak
// rates and start times of findings come from them, so a finding is placed
// to within a slot even with the default one-minute bucket.
const nSlots = 64

// clock places capture times in nSlots slots of res seconds, the window
// starting at base (a multiple of nSlots*res seconds). res is the smallest
// power of two that fits every time seen in one such aligned window, so
// the slots depend only on the set of times, never on their order or on
// how they were split between shards.
type clock struct {
	res  int64 // seconds per slot; 0 while nothing was seen
	base int64 // Unix second of slot 0
}

// slots counts something per slot.
type slots [nSlots]uint32

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// fit returns the clock that covers both c's window and second sec.
func (c clock) fit(sec int64) clock {
	if c.res == 0 {
		return clock{res: 1, base: floorDiv(sec, nSlots) * nSlots}
	}
	// Windows are aligned to their own width, so none straddles second 0:
	// a capture with times on both sides of 1970 stops widening at a width
	// no real capture reaches, and index clamps what falls outside.
	for (sec < c.base || sec >= c.base+nSlots*c.res) && c.res < 1<<40 {
		c.res *= 2
		c.base = floorDiv(c.base, nSlots*c.res) * nSlots * c.res
	}
	return c
}

// join returns the clock covering both c and o.
func (c clock) join(o clock) clock {
	if o.res == 0 {
		return c
	}
	if c.res == 0 {
		return o
	}
	n := c.fit(o.base)
	n = n.fit(o.base + nSlots*o.res - 1)
	for n.res < o.res && n.res < 1<<40 {
		n.res *= 2
		n.base = floorDiv(n.base, nSlots*n.res) * nSlots * n.res
	}
	return n
}

// index is the slot of second sec; sec must be inside the window.
func (c clock) index(sec int64) int {
	return min(max(int((sec-c.base)/c.res), 0), nSlots-1)
}

// start is the Unix time (ns) where slot i begins.
func (c clock) start(i int) int64 { return (c.base + int64(i)*c.res) * 1e9 }

// refold moves counts kept under clock from into the slots of clock to,
// which covers from's window with a resolution at least as coarse.
func (s *slots) refold(from, to clock) {
	if from == to || from.res == 0 {
		return
	}
	var n slots
	for i, v := range s {
		if v != 0 {
			n[to.index(from.base+int64(i)*from.res)] += v
		}
	}
	*s = n
}

// addFrom adds o, kept under clock oc, into s, kept under clock c.
func (s *slots) addFrom(o *slots, oc, c clock) {
	if oc.res == 0 {
		return
	}
	for i, v := range o {
		if v != 0 {
			s[c.index(oc.base+int64(i)*oc.res)] += v
		}
	}
}

// peak returns the largest slot and its index.
func (s *slots) peak() (uint32, int) {
	var m uint32
	at := 0
	for i, v := range s {
		if v > m {
			m, at = v, i
		}
	}
	return m, at
}

// span returns the first and last slot whose count reaches min (min > 0),
// or -1, -1.
func (s *slots) span(min uint32) (int, int) {
	first, last := -1, -1
	for i, v := range s {
		if v >= min && v > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	return first, last
}
