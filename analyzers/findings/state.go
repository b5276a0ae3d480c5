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

// Bounds of one window's tables, in a shard or merged. What they leave out
// is counted in Dropped.
const (
	maxZones    = 256 // zone cuts; a full shard table takes no new one, a merge keeps the busiest
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
	typePTR   = 12
	typeTXT   = 16
	typeANY   = 255
)

// State is one shard's (or a bucket's merged) evidence: the detection
// windows the bucket touched. It merges: a merged state is the same
// whatever the number of shards, as long as no bound was reached.
type State struct {
	wins []*window // in the order they were first seen
	// base holds the baseline sums of the zone cuts a summary left out of
	// its windows (see Prune): read back, merged, and added by the
	// detector as follow adds a window's cuts.
	base baseSums
	cur  *window
	pool pool

	// at's memo: the second starting at secLo (ns) is second secIdx of
	// cur; MaxInt64 when unset.
	secLo  int64
	secIdx int
	cache  zoneCache // survives Reset: it belongs to the shard
	shapes *[shapeMemo]nameShape
	keyb   [16]byte
	cnt    [256]uint16 // entropy work space, all zero between calls
}

// Dropped counts messages and packets whose zone, address or prefix was
// not tracked because a table was full.
type Dropped struct {
	Zones, Addrs, Prefixes uint64
}

func (d *Dropped) add(o Dropped) {
	d.Zones += o.Zones
	d.Addrs += o.Addrs
	d.Prefixes += o.Prefixes
}

// zoneStat is a zone cut's evidence in a window: queries are counted for
// names under the cut, responses by their question's name.
type zoneStat struct {
	zone                        string
	q, r                        uint64
	nx, sf, refused             uint64
	qBytes, rBytes              uint64
	udp, tcp, v4, v6            uint64 // of queries
	dataTypes                   uint64 // TXT, NULL, CNAME and MX queries
	lookups                     uint64 // PTR queries and names that are a reversed address (DNSBL)
	labelN                      uint64 // queries with labels under the cut
	subLen, maxLabel, entropyMb uint64 // sums over those queries; entropy in millibits
	names, srcs                 *sketch.Cardinality
	sample                      nameSample
	top                         addrTop
	qs                          series
	fails                       series // NXDOMAIN and SERVFAIL answers
}

// addrStat is one address's evidence in a window, as client, server or
// TCP endpoint.
type addrStat struct {
	addr                  netip.Addr
	weight                uint64
	q, qBytes, anyQ       uint64 // queries it sent
	r, rBytes, big, nxGot uint64 // responses it received
	qRecv                 uint64 // queries it received
	rSent, nxSent, sfSent uint64 // responses it sent
	syn, synAck, synSent  uint64 // SYNs it received, SYN-ACKs it sent, SYNs it sent
	ackIn                 uint64 // TCP segments with ACK (no SYN, no RST) it received
	qs, rbs, syns         series // queries sent, response bytes received, SYNs received
	// Shortcuts of a shard's window, as a query source: its prefix (which
	// holds it in its source count already) and the last zone whose source
	// count it entered. Merge clears them.
	pfx      *prefixStat
	lastZone *zoneStat
	topIdx   int    // its index in lastZone's top sources
	h        uint64 // sketch.Hash of its address as a source key; 0: not yet
}

// prefixStat counts the queries of a /24 (IPv4) or /64 (IPv6).
type prefixStat struct {
	p    netip.Prefix
	q    uint64
	qs   series
	src  *sketch.Cardinality
	srcN uint64 // in a detector's copy: src's estimate (src is nil)
}

// NewState returns an empty state.
func NewState() *State {
	s := &State{shapes: new([shapeMemo]nameShape)}
	s.Reset()
	return s
}

// Reset empties s for reuse (its zone cache stays).
func (s *State) Reset() {
	for _, w := range s.wins {
		s.pool.release(w)
	}
	s.wins = s.wins[:0]
	s.base.reset()
	s.cur = nil
	s.secLo = math.MaxInt64
}

