package findings

import (
	"cmp"
	"math"
	"net/netip"
	"slices"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/decode"
	"github.com/visor-dns/visor/sketch"
)

// Bounds of one shard's (or one merged bucket's) state. What they leave out
// is counted in Dropped.
const (
	maxZones    = 256 // zones; a full shard table takes no new zone, a merge keeps the busiest
	maxAddrs    = 256 // addresses; the lightest makes room for a new one
	maxPrefixes = 256 // /24 and /64 query sources; like zones
	topAddrs    = 64  // tracked sources per zone (exact up to this many)
	// bigAnswer is the size from which a UDP response counts as large for
	// the reflection detector.
	bigAnswer = 1024
)

// DNS types the detectors look at.
const (
	typeCNAME = 5
	typeNULL  = 10
	typeMX    = 15
	typeTXT   = 16
	typeANY   = 255
)

// State is one shard's (or a bucket's merged) evidence. It merges: a merged
// state is the same whatever the number of shards, as long as no bound was
// reached.
type State struct {
	clk clock

	// Whole-bucket counters.
	queries, responses, nx, servfail, syn uint64
	qs, nxs, sfs, syns                    slots

	zones    map[string]*zoneStat
	addrs    map[netip.Addr]*addrStat
	prefixes map[netip.Prefix]*prefixStat
	synSrcs  *sketch.Cardinality
	// The entries of the tables before the last Reset, for reuse: a state
	// is reset every bucket, and a run of many buckets would otherwise
	// make its entries and their sketches again each time.
	freeZones    []*zoneStat
	freeAddrs    []*addrStat
	freePrefixes []*prefixStat

	// Dropped counts what the bounds left out.
	Dropped Dropped

	// slot's memo: the second starting at secLo (ns) falls in slot
	// secIdx of clk; MaxInt64 when unset.
	secLo  int64
	secIdx int
	cache  zoneCache // survives Reset: it belongs to the shard
	memo   memo
	shapes *[shapeMemo]nameShape // survives Reset, as cache
	keyb   [16]byte
	cnt    [256]uint16 // entropy work space, all zero between calls
}

// Dropped counts messages and packets whose zone, address or prefix was
// not tracked because a table was full.
type Dropped struct {
	Zones, Addrs, Prefixes uint64
}

// zoneStat is a zone's evidence in a bucket: queries are counted for
// names in the zone, responses by their question's name.
type zoneStat struct {
	zone                        string
	q, r                        uint64
	nx, sf, refused             uint64
	qBytes, rBytes              uint64
	udp, tcp, v4, v6            uint64 // of queries
	dataTypes                   uint64 // TXT, NULL, CNAME and MX queries
	labelN                      uint64 // queries with labels under the zone
	subLen, maxLabel, entropyMb uint64 // sums over those queries; entropy in millibits
	names, srcs                 *sketch.Cardinality
	top                         addrTop
	qs                          slots
}

// addrStat is one address's evidence in a bucket, as client, server or
// TCP endpoint.
type addrStat struct {
	addr                  netip.Addr
	weight                uint64
	q, qBytes, anyQ       uint64 // queries it sent
	r, rBytes, big, nxGot uint64 // responses it received
	qRecv                 uint64 // queries it received
	rSent, nxSent, sfSent uint64 // responses it sent
	syn, synAck, synSent  uint64 // SYNs it received, SYN-ACKs it sent, SYNs it sent
	qs, rbs, syns         slots  // queries sent, response bytes received, SYNs received
	// Shortcuts of a shard's state, as a query source: its prefix (which
	// holds it in its source count already) and the last zone whose source
	// count it entered. Merge clears them.
	pfx      *prefixStat
	lastZone *zoneStat
	topIdx   int // its index in lastZone's top sources
}

// prefixStat counts the queries of a /24 (IPv4) or /64 (IPv6).
type prefixStat struct {
	p   netip.Prefix
	q   uint64
	qs  slots
	src *sketch.Cardinality
}

