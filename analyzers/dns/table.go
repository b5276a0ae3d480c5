package dns

// openTable holds the open queries by transaction key: open addressing
// with linear probing and backward-shift deletion, growing by doubling.
// Every query inserts and every answer deletes, and under that churn a Go
// map's tombstones slow each lookup down.
type openTable struct {
	cells []openCell // key 0 marks an empty cell (keys are remapped off 0)
	mask  uint64
	n     int
}

// openCell keeps key and value together: one cache miss a probe.
type openCell struct {
	key xactKey
	val openQuery
}

func fixKey(k xactKey) xactKey {
	if k == 0 {
		return 1
	}
	return k
}

func (t *openTable) get(k xactKey) (openQuery, bool) {
	if t.n == 0 {
		return openQuery{}, false
	}
	k = fixKey(k)
	for i := uint64(k) & t.mask; ; i = (i + 1) & t.mask {
		c := &t.cells[i]
		switch c.key {
		case 0:
			return openQuery{}, false
		case k:
			return c.val, true
		}
	}
}

// add inserts k with v unless k is there; it reports whether it inserted.
func (t *openTable) add(k xactKey, v openQuery) bool {
	if 2*(t.n+1) > len(t.cells) {
		t.grow()
	}
	k = fixKey(k)
	for i := uint64(k) & t.mask; ; i = (i + 1) & t.mask {
		c := &t.cells[i]
		switch c.key {
		case 0:
			*c = openCell{k, v}
			t.n++
			return true
		case k:
			return false
		}
	}
}

func (t *openTable) del(k xactKey) { t.take(k) }

// take removes k and returns its value, if it was there.
func (t *openTable) take(k xactKey) (openQuery, bool) {
	if t.n == 0 {
		return openQuery{}, false
	}
	k = fixKey(k)
	i := uint64(k) & t.mask
	for {
		switch t.cells[i].key {
		case 0:
			return openQuery{}, false
		case k:
		default:
			i = (i + 1) & t.mask
			continue
		}
		break
	}
	v := t.cells[i].val
	t.n--
	for j := (i + 1) & t.mask; t.cells[j].key != 0; j = (j + 1) & t.mask {
		home := uint64(t.cells[j].key) & t.mask
		if (j-home)&t.mask >= (j-i)&t.mask {
			t.cells[i] = t.cells[j]
			i = j
		}
	}
	t.cells[i] = openCell{}
	return v, true
}

func (t *openTable) grow() {
	size := max(1024, 2*len(t.cells))
	old := t.cells
	t.cells, t.mask, t.n = make([]openCell, size), uint64(size-1), 0
	for _, c := range old {
		if c.key != 0 {
			t.add(c.key, c.val)
		}
	}
}

func (t *openTable) len() int { return t.n }
