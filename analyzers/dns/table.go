package dns

// openTable holds the open queries by transaction key: open addressing
// with linear probing and backward-shift deletion, growing by doubling.
// Every query inserts and every answer deletes, and under that churn a Go
// map's tombstones slow each lookup down.
type openTable struct {
	keys []xactKey // 0 marks an empty cell (keys are remapped off 0)
	vals []openQuery
	mask uint64
	n    int
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
		switch t.keys[i] {
		case 0:
			return openQuery{}, false
		case k:
			return t.vals[i], true
		}
	}
}

func (t *openTable) put(k xactKey, v openQuery) {
	if 2*(t.n+1) > len(t.keys) {
		t.grow()
	}
	k = fixKey(k)
	for i := uint64(k) & t.mask; ; i = (i + 1) & t.mask {
		switch t.keys[i] {
		case 0:
			t.keys[i], t.vals[i] = k, v
			t.n++
			return
		case k:
			t.vals[i] = v
			return
		}
	}
}

func (t *openTable) del(k xactKey) {
	if t.n == 0 {
		return
	}
	k = fixKey(k)
	i := uint64(k) & t.mask
	for {
		switch t.keys[i] {
		case 0:
			return
		case k:
		default:
			i = (i + 1) & t.mask
			continue
		}
		break
	}
	t.n--
	for j := (i + 1) & t.mask; t.keys[j] != 0; j = (j + 1) & t.mask {
		home := uint64(t.keys[j]) & t.mask
		if (j-home)&t.mask >= (j-i)&t.mask {
			t.keys[i], t.vals[i] = t.keys[j], t.vals[j]
			i = j
		}
	}
	t.keys[i] = 0
}

func (t *openTable) grow() {
	size := max(1024, 2*len(t.keys))
	old, oldV := t.keys, t.vals
	t.keys, t.vals, t.mask, t.n = make([]xactKey, size), make([]openQuery, size), uint64(size-1), 0
	for i, k := range old {
		if k != 0 {
			t.put(k, oldV[i])
		}
	}
}

func (t *openTable) len() int { return t.n }