// NewState returns an empty state.
func NewState() *State {
	s := &State{}
	s.Reset()
	return s
}

// Reset empties s for reuse (its zone cache stays).
func (s *State) Reset() {
	*s = State{secLo: math.MaxInt64, cache: s.cache, shapes: s.shapes, zones: s.zones, addrs: s.addrs, prefixes: s.prefixes, synSrcs: s.synSrcs,
		freeZones: s.freeZones, freeAddrs: s.freeAddrs, freePrefixes: s.freePrefixes} // and an empty memo
	for _, z := range s.zones {
		s.freeZones = append(s.freeZones, z)
	}
	for _, a := range s.addrs {
		s.freeAddrs = append(s.freeAddrs, a)
	}
	for _, p := range s.prefixes {
		s.freePrefixes = append(s.freePrefixes, p)
	}
	if s.zones == nil {
		s.shapes = new([shapeMemo]nameShape)
		s.zones = make(map[string]*zoneStat, 16)
		s.addrs = make(map[netip.Addr]*addrStat, 16)
		s.prefixes = make(map[netip.Prefix]*prefixStat, 16)
		s.synSrcs = sketch.NewCardinality()
	}
	clear(s.zones)
	clear(s.addrs)
	clear(s.prefixes)
	s.synSrcs.Reset()
}

// slot moves the clock to cover ts (refolding every series when it has to
// widen) and returns ts's slot.
func (s *State) slot(ts int64) int {
	if ts >= s.secLo && ts-s.secLo < 1e9 { // the second of the last call
		return s.secIdx
	}
	sec := floorDiv(ts, 1e9)
	n := s.clk.fit(sec)
	if n != s.clk {
		s.refold(n)
	}
	s.secLo, s.secIdx = sec*1e9, n.index(sec)
	return s.secIdx
}

func (s *State) refold(n clock) {
	s.secLo = math.MaxInt64 // the slot memo no longer holds
	o := s.clk
	for _, sl := range []*slots{&s.qs, &s.nxs, &s.sfs, &s.syns} {
		sl.refold(o, n)
	}
	for _, z := range s.zones {
		z.qs.refold(o, n)
	}
	for _, a := range s.addrs {
		a.qs.refold(o, n)
		a.rbs.refold(o, n)
		a.syns.refold(o, n)
	}
	for _, p := range s.prefixes {
		p.qs.refold(o, n)
	}
	s.clk = n
}

// ObserveFrame sees every packet: it counts TCP SYNs.
func (s *State) ObserveFrame(f *visor.Frame, dir visor.Direction) {
	if f.Proto != visor.TransportTCP || f.IPVersion == 0 || f.Fragment {
		return
	}
	const synFlag, ackFlag = 0x02, 0x10
	switch f.TCPFlags & (synFlag | ackFlag) {
	case synFlag:
		i := s.slot(f.TS)
		s.syn++
		s.syns[i]++
		s.synSrcs.Insert(visor.AddrKey(f.Src, &s.keyb))
		if a := s.addr(f.Dst); a != nil {
			a.syn++
			a.syns[i]++
		}
		if a := s.addr(f.Src); a != nil {
			a.synSent++
		}
	case synFlag | ackFlag:
		if a := s.addr(f.Src); a != nil {
			a.synAck++
		}
	}
}