// window returns s's window idx, making it when needed.
func (s *State) window(idx int64) *window {
	for i := len(s.wins) - 1; i >= 0; i-- {
		if s.wins[i].idx == idx {
			return s.wins[i]
		}
	}
	w := s.pool.window(idx)
	s.wins = append(s.wins, w)
	return w
}

// at returns the window of ts and ts's second in it.
func (s *State) at(ts int64) (*window, int) {
	if ts >= s.secLo && ts-s.secLo < 1e9 { // the second of the last call
		s.cur.seen(ts)
		return s.cur, s.secIdx
	}
	sec := floorDiv(ts, 1e9)
	idx := floorDiv(sec, winSec)
	w := s.cur
	if w == nil || w.idx != idx {
		w = s.window(idx)
		s.cur = w
	}
	s.secLo, s.secIdx = sec*1e9, int(sec-idx*winSec)
	w.seen(ts)
	return w, s.secIdx
}

// ObserveFrame sees every packet: it counts TCP SYNs, SYN-ACKs and the
// segments that complete or use a handshake.
func (s *State) ObserveFrame(f *visor.Frame, dir visor.Direction) {
	if f.Proto != visor.TransportTCP || f.IPVersion == 0 || f.Fragment {
		return
	}
	const synFlag, rstFlag, ackFlag = 0x02, 0x04, 0x10
	switch f.TCPFlags & (synFlag | rstFlag | ackFlag) {
	case synFlag:
		w, i := s.at(f.TS)
		w.syn++
		w.syns[i]++
		w.synSrcs.Insert(visor.AddrKey(f.Src, &s.keyb))
		if a := w.addr(f.Dst); a != nil {
			a.syn++
			a.syns[i]++
		}
		if a := w.addr(f.Src); a != nil {
			a.synSent++
		}
	case synFlag | ackFlag:
		w, _ := s.at(f.TS)
		if a := w.addr(f.Src); a != nil {
			a.synAck++
		}
	case ackFlag:
		w, _ := s.at(f.TS)
		if a := w.addr(f.Dst); a != nil {
			a.ackIn++
		}
	}
}

// ObserveDNS sees every DNS message with its parsed view; qh is
// sketch.Hash of its question's name.
func (s *State) ObserveDNS(m *visor.Message, v *decode.DNS, qh uint64, dir visor.Direction) {
	w, i := s.at(m.TS)
	wire := uint64(max(m.WireLen, 0))
	var z *zoneStat
	var name []byte
	var c *nameShape
	off, seen := 0, false
	if v.HasQuestion {
		name = v.QName()
		c = &s.shapes[qh&(shapeMemo-1)]
		if c.qh == qh && c.gen == w.gen && int(c.nlen) == len(name) {
			// Asked before in this window: its cut's distinct names and
			// sample have it already.
			z, off, seen = c.z, int(c.off), true
		} else {
			z, off = s.zoneOf(w, v)
		}
	}
	if !v.Response() {
		w.queries++
		w.qs[i]++
		src := w.addr(m.Src)
		if src != nil {
			if src.q == 0 { // a source new to the window (or to its entry)
				if src.h == 0 {
					src.h = sketch.Hash(visor.AddrKey(m.Src, &s.keyb))
				}
				w.qSrcs.InsertHash(src.h)
			}
			src.q++
			src.qBytes += wire
			src.qs[i]++
			if v.QType == typeANY {
				src.anyQ++
			}
		}
		if a := w.addr(m.Dst); a != nil {
			a.qRecv++
		}
		s.prefixQuery(w, src, m.Src, i)
		if z != nil {
			s.zoneQuery(w, z, src, m, v, name, off, qh, i, c, seen)
		}
		return
	}
	w.responses++
	rc := v.Rcode()
	switch rc {
	case 2:
		w.servfail++
		w.sfs[i]++
	case 3:
		w.nx++
		w.nxs[i]++
	}
	if a := w.addr(m.Dst); a != nil {
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
	if a := w.addr(m.Src); a != nil {
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
			z.fails[i]++
		case 3:
			z.nx++
			z.fails[i]++
		case 5:
			z.refused++
		}
		if (rc == 2 || rc == 3) && off > 1 {
			// Offered to the sample as well: its query may lie in another
			// piece of the capture (a merge then joins them). A name asked
			// in this window is in the sample already, and once marked
			// failed stays so.
			if !seen {
				z.sample.insert(qh, m.TS, name[:off-1])
				z.sample.fail(qh)
			} else if !c.failed {
				z.sample.fail(qh)
				c.failed = true
			}
		}
	}
}

