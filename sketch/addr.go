package sketch

import (
	"net/netip"

	"github.com/visor-dns/visor"
)

// AddrHashes memoises the Hash of the last two addresses' keys
// (visor.AddrKey): the packets of a conversation alternate two addresses,
// and hashing them again is most of what counting them costs. The zero
// value is ready.
type AddrHashes struct {
	m [2]struct {
		a netip.Addr
		h uint64
	}
}

// Hash returns Hash(visor.AddrKey(a)), and whether it was computed now
// rather than remembered (a caller that counts distinct addresses since its
// last Reset, with the memo reset alongside, inserts only fresh ones).
func (x *AddrHashes) Hash(a netip.Addr) (h uint64, fresh bool) {
	m := &x.m
	switch {
	case !a.IsValid(): // the empty cells hold the zero Addr
	case a == m[0].a:
		return m[0].h, false
	case a == m[1].a:
		m[0], m[1] = m[1], m[0]
		return m[0].h, false
	}
	var buf [16]byte
	m[1] = m[0]
	m[0].a, m[0].h = a, Hash(visor.AddrKey(a, &buf))
	return m[0].h, true
}

// AddAddr counts n occurrences of address a, whose key hash is h (as
// AddrHashes gives it): a's key bytes are made only when t has to store it.
func (t *TopK) AddAddr(a netip.Addr, h uint64, n uint64) {
	t.total += n
	if slot, ok := t.lookup(h); ok {
		t.bump(slot, n)
		return
	}
	var buf [16]byte
	t.insert(visor.AddrKey(a, &buf), h, n)
}