// ObserveDNS sees every DNS message with its parsed view; qh is
// sketch.Hash of its question's name.
func (s *State) ObserveDNS(m *visor.Message, v *decode.DNS, qh uint64, dir visor.Direction) {
	i := s.slot(m.TS)
	wire := uint64(max(m.WireLen, 0))
	var z *zoneStat
	var name []byte
	if v.HasQuestion {
		name = v.QName()
		z = s.zoneOf(v)
	}
	if !v.Response() {
		s.queries++
		s.qs[i]++
		src := s.addr(m.Src)
		if src != nil {
			src.q++
			src.qBytes += wire
			src.qs[i]++
			if v.QType == typeANY {
				src.anyQ++
			}
		}
		if a := s.addr(m.Dst); a != nil {
			a.qRecv++
		}
		s.prefixQuery(src, m.Src, i)
		if z != nil {
			s.zoneQuery(z, src, m, v, name, qh, i)
		}
		return
	}
	s.responses++
	rc := v.Rcode()
	switch rc {
	case 2:
		s.servfail++
		s.sfs[i]++
	case 3:
		s.nx++
		s.nxs[i]++
	}
	if a := s.addr(m.Dst); a != nil {
		a.r++
		a.rBytes += wire
		a.rbs[i] += uint32(min(wire, math.MaxUint32))
		if m.Transport == visor.TransportUDP && (v.QType == typeANY || wire >= bigAnswer) {
			a.big++
		}
		if rc == 3 {
			a.nxGot++
		}
	}
	if a := s.addr(m.Src); a != nil {
		a.rSent++
		switch rc {
		case 2:
			a.sfSent++
		case 3:
			a.nxSent++
		}
	}
	if z != nil {
		z.r++
		z.rBytes += wire
		switch rc {
		case 2:
			z.sf++
		case 3:
			z.nx++
		case 5:
			z.refused++
		}
	}
}

// prefixQuery counts a query from a in its prefix; src is a's stat (nil
// when the address table had no room).
func (s *State) prefixQuery(src *addrStat, a netip.Addr, i int) {
	var p *prefixStat
	if src != nil {
		p = src.pfx
	}
	if p == nil {
		if p = s.prefix(a); p == nil {
			return
		}
		// A source enters its prefix's distinct count once.
		p.src.Insert(visor.AddrKey(a, &s.keyb))
		if src != nil {
			src.pfx = p
		}
	}
	p.q++
	p.qs[i]++
}

func (s *State) zoneQuery(z *zoneStat, src *addrStat, m *visor.Message, v *decode.DNS, name []byte, qh uint64, i int) {
	z.q++
	z.qBytes += uint64(max(m.WireLen, 0))
	z.qs[i]++
	z.names.InsertHash(qh)
	if src != nil && src.lastZone == z {
		// Counted in z.srcs already; its top entry is where it was,
		// unless another source took that place.
		if e := &z.top.e[src.topIdx]; e.a == m.Src {
			e.n++
		} else {
			src.topIdx = z.top.add(m.Src, 1)
		}
	} else {
		z.srcs.Insert(visor.AddrKey(m.Src, &s.keyb))
		idx := z.top.add(m.Src, 1)
		if src != nil {
			src.lastZone, src.topIdx = z, idx
		}
	}
	if m.Transport == visor.TransportTCP {
		z.tcp++
	} else {
		z.udp++
	}
	if m.IPVersion == 6 {
		z.v6++
	} else {
		z.v4++
	}
	switch v.QType {
	case typeTXT, typeNULL, typeCNAME, typeMX:
		z.dataTypes++
	}
	if len(name) > len(z.zone)+1 && z.zone != "." {
		sub := name[:len(name)-len(z.zone)-1]
		z.labelN++
		z.subLen += uint64(len(sub))
		// Label shape depends on the name alone (its zone is a function of
		// it): names that repeat take it from the memo.
		c := &s.shapes[qh&(shapeMemo-1)]
		if c.qh != qh || c.sub != len(sub) {
			longest, entropyMb := s.shape(sub)
			*c = nameShape{qh: qh, sub: len(sub), longest: longest, entropyMb: entropyMb}
		}
		z.maxLabel += uint64(c.longest)
		z.entropyMb += c.entropyMb
	}
}

