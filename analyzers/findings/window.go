package findings

import (
	"cmp"
	"math"
	"net/netip"
	"slices"

	"github.com/visor-dns/visor/sketch"
)

// winSec is the width in seconds of a detection window. Detection has its
// own time base, whatever the report's --bucket: capture time is cut into
// windows of winSec seconds aligned on the Unix epoch, each counting per
// second; rules are judged per window, findings are placed to the second.
// A report bucket holds whole windows or parts of one; the detector joins
// the parts, so every bucket size sees the same windows.
const winSec = 10

// series counts something per second of a window.
type series [winSec]uint32

// peak returns the largest second and its index.
func (s *series) peak() (uint32, int) {
	var m uint32
	at := 0
	for i, v := range s {
		if v > m {
			m, at = v, i
		}
	}
	return m, at
}

func (s *series) add(o *series) {
	for i, v := range o {
		s[i] += v
	}
}

func (s *series) sum() uint64 {
	var n uint64
	for _, v := range s {
		n += uint64(v)
	}
	return n
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// window is the evidence of one detection window: whole-window counters
// with their per-second series, and bounded tables of zones (zone cuts,
// see cut), addresses and query prefixes.
type window struct {
	idx         int64 // start second / winSec
	first, last int64 // capture times (ns) of the first and last event seen

	queries, responses, nx, servfail, syn uint64
	qs, nxs, sfs, syns                    series
	// lookupNX is the NXDOMAIN answers of the address-lookup zone cuts a
	// summary left out of the window (see Prune).
	lookupNX uint64

	zones    map[string]*zoneStat
	addrs    map[netip.Addr]*addrStat
	prefixes map[netip.Prefix]*prefixStat
	synSrcs  *sketch.Cardinality
	qSrcs    *sketch.Cardinality // query sources
	dropped  Dropped
	memo     memo
	pool     *pool
	gen      uint64 // unique among the windows of its pool's life (see nameShape)
}

// start is the Unix time (ns) where second i of w begins.
// pool keeps the entries of emptied windows for reuse: a state is reset
// every bucket, and would otherwise make its entries and their sketches
// again each time.
type pool struct {
	gen   uint64 // the last window's gen
	wins  []*window
	zones []*zoneStat
	// named holds one released entry per zone name: the next window's
	// entry for the same cut takes it, with its sketches' tables already
	// grown to the cut's size.
	named    map[string]*zoneStat
	addrs    []*addrStat
	prefixes []*prefixStat
}

func (p *pool) window(idx int64) *window {
	var w *window
	if n := len(p.wins); n > 0 {
		w = p.wins[n-1]
		p.wins = p.wins[:n-1]
	} else {
		w = &window{zones: make(map[string]*zoneStat, 16), addrs: make(map[netip.Addr]*addrStat, 16),
			prefixes: make(map[netip.Prefix]*prefixStat, 16), synSrcs: sketch.NewGrowingCardinality(), qSrcs: sketch.NewGrowingCardinality(), pool: p}
	}
	p.gen++
	w.idx, w.first, w.last, w.gen = idx, math.MaxInt64, math.MinInt64, p.gen
	return w
}

// release empties w into p.
func (p *pool) release(w *window) {
	if p.named == nil {
		p.named = make(map[string]*zoneStat, len(w.zones))
	}
	for _, z := range w.zones {
		if p.named[z.zone] == nil && len(p.named) < 4*maxZones {
			p.named[z.zone] = z
		} else {
			p.zones = append(p.zones, z)
		}
	}
	for _, a := range w.addrs {
		p.addrs = append(p.addrs, a)
	}
	for _, x := range w.prefixes {
		p.prefixes = append(p.prefixes, x)
	}
	clear(w.zones)
	clear(w.addrs)
	clear(w.prefixes)
	w.synSrcs.Reset()
	w.qSrcs.Reset()
	*w = window{zones: w.zones, addrs: w.addrs, prefixes: w.prefixes, synSrcs: w.synSrcs, qSrcs: w.qSrcs, pool: p}
	p.wins = append(p.wins, w)
}

// within says whether w lies whole in [start, end) (ns).
func (w *window) within(start, end int64) bool {
	return w.idx*winSec*1e9 >= start && (w.idx+1)*winSec*1e9 <= end
}

// busiestZone returns w's zone cut of most queries (of equals, the first
// by name), busiestAddr its address of most by (of equals, the lowest),
// busiestPrefix its prefix of most queries (nil: none): what the detector
// keeps of a window near a flood, and so what a pruned window keeps.
func (w *window) busiestZone() *zoneStat {
	var top *zoneStat
	for _, z := range w.zones {
		if top == nil || z.q > top.q || z.q == top.q && z.zone < top.zone {
			top = z
		}
	}
	return top
}

func (w *window) busiestAddr(by func(*addrStat) uint64) *addrStat {
	var top *addrStat
	for _, a := range w.addrs {
		if top == nil || by(a) > by(top) || by(a) == by(top) && a.addr.Less(top.addr) {
			top = a
		}
	}
	return top
}

func (w *window) busiestPrefix() *prefixStat {
	var top *prefixStat
	for _, p := range w.prefixes {
		if top == nil || p.q > top.q || p.q == top.q && p.p.Addr().Less(top.p.Addr()) {
			top = p
		}
	}
	return top
}

func (w *window) seen(ts int64) {
	w.first = min(w.first, ts)
	w.last = max(w.last, ts)
}

// zoneBytes and zoneStr return the entry of a zone cut, making it when
// there is room.
func (w *window) zoneBytes(name []byte) *zoneStat {
	if z := w.zones[string(name)]; z != nil {
		return z
	}
	return w.newZone(string(name))
}

func (w *window) zoneStr(name string) *zoneStat {
	if z := w.zones[name]; z != nil {
		return z
	}
	return w.newZone(name)
}

func (w *window) newZone(name string) *zoneStat {
	if len(w.zones) >= maxZones {
		w.dropped.Zones++
		return nil
	}
	z := w.pool.zone(name)
	w.zones[name] = z
	return z
}

// newZone, newAddr and newPrefix return an empty entry, reused when a
// window released one.
func (p *pool) zone(name string) *zoneStat {
	z := p.named[name]
	if z != nil {
		delete(p.named, name)
	} else if n := len(p.zones); n > 0 {
		z = p.zones[n-1]
		p.zones = p.zones[:n-1]
	} else {
		for k, e := range p.named {
			z = e
			delete(p.named, k)
			break
		}
	}
	if z == nil {
		return &zoneStat{zone: name, names: sketch.NewGrowingCardinality(), srcs: sketch.NewGrowingCardinality()}
	}
	*z = zoneStat{zone: name, names: z.names.Fresh(), srcs: z.srcs.Fresh()}
	return z
}

func (p *pool) addr(a netip.Addr, weight uint64) *addrStat {
	n := len(p.addrs)
	if n == 0 {
		return &addrStat{addr: a, weight: weight}
	}
	e := p.addrs[n-1]
	p.addrs = p.addrs[:n-1]
	*e = addrStat{addr: a, weight: weight}
	return e
}

func (p *pool) prefix(k netip.Prefix) *prefixStat {
	n := len(p.prefixes)
	if n == 0 {
		return &prefixStat{p: k, src: sketch.NewGrowingCardinality()}
	}
	x := p.prefixes[n-1]
	p.prefixes = p.prefixes[:n-1]
	*x = prefixStat{p: k, src: x.src.Fresh()}
	return x
}

// addr returns a's entry; when the table is full the lightest entry makes
// room (its counts are dropped and counted).
func (w *window) addr(a netip.Addr) *addrStat {
	// A message's client and server come back message after message.
	l := &w.memo.last
	if e := l[0]; e != nil && e.addr == a {
		e.weight++
		return e
	}
	if e := l[1]; e != nil && e.addr == a {
		l[0], l[1] = e, l[0]
		e.weight++
		return e
	}
	e := w.addrSlot(a)
	if e != nil {
		l[0], l[1] = e, l[0]
	}
	return e
}

// addrSlot is addr past the two last addresses: through the memo's cells,
// then the map.
func (w *window) addrSlot(a netip.Addr) *addrStat {
	c := &w.memo.addrs[addrSlot(a, addrBits)]
	if *c != nil && (*c).addr == a {
		(*c).weight++
		return *c
	}
	if e := w.addrs[a]; e != nil {
		e.weight++
		*c = e
		return e
	}
	if !a.IsValid() {
		return nil
	}
	if len(w.addrs) >= maxAddrs {
		var victim *addrStat
		for _, e := range w.addrs {
			if victim == nil || e.weight < victim.weight || e.weight == victim.weight && e.addr.Less(victim.addr) {
				victim = e
			}
		}
		w.dropped.Addrs += victim.weight
		delete(w.addrs, victim.addr)
		if vc := &w.memo.addrs[addrSlot(victim.addr, addrBits)]; *vc == victim {
			*vc = nil
		}
		*victim = addrStat{addr: a, weight: 1}
		w.addrs[a] = victim
		*c = victim
		return victim
	}
	e := w.pool.addr(a, 1)
	w.addrs[a] = e
	*c = e
	return e
}

// prefixOf is the /24 of an IPv4 address or the /64 of an IPv6 one.
func prefixOf(a netip.Addr) netip.Prefix {
	bits := 64
	if a.Is4() || a.Is4In6() {
		a = a.Unmap()
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p
}

func (w *window) prefix(a netip.Addr) *prefixStat {
	if !a.IsValid() {
		return nil
	}
	k := prefixOf(a)
	c := &w.memo.prefixes[addrSlot(k.Addr(), prefixBits)]
	if *c != nil && (*c).p == k {
		return *c
	}
	if p := w.prefixes[k]; p != nil {
		*c = p
		return p
	}
	if len(w.prefixes) >= maxPrefixes {
		w.dropped.Prefixes++
		return nil
	}
	p := w.pool.prefix(k)
	w.prefixes[k] = p
	*c = p
	return p
}

// merge adds o (the same window, seen by another shard or another bucket)
// into w. o is not modified.
func (w *window) merge(o *window) {
	w.memo.clear()
	w.first = min(w.first, o.first)
	w.last = max(w.last, o.last)
	w.queries += o.queries
	w.responses += o.responses
	w.nx += o.nx
	w.servfail += o.servfail
	w.syn += o.syn
	w.lookupNX += o.lookupNX
	w.qs.add(&o.qs)
	w.nxs.add(&o.nxs)
	w.sfs.add(&o.sfs)
	w.syns.add(&o.syns)
	w.synSrcs.Merge(o.synSrcs)
	w.qSrcs.Merge(o.qSrcs)
	w.dropped.add(o.dropped)

	for k, oz := range o.zones {
		z := w.zones[k]
		if z == nil {
			z = w.pool.zone(oz.zone)
			w.zones[k] = z
		}
		z.merge(oz)
	}
	if len(w.zones) > maxZones {
		for _, z := range sortedZones(w.zones)[maxZones:] {
			w.dropped.Zones += z.q + z.r
			delete(w.zones, z.zone)
		}
	}
	for k, oa := range o.addrs {
		a := w.addrs[k]
		if a == nil {
			a = w.pool.addr(k, 0)
			w.addrs[k] = a
		}
		a.merge(oa)
	}
	if len(w.addrs) > maxAddrs {
		as := sortedAddrs(w.addrs)
		slices.SortStableFunc(as, func(a, b *addrStat) int { return cmp.Compare(b.weight, a.weight) })
		for _, a := range as[maxAddrs:] {
			w.dropped.Addrs += a.weight
			delete(w.addrs, a.addr)
		}
	}
	for k, op := range o.prefixes {
		p := w.prefixes[k]
		if p == nil {
			p = w.pool.prefix(k)
			w.prefixes[k] = p
		}
		p.q += op.q
		p.qs.add(&op.qs)
		p.src.Merge(op.src)
	}
	if len(w.prefixes) > maxPrefixes {
		ps := make([]*prefixStat, 0, len(w.prefixes))
		for _, p := range w.prefixes {
			ps = append(ps, p)
		}
		slices.SortFunc(ps, func(a, b *prefixStat) int {
			if r := cmp.Compare(b.q, a.q); r != 0 {
				return r
			}
			return a.p.Addr().Compare(b.p.Addr())
		})
		for _, p := range ps[maxPrefixes:] {
			w.dropped.Prefixes += p.q
			delete(w.prefixes, p.p)
		}
	}
	for _, a := range w.addrs {
		a.pfx, a.lastZone = nil, nil
	}
}

func sortedZones(m map[string]*zoneStat) []*zoneStat {
	zs := make([]*zoneStat, 0, len(m))
	for _, z := range m {
		zs = append(zs, z)
	}
	slices.SortFunc(zs, func(a, b *zoneStat) int {
		if r := cmp.Compare(b.q+b.r, a.q+a.r); r != 0 {
			return r
		}
		return cmp.Compare(a.zone, b.zone)
	})
	return zs
}

func sortedAddrs(m map[netip.Addr]*addrStat) []*addrStat {
	as := make([]*addrStat, 0, len(m))
	for _, a := range m {
		as = append(as, a)
	}
	slices.SortFunc(as, func(a, b *addrStat) int { return a.addr.Compare(b.addr) })
	return as
}
