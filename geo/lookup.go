package geo

import (
	"net/netip"

	"github.com/visor-dns/visor/sketch"
)

// DefaultCacheSize bounds the addresses (and, apart, the database records)
// a Lookup remembers. A full cache starts over: names never depend on it.
const DefaultCacheSize = 1 << 16

// Name is a location or an AS as the sketches count it: its text, the same
// bytes, and their sketch.Hash, made once per database record and shared
// by every address of it. Read only.
type Name struct {
	S    string
	B    []byte
	Hash uint64
}

func newName(s string) *Name {
	return &Name{S: s, B: []byte(s), Hash: sketch.Hash([]byte(s))}
}

// Names are an address's location and AS; each is nil when its database
// was not given.
type Names struct {
	Loc, ASN *Name
}

// Lookup is one goroutine's cache in front of a City and an ASN database:
// names per address, and per database record. It is not safe for
// concurrent use.
type Lookup struct {
	city, asn *DB
	// MaxAddrs bounds each cache; 0 means DefaultCacheSize.
	MaxAddrs int

	addrs           map[[16]byte]Names
	cityRec, asnRec map[uintptr]*Name
	cityUnk, asnUnk *Name
}

// NewLookup returns a Lookup over the databases given (either may be nil),
// or nil when neither is: a nil *Lookup means no geo work at all.
func NewLookup(city, asn *DB) *Lookup {
	if city == nil && asn == nil {
		return nil
	}
	return &Lookup{city: city, asn: asn}
}

// HasCity reports whether l names locations; l may be nil.
func (l *Lookup) HasCity() bool { return l != nil && l.city != nil }

// HasASN reports whether l names autonomous systems; l may be nil.
func (l *Lookup) HasASN() bool { return l != nil && l.asn != nil }

// Names returns a's location and AS. It allocates nothing for an address
// it has cached.
func (l *Lookup) Names(a netip.Addr) Names {
	k := a.As16() // IPv4 as IPv4-mapped: one key per address
	if n, ok := l.addrs[k]; ok {
		return n
	}
	limit := l.MaxAddrs
	if limit <= 0 {
		limit = DefaultCacheSize
	}
	if l.addrs == nil {
		l.addrs = make(map[[16]byte]Names)
		l.cityRec, l.asnRec = make(map[uintptr]*Name), make(map[uintptr]*Name)
		l.cityUnk, l.asnUnk = newName(Unknown), newName(Unknown)
	}
	var n Names
	q := netip.AddrFrom16(k).Unmap()
	if l.city != nil {
		n.Loc = l.city.cached(q, l.cityRec, l.cityUnk, limit)
	}
	if l.asn != nil {
		n.ASN = l.asn.cached(q, l.asnRec, l.asnUnk, limit)
	}
	if len(l.addrs) >= limit {
		clear(l.addrs)
	}
	l.addrs[k] = n
	return n
}

// cached looks a up in d, decoding a record only the first time recs sees
// its offset; unknown stands for every address d does not hold.
func (d *DB) cached(a netip.Addr, recs map[uintptr]*Name, unknown *Name, limit int) *Name {
	res := d.r.Lookup(a)
	if !res.Found() {
		return unknown
	}
	off := res.Offset()
	if n, ok := recs[off]; ok {
		return n
	}
	s := d.decode(res)
	n := unknown
	if s != Unknown {
		n = newName(s)
	}
	if len(recs) >= limit {
		clear(recs)
	}
	recs[off] = n
	return n
}