// shape measures the labels b (a name's part under its zone): the length
// of the longest, and the Shannon entropy of their bytes (dots left out)
// in millibits a byte (an integer, so that sums do not depend on order).
// One pass over b, then one over its distinct bytes.
func (s *State) shape(b []byte) (longest int, entropyMb uint64) {
	cnt := &s.cnt
	n, run := 0, 0
	for _, c := range b {
		if c == '.' {
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
		cnt[c]++
		n++
	}
	if n == 0 {
		return longest, 0
	}
	// H = log2 n - (1/n) Σ k log2 k, with k log2 k from a table. A second
	// pass meets each distinct byte first with its count, and clears it.
	sum := 0.0
	for _, c := range b {
		if k := cnt[c]; k != 0 {
			sum += klog2k(int(k))
			cnt[c] = 0
		}
	}
	h := klog2k(n)/float64(n) - sum/float64(n)
	return longest, uint64(math.Round(max(h, 0) * 1000))
}

// klogTable holds k·log2(k) for the counts a name's bytes can reach.
var klogTable = func() (t [1025]float64) {
	for k := 1; k < len(t); k++ {
		t[k] = float64(k) * math.Log2(float64(k))
	}
	return t
}()

func klog2k(k int) float64 {
	if k < len(klogTable) {
		return klogTable[k]
	}
	return float64(k) * math.Log2(float64(k))
}

// zone returns the zone's entry, making it when there is room.
// zoneOf returns the stat of name's zone, or nil when the table is full.
// A name whose zone is its last two labels (most are) is looked up in the
// memo by those labels first.
func (s *State) zoneOf(v *decode.DNS) *zoneStat {
	name := v.QName()
	suf := v.QNameSuffix(2)
	if suf == nil {
		return s.zone(s.cache.zone(name))
	}
	if len(suf) < len(name) {
		suf = suf[1:] // its leading dot
	}
	c := &s.memo.zones[zoneSlot(suf)]
	if *c != nil && (*c).zone == string(suf) {
		return *c
	}
	z := s.zone(s.cache.zone(name))
	if z != nil && z.zone == string(suf) {
		*c = z
	}
	return z
}

func (s *State) zone(name string) *zoneStat {
	if z := s.zones[name]; z != nil {
		return z
	}
	if len(s.zones) >= maxZones {
		s.Dropped.Zones++
		return nil
	}
	z := s.newZone(name)
	s.zones[name] = z
	return z
}

// newZone, newAddr and newPrefix return an empty entry, reused when Reset
// left one.
func (s *State) newZone(name string) *zoneStat {
	n := len(s.freeZones)
	if n == 0 {
		return &zoneStat{zone: name, names: sketch.NewCardinality(), srcs: sketch.NewCardinality()}
	}
	z := s.freeZones[n-1]
	s.freeZones = s.freeZones[:n-1]
	*z = zoneStat{zone: name, names: z.names.Fresh(), srcs: z.srcs.Fresh()}
	return z
}

func (s *State) newAddr(a netip.Addr, weight uint64) *addrStat {
	n := len(s.freeAddrs)
	if n == 0 {
		return &addrStat{addr: a, weight: weight}
	}
	e := s.freeAddrs[n-1]
	s.freeAddrs = s.freeAddrs[:n-1]
	*e = addrStat{addr: a, weight: weight}
	return e
}

func (s *State) newPrefix(k netip.Prefix) *prefixStat {
	n := len(s.freePrefixes)
	if n == 0 {
		return &prefixStat{p: k, src: sketch.NewCardinality()}
	}
	p := s.freePrefixes[n-1]
	s.freePrefixes = s.freePrefixes[:n-1]
	*p = prefixStat{p: k, src: p.src.Fresh()}
	return p
}

// addr returns a's entry; when the table is full the lightest entry makes
// room (its counts are dropped and counted).
func (s *State) addr(a netip.Addr) *addrStat {
	// A message's client and server come back message after message.
	l := &s.memo.last
	if e := l[0]; e != nil && e.addr == a {
		e.weight++
		return e
	}
	if e := l[1]; e != nil && e.addr == a {
		l[0], l[1] = e, l[0]
		e.weight++
		return e
	}
	e := s.addrSlot(a)
	if e != nil {
		l[0], l[1] = e, l[0]
	}
	return e
}

// addrSlot is addr past the two last addresses: through the memo's cells,
// then the map.
func (s *State) addrSlot(a netip.Addr) *addrStat {
	c := &s.memo.addrs[addrSlot(a, addrBits)]
	if *c != nil && (*c).addr == a {
		(*c).weight++
		return *c
	}
	if e := s.addrs[a]; e != nil {
		e.weight++
		*c = e
		return e
	}
	if !a.IsValid() {
		return nil
	}
	if len(s.addrs) >= maxAddrs {
		var victim *addrStat
		for _, e := range s.addrs {
			if victim == nil || e.weight < victim.weight || e.weight == victim.weight && e.addr.Less(victim.addr) {
				victim = e
			}
		}
		s.Dropped.Addrs += victim.weight
		delete(s.addrs, victim.addr)
		if vc := &s.memo.addrs[addrSlot(victim.addr, addrBits)]; *vc == victim {
			*vc = nil
		}
		*victim = addrStat{addr: a, weight: 1}
		s.addrs[a] = victim
		*c = victim
		return victim
	}
	e := s.newAddr(a, 1)
	s.addrs[a] = e
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

func (s *State) prefix(a netip.Addr) *prefixStat {
	if !a.IsValid() {
		return nil
	}
	k := prefixOf(a)
	c := &s.memo.prefixes[addrSlot(k.Addr(), prefixBits)]
	if *c != nil && (*c).p == k {
		return *c
	}
	if p := s.prefixes[k]; p != nil {
		*c = p
		return p
	}
	if len(s.prefixes) >= maxPrefixes {
		s.Dropped.Prefixes++
		return nil
	}
	p := s.newPrefix(k)
	s.prefixes[k] = p
	*c = p
	return p
}

// Merge adds o into s. o is not modified.
func (s *State) Merge(o *State) {
	if o == nil || o == s {
		return
	}
	s.memo.clear()
	if n := s.clk.join(o.clk); n != s.clk {
		s.refold(n)
	}
	c, oc := s.clk, o.clk
	s.queries += o.queries
	s.responses += o.responses
	s.nx += o.nx
	s.servfail += o.servfail
	s.syn += o.syn
	s.qs.addFrom(&o.qs, oc, c)
	s.nxs.addFrom(&o.nxs, oc, c)
	s.sfs.addFrom(&o.sfs, oc, c)
	s.syns.addFrom(&o.syns, oc, c)
	s.synSrcs.Merge(o.synSrcs)
	s.Dropped.Zones += o.Dropped.Zones
	s.Dropped.Addrs += o.Dropped.Addrs
	s.Dropped.Prefixes += o.Dropped.Prefixes

	for k, oz := range o.zones {
		z := s.zones[k]
		if z == nil {
			z = s.newZone(oz.zone)
			s.zones[k] = z
		}
		z.merge(oz, oc, c)
	}
	if len(s.zones) > maxZones {
		for _, z := range sortedZones(s.zones)[maxZones:] {
			s.Dropped.Zones += z.q + z.r
			delete(s.zones, z.zone)
		}
	}
	for k, oa := range o.addrs {
		a := s.addrs[k]
		if a == nil {
			a = s.newAddr(k, 0)
			s.addrs[k] = a
		}
		a.merge(oa, oc, c)
	}
	if len(s.addrs) > maxAddrs {
		as := sortedAddrs(s.addrs)
		slices.SortStableFunc(as, func(a, b *addrStat) int { return cmp.Compare(b.weight, a.weight) })
		for _, a := range as[maxAddrs:] {
			s.Dropped.Addrs += a.weight
			delete(s.addrs, a.addr)
		}
	}
	for k, op := range o.prefixes {
		p := s.prefixes[k]
		if p == nil {
			p = s.newPrefix(k)
			s.prefixes[k] = p
		}
		p.q += op.q
		p.qs.addFrom(&op.qs, oc, c)
		p.src.Merge(op.src)
	}
	if len(s.prefixes) > maxPrefixes {
		ps := make([]*prefixStat, 0, len(s.prefixes))
		for _, p := range s.prefixes {
			ps = append(ps, p)
		}
		slices.SortFunc(ps, func(a, b *prefixStat) int {
			if r := cmp.Compare(b.q, a.q); r != 0 {
				return r
			}
			return a.p.Addr().Compare(b.p.Addr())
		})
		for _, p := range ps[maxPrefixes:] {
			s.Dropped.Prefixes += p.q
			delete(s.prefixes, p.p)
		}
	}
	for _, a := range s.addrs {
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

func (z *zoneStat) merge(o *zoneStat, oc, c clock) {
	z.q += o.q
	z.r += o.r
	z.nx += o.nx
	z.sf += o.sf
	z.refused += o.refused
	z.qBytes += o.qBytes
	z.rBytes += o.rBytes
	z.udp += o.udp
	z.tcp += o.tcp
	z.v4 += o.v4
	z.v6 += o.v6
	z.dataTypes += o.dataTypes
	z.labelN += o.labelN
	z.subLen += o.subLen
	z.maxLabel += o.maxLabel
	z.entropyMb += o.entropyMb
	z.names.Merge(o.names)
	z.srcs.Merge(o.srcs)
	z.top.merge(&o.top)
	z.qs.addFrom(&o.qs, oc, c)
}

func (a *addrStat) merge(o *addrStat, oc, c clock) {
	a.weight += o.weight
	a.q += o.q
	a.qBytes += o.qBytes
	a.anyQ += o.anyQ
	a.r += o.r
	a.rBytes += o.rBytes
	a.big += o.big
	a.nxGot += o.nxGot
	a.qRecv += o.qRecv
	a.rSent += o.rSent
	a.nxSent += o.nxSent
	a.sfSent += o.sfSent
	a.syn += o.syn
	a.synAck += o.synAck
	a.synSent += o.synSent
	a.qs.addFrom(&o.qs, oc, c)
	a.rbs.addFrom(&o.rbs, oc, c)
	a.syns.addFrom(&o.syns, oc, c)
}

// addrTop is a small SpaceSaving of addresses: exact while it has seen at
// most topAddrs of them.
type addrTop struct {
	n int
	e [topAddrs]addrCount
}

type addrCount struct {
	a netip.Addr
	n uint64
}

// add counts n for a and returns a's index in t.e.
func (t *addrTop) add(a netip.Addr, n uint64) int {
	for i := 0; i < t.n; i++ {
		if t.e[i].a == a {
			t.e[i].n += n
			return i
		}
	}
	if t.n < topAddrs {
		t.e[t.n] = addrCount{a, n}
		t.n++
		return t.n - 1
	}
	m := 0
	for i := 1; i < t.n; i++ {
		if t.e[i].n < t.e[m].n || t.e[i].n == t.e[m].n && t.e[i].a.Less(t.e[m].a) {
			m = i
		}
	}
	t.e[m] = addrCount{a, t.e[m].n + n}
	return m
}

func (t *addrTop) merge(o *addrTop) {
	all := make([]addrCount, 0, t.n+o.n)
	all = append(all, t.e[:t.n]...)
	for _, oc := range o.e[:o.n] {
		if j := slices.IndexFunc(all, func(c addrCount) bool { return c.a == oc.a }); j >= 0 {
			all[j].n += oc.n
		} else {
			all = append(all, oc)
		}
	}
	sortCounts(all)
	t.n = copy(t.e[:], all)
}

func sortCounts(cs []addrCount) {
	slices.SortFunc(cs, func(a, b addrCount) int {
		if r := cmp.Compare(b.n, a.n); r != 0 {
			return r
		}
		return a.a.Compare(b.a)
	})
}

// list returns the k largest, largest first.
func (t *addrTop) list(k int) []addrCount {
	cs := slices.Clone(t.e[:t.n])
	sortCounts(cs)
	return cs[:min(k, len(cs))]
}
