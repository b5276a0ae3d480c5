package export

// openRow is an open query's half-row, waiting for its response.
type openRow struct {
	seq  uint32
	live bool
	rec  Record
	text []byte // rec's strings (spans from 0)
}

// maxOpenRing bounds the ring of openRows; open queries older than it
// (rare: a query unanswered while this many newer ones came) wait in a map.
const maxOpenRing = 1 << 18

// openRows holds open queries' rows by the dns Analyzer's sequence number:
// a ring indexed by the number's low bits (numbers come in order, and the
// Analyzer bounds how many are open), growing by doubling when a slot is
// still taken by an older query, and past maxOpenRing a map of those.
// Rows are kept in place with their text buffers, so a run allocates
// nothing once the ring has grown.
type openRows struct {
	ring []openRow
	old  map[uint32]*openRow
}

// put returns the (emptied) row for the new query seq.
func (t *openRows) put(seq uint32) *openRow {
	if len(t.ring) == 0 {
		t.ring = make([]openRow, 1024)
	}
	o := &t.ring[seq&uint32(len(t.ring)-1)]
	if o.live {
		if len(t.ring) < maxOpenRing {
			t.grow()
			return t.put(seq)
		}
		if t.old == nil {
			t.old = map[uint32]*openRow{}
		}
		moved := &openRow{seq: o.seq, live: true, rec: o.rec, text: append([]byte(nil), o.text...)}
		t.old[o.seq] = moved
	}
	o.seq, o.live = seq, true
	return o
}

// take returns the row of seq and frees its place (the row stays valid
// until the next put), or nil.
func (t *openRows) take(seq uint32) *openRow {
	if len(t.ring) > 0 {
		if o := &t.ring[seq&uint32(len(t.ring)-1)]; o.live && o.seq == seq {
			o.live = false
			return o
		}
	}
	if o, ok := t.old[seq]; ok {
		delete(t.old, seq)
		return o
	}
	return nil
}

func (t *openRows) grow() {
	old := t.ring
	t.ring = make([]openRow, 2*len(old))
	m := uint32(len(t.ring) - 1)
	for i := range old {
		if o := &old[i]; o.live {
			t.ring[o.seq&m] = *o
		}
	}
}
