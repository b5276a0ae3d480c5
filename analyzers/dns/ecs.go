package dns

import (
	"strconv"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/decode"
	"github.com/visor-dns/visor/geo"
	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/sketch"
)

// ecsTops are the EDNS Client Subnet lists: source prefixes of queries,
// and with a database their locations and ASes. A state without Client
// Subnet traffic has none (nil).
type ecsTops struct {
	geo                   *geo.Lookup // nil: no geo work at all
	city, asn             bool        // the lists geo fills
	prefix, loc, autonomy *sketch.TopK
}

// NewGeoState returns an empty state that also names the locations and
// ASes of Client Subnet prefixes through lk (nil: as NewState). Only the
// goroutine that observes into the state may use lk.
func NewGeoState(lk *geo.Lookup) *State {
	s := NewState()
	s.ecs = ecsTops{geo: lk, city: lk.HasCity(), asn: lk.HasASN()}
	return s
}

// observeECS counts a query's Client Subnet prefix.
func (s *State) observeECS(v *decode.DNS) {
	if !v.ECSAddr.IsValid() {
		return
	}
	e := &s.ecs
	if e.prefix == nil {
		e.alloc()
	}
	var buf [17]byte // the address's bytes (AddrKey writes into buf), then the prefix length
	k := visor.AddrKey(v.ECSAddr, (*[16]byte)(buf[:16]))
	buf[len(k)] = v.ECSSource
	e.prefix.Add(buf[:len(k)+1], 1)
	if e.geo != nil {
		n := e.geo.Names(v.ECSAddr)
		if n.Loc != nil {
			e.loc.AddHash(n.Loc.B, n.Loc.Hash, 1)
		}
		if n.ASN != nil {
			e.autonomy.AddHash(n.ASN.B, n.ASN.Hash, 1)
		}
	}
}

func (e *ecsTops) alloc() {
	e.prefix = sketch.NewTopK(TopCapacity)
	if e.city {
		e.loc = sketch.NewTopK(TopCapacity)
	}
	if e.asn {
		e.autonomy = sketch.NewTopK(TopCapacity)
	}
}

func (e *ecsTops) merge(o *ecsTops) {
	if o.prefix == nil {
		return
	}
	if e.prefix == nil {
		e.city, e.asn = e.city || o.city, e.asn || o.asn
		e.alloc()
	}
	e.prefix.Merge(o.prefix)
	if e.loc != nil && o.loc != nil {
		e.loc.Merge(o.loc)
	}
	if e.autonomy != nil && o.autonomy != nil {
		e.autonomy.Merge(o.autonomy)
	}
}

func (e *ecsTops) reset() {
	for _, t := range []*sketch.TopK{e.prefix, e.loc, e.autonomy} {
		if t != nil {
			t.Reset()
		}
	}
}

// topOf renders t, or nothing when t is nil.
func topOf(t *sketch.TopK, n int, name func(string) string) []report.TopItem {
	if t == nil {
		return nil
	}
	return report.TopItems(t, n, name)
}

// ecsName turns a key of observeECS (address bytes, then the prefix
// length) into "198.51.100.0/24".
func ecsName(k string) string {
	if len(k) == 0 {
		return k
	}
	return visor.AddrName(k[:len(k)-1]) + "/" + strconv.Itoa(int(k[len(k)-1]))
}