// prefixQuery counts a query from a in its prefix; src is a's stat (nil
// when the address table had no room).
func (s *State) prefixQuery(w *window, src *addrStat, a netip.Addr, i int) {
	var p *prefixStat
	if src != nil {
		p = src.pfx
	}
	if p == nil {
		if p = w.prefix(a); p == nil {
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

// zoneQuery counts a query under zone cut z; name[:off-1] is the part of
// the name under the cut (off 0: none).
// c is the name's memo cell, seen whether it says the name was asked in w
// already (then z's distinct names and sample have it).
func (s *State) zoneQuery(w *window, z *zoneStat, src *addrStat, m *visor.Message, v *decode.DNS, name []byte, off int, qh uint64, i int, c *nameShape, seen bool) {
	z.q++
	z.qBytes += uint64(max(m.WireLen, 0))
	z.qs[i]++
	if !seen {
		z.names.InsertHash(qh)
	}
	if src != nil && src.lastZone == z {
		// Counted in z.srcs already; its top entry is where it was,
		// unless another source took that place.
		if e := &z.top.e[src.topIdx]; e.a == m.Src {
			e.n++
		} else {
			src.topIdx = z.top.add(m.Src, 1)
		}
	} else {
		if src != nil {
			if src.h == 0 {
				src.h = sketch.Hash(visor.AddrKey(m.Src, &s.keyb))
			}
			z.srcs.InsertHash(src.h)
		} else {
			z.srcs.Insert(visor.AddrKey(m.Src, &s.keyb))
		}
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
	if off > 1 {
		sub := name[:off-1]
		z.labelN++
		z.subLen += uint64(len(sub))
		// Label shape depends on the name alone (its cut is a function of
		// it): names that repeat take it from the memo.
		if c.qh != qh || int(c.sub) != len(sub) {
			longest, entropyMb := s.shape(sub)
			*c = nameShape{qh: qh, sub: int16(len(sub)), longest: int16(longest), entropyMb: uint32(entropyMb), addr: addrShaped(sub)}
		}
		z.maxLabel += uint64(c.longest)
		z.entropyMb += uint64(c.entropyMb)
		if !seen && z.sample.wants(qh) {
			if !c.randKnown {
				c.random, c.randKnown = randomFirst(sub), true
			}
			z.sample.insertShaped(qh, m.TS, c.random)
		}
	} else if !seen && c.qh != qh {
		*c = nameShape{qh: qh, sub: -1}
	}
	if v.QType == typePTR || off > 1 && c.addr {
		z.lookups++
	}
	if !seen {
		c.gen, c.failed, c.z, c.off, c.nlen = w.gen, false, z, int16(off), int16(len(name))
	}
}

// shape measures the labels b (a name's part under its cut): the length
// of the longest, and the Shannon entropy of their bytes (dots left out)
// in millibits a byte (an integer, so that sums do not depend on order).
// One pass over b, then one over its distinct bytes.
func (s *State) shape(b []byte) (longest int, entropyMb uint64) {
	cnt := &s.cnt
	var seen [64]byte // the distinct bytes, in the order met (a name has at most 38 kinds)
	n, run, k := 0, 0, 0
	for _, c := range b {
		if c == '.' {
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
		if cnt[c] == 0 && k < len(seen) {
			seen[k] = c
			k++
		}
		cnt[c]++
		n++
	}
	if n == 0 {
		return longest, 0
	}
	// H = log2 n - (1/n) Σ k log2 k, with k log2 k from a table.
	sum := 0.0
	if k < len(seen) {
		for _, c := range seen[:k] {
			sum += klog2k(int(cnt[c]))
			cnt[c] = 0
		}
	} else { // bytes beyond [a-z0-9-_]: the list may have missed some
		for _, c := range b {
			if k := cnt[c]; k != 0 {
				sum += klog2k(int(k))
				cnt[c] = 0
			}
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

// zoneOf returns the stat of the zone cut of the question's name (nil when
// the table is full) and the offset in the name where the cut begins (0:
// the name is the cut). A name of two or three labels whose last two are
// its registrable zone (most are) is looked up in the memo by them.
func (s *State) zoneOf(w *window, v *decode.DNS) (*zoneStat, int) {
	name := v.QName()
	suf := v.QNameSuffix(2)
	if suf == nil {
		return w.zoneStr(s.cache.zone(name)), 0
	}
	two := suf
	if len(two) < len(name) {
		two = two[1:] // its leading dot
	}
	// The memo holds the entry of a registrable zone of two labels.
	c := &w.memo.zones[zoneSlot(two)]
	var zn string
	if *c != nil && (*c).zone == string(two) {
		if len(suf) == len(name) || len(v.QNameSuffix(3)) == len(name) {
			return *c, len(name) - len(two)
		}
		zn = (*c).zone
	} else {
		zn = s.cache.zone(name)
	}
	if len(name) <= len(zn) || zn == "." {
		z := w.zoneBytes(name)
		if z != nil && len(suf) == len(name) && s.cache.registrable(name) {
			*c = z
		}
		return z, 0
	}
	off := cutOffset(name[:len(name)-len(zn)-1])
	if off == len(name)-len(zn) && *c != nil && (*c).zone == zn {
		return *c, off
	}
	z := w.zoneBytes(name[off:])
	if z != nil && off > 0 && z.zone == string(two) {
		*c = z
	}
	return z, off
}

// Merge adds o into s. o is not modified.
func (s *State) Merge(o *State) {
	if o == nil || o == s {
		return
	}
	for _, ow := range o.wins {
		s.window(ow.idx).merge(ow)
	}
	s.base.merge(&o.base)
	s.secLo = math.MaxInt64
}

func (z *zoneStat) merge(o *zoneStat) {
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
	z.lookups += o.lookups
	z.labelN += o.labelN
	z.subLen += o.subLen
	z.maxLabel += o.maxLabel
	z.entropyMb += o.entropyMb
	z.names.Merge(o.names)
	z.srcs.Merge(o.srcs)
	z.sample.merge(&o.sample)
	z.top.merge(&o.top)
	z.qs.add(&o.qs)
	z.fails.add(&o.fails)
}

// clone returns a deep copy of z (the window's own is reused).
func (z *zoneStat) clone() *zoneStat {
	c := *z
	c.names, c.srcs = z.names.Clone(), z.srcs.Clone()
	return &c
}

func (a *addrStat) merge(o *addrStat) {
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
	a.ackIn += o.ackIn
	a.qs.add(&o.qs)
	a.rbs.add(&o.rbs)
	a.syns.add(&o.syns)
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
	var buf [2 * topAddrs]addrCount
	all := buf[:0]
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

// count returns a's count, 0 when it is not tracked.
func (t *addrTop) count(a netip.Addr) uint64 {
	for _, e := range t.e[:t.n] {
		if e.a == a {
			return e.n
		}
	}
	return 0
}
