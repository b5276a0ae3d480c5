package findings

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/sketch"
)

// A State serialises as the FindingsState message of
// summary/visor_summary.proto (format versions 2 to 4), written and read with
// protowire: every field Merge needs, so that a merge of summary files
// judges the findings again as a merge in memory (-j) does. The memos and
// the shard's shortcuts are not written: Merge clears them.

// ErrCorrupt wraps every error of UnmarshalBinary.
var ErrCorrupt = errors.New("corrupt findings state")

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

// Bounds of what UnmarshalBinary accepts past the tables' own.
const (
	// MaxWireWindows bounds the windows of one state (a day-long bucket
	// has 8640).
	MaxWireWindows = 1 << 16
	maxZoneName    = 1024
)

// The counters of a zone and an address, in their packed order on the
// wire: append new ones at the end.
func (z *zoneStat) counters() []*uint64 {
	return []*uint64{&z.q, &z.r, &z.nx, &z.sf, &z.refused, &z.qBytes, &z.rBytes, &z.udp, &z.tcp,
		&z.v4, &z.v6, &z.dataTypes, &z.labelN, &z.subLen, &z.maxLabel, &z.entropyMb, &z.lookups}
}

func (a *addrStat) counters() []*uint64 {
	return []*uint64{&a.weight, &a.q, &a.qBytes, &a.anyQ, &a.r, &a.rBytes, &a.big, &a.nxGot, &a.qRecv,
		&a.rSent, &a.nxSent, &a.sfSent, &a.syn, &a.synAck, &a.synSent, &a.ackIn}
}

// maxCounters bounds the counters of a zone or an address.
const maxCounters = 24

func appendCounters(b []byte, num protowire.Number, cs []*uint64) []byte {
	var vs [maxCounters]uint64
	n := 0
	for i, p := range cs {
		vs[i] = *p
		if *p != 0 {
			n = i + 1
		}
	}
	return sketch.AppendPackedUints(b, num, vs[:n])
}

func parseCounters(val []byte, cs []*uint64) error {
	var vs [maxCounters]uint64
	got, err := sketch.PackedUints(vs[:0], val, len(cs))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	for i, v := range got {
		*cs[i] = v
	}
	return nil
}

// A series is written dense (winSec values) or, when shorter, sparse:
// its non-zero seconds, each as value*16 + second, seconds ascending (a
// window's entries mostly count in one or two seconds).
func appendSeries(b []byte, num protowire.Number, s *series) []byte {
	if *s == (series{}) {
		return b
	}
	var dense, sparse [winSec]uint64
	nd, ns, sizeD, sizeS := 0, 0, 0, 0
	for i, v := range s {
		dense[nd] = uint64(v)
		nd++
		sizeD += protowire.SizeVarint(uint64(v))
		if v != 0 {
			sparse[ns] = uint64(v)<<4 | uint64(i)
			sizeS += protowire.SizeVarint(sparse[ns])
			ns++
		}
	}
	if ns < winSec && sizeS < sizeD {
		return sketch.AppendPackedUints(b, num, sparse[:ns])
	}
	return sketch.AppendPackedUints(b, num, dense[:])
}

func parseSeries(val []byte, s *series) error {
	var vs [winSec]uint64
	got, err := sketch.PackedUints(vs[:0], val, winSec)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	*s = series{}
	if len(got) == winSec {
		for i, v := range got {
			if v > math.MaxUint32 {
				return corrupt("a second's count %d over 32 bits", v)
			}
			s[i] = uint32(v)
		}
		return nil
	}
	prev := -1
	for _, x := range got {
		i, v := int(x&15), x>>4
		if i >= winSec || i <= prev || v == 0 || v > math.MaxUint32 {
			return corrupt("a sparse series' second %d (after %d) of count %d", i, prev, v)
		}
		s[i], prev = uint32(v), i
	}
	if len(got) == 0 {
		return corrupt("an empty series")
	}
	return nil
}

func appendInt(b []byte, num protowire.Number, v int64) []byte {
	return sketch.AppendUint(b, num, uint64(v))
}

func appendCard(b []byte, num protowire.Number, c *sketch.Cardinality) ([]byte, error) {
	var err error
	b = sketch.AppendMessage(b, num, func(b []byte) []byte {
		b, err = c.AppendBinary(b)
		return b
	})
	return b, err
}

func parseCard(val []byte, c *sketch.Cardinality) error {
	if err := c.UnmarshalBinary(val); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return nil
}

// addrBytes is a's 4 or 16 bytes (an IPv4-mapped address keeps 16).
func addrBytes(a netip.Addr) []byte { return a.AsSlice() }

func parseAddr(val []byte) (netip.Addr, error) {
	a, ok := netip.AddrFromSlice(val)
	if !ok {
		return a, corrupt("an address of %d bytes", len(val))
	}
	return a, nil
}

// AppendBinary appends s as a FindingsState message: its windows in the
// order they were first seen, each one's tables sorted by key (so the
// same state gives the same bytes).
func (s *State) AppendBinary(b []byte) ([]byte, error) {
	return s.AppendPruned(b, nil)
}

// pruneFrac is how near a detector's threshold an address or prefix must
// come in a window for a summary to write it (Prune): the detector keeps a
// window's entry from keepFrac on, 4 times more. A zone cut is written
// from keepFrac on (the detector's nearness), or whenever its sample
// shows machine-made names: an attack spread thinly over many servers
// shows in every one's sample.
const pruneFrac = 1.0 / 16

// Prune says which windows of a bucket [Start, End) a summary writes
// pruned: every window the bucket holds whole (summary.Writer keeps a
// run's edge buckets whole: their windows may continue in the summaries
// of the capture's other pieces). A pruned window keeps its counters, series
// and the entries that can take part in a finding judged on the window
// alone or with a few summaries' parts of it (see pruneFrac; the busiest
// and the top lists the evidence names); what the others added
// to the baseline and the address-lookup NXDOMAIN answers is written as
// sums. So a capture cut into pieces, each summarised, merges into the
// findings of the whole; summaries of many servers lose only what no one
// of them came near.
type Prune struct {
	T          Thresholds
	Start, End int64
}

// Prunable says whether a bucket [start, end) of s holds a window whole,
// which a summary may write pruned.
func (s *State) Prunable(start, end int64) bool {
	return slices.ContainsFunc(s.wins, func(w *window) bool { return w.within(start, end) })
}

// kept is what a pruned window writes of its tables.
type kept struct {
	zones    map[string]bool
	addrs    map[netip.Addr]bool
	prefixes map[netip.Prefix]bool
	qSrcs    bool
	lookupNX uint64
}

// AppendPruned is AppendBinary with the windows p allows written pruned
// (p nil: none).
func (s *State) AppendPruned(b []byte, p *Prune) ([]byte, error) {
	var err error
	var base baseSums
	base.merge(&s.base)
	for _, w := range s.wins {
		if err != nil {
			break
		}
		var k *kept
		if p != nil && w.within(p.Start, p.End) {
			k = w.prune(&p.T, &base)
		}
		b = sketch.AppendMessage(b, 1, func(b []byte) []byte {
			b, err = w.appendBinary(b, k)
			return b
		})
	}
	for _, z := range base.sorted() {
		b = sketch.AppendMessage(b, 2, func(b []byte) []byte {
			b = sketch.AppendBytes(b, 1, []byte(z.zone))
			return sketch.AppendPackedUints(b, 2, []uint64{z.k, z.n})
		})
	}
	return b, err
}

// prune returns what a pruned w writes, adding the baseline sums of the
// zone cuts it leaves out to base.
func (w *window) prune(t *Thresholds, base *baseSums) *kept {
	k := &kept{zones: map[string]bool{}, addrs: map[netip.Addr]bool{}, prefixes: map[netip.Prefix]bool{},
		lookupNX: w.lookupNX,
		// keepReceiver's condition, nearer
		qSrcs: peakRate(&w.qs) >= t.FloodRate*pruneFrac && float64(w.queries) >= t.FloodMin*pruneFrac}
	// The busiest of each table and the evidence's top lists, as the
	// detector picks them.
	if z := w.busiestZone(); z != nil {
		k.zones[z.zone] = true
	}
	for _, f := range []func(*zoneStat) uint64{func(z *zoneStat) uint64 { return z.nx }, func(z *zoneStat) uint64 { return z.sf }} {
		for _, c := range topZones(w.zones, f) {
			k.zones[c.name] = true
		}
	}
	zMin := keepFrac * min(t.RSNames, t.TunQueries)
	for _, z := range w.zones {
		if k.zones[z.zone] || float64(z.q) >= zMin || z.sample.active() {
			k.zones[z.zone] = true
			continue
		}
		r, _, _ := z.sample.randoms()
		base.add(z.zone, uint64(r), uint64(z.sample.n))
		if z.nx > 0 && share(z.lookups, z.q) >= lookupShare {
			k.lookupNX += z.nx
		}
	}
	for _, a := range w.addrs {
		if float64(a.q) >= t.FloodMin*pruneFrac || float64(a.qRecv) >= t.FloodMin*pruneFrac ||
			float64(a.rBytes) >= t.ReflBytes*pruneFrac || float64(a.syn) >= t.SYNMin*pruneFrac {
			k.addrs[a.addr] = true
		}
	}
	for _, by := range []func(*addrStat) uint64{func(a *addrStat) uint64 { return a.q }, func(a *addrStat) uint64 { return a.qRecv }} {
		if a := w.busiestAddr(by); a != nil {
			k.addrs[a.addr] = true
		}
	}
	for _, f := range []func(*addrStat) uint64{
		func(a *addrStat) uint64 { return a.nxGot }, func(a *addrStat) uint64 { return a.nxSent },
		func(a *addrStat) uint64 { return a.sfSent }, func(a *addrStat) uint64 { return a.r },
		func(a *addrStat) uint64 { return a.synSent },
	} {
		for _, c := range topAddrList(w.addrs, f) {
			k.addrs[c.a] = true
		}
	}
	for _, p := range w.prefixes {
		if float64(p.q) >= t.FloodMin*pruneFrac {
			k.prefixes[p.p] = true
		}
	}
	if p := w.busiestPrefix(); p != nil {
		k.prefixes[p.p] = true
	}
	return k
}

func (w *window) appendBinary(b []byte, k *kept) ([]byte, error) {
	b = appendInt(b, 1, w.idx)
	// Always written: 0 is a time, and a window that saw nothing has
	// MaxInt64 and MinInt64.
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(w.first))
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(w.last))
	b = sketch.AppendPackedUints(b, 4, []uint64{w.queries, w.responses, w.nx, w.servfail, w.syn,
		w.dropped.Zones, w.dropped.Addrs, w.dropped.Prefixes})
	b = appendSeries(b, 5, &w.qs)
	b = appendSeries(b, 6, &w.nxs)
	b = appendSeries(b, 7, &w.sfs)
	b = appendSeries(b, 8, &w.syns)
	b, err := appendCard(b, 9, w.synSrcs)
	if err != nil {
		return b, err
	}
	lookupNX := w.lookupNX
	if k != nil {
		lookupNX = k.lookupNX
	}
	if lookupNX > 0 {
		b = sketch.AppendUint(b, 15, lookupNX)
	}
	addrs := sortedAddrs(w.addrs)
	if k != nil {
		addrs = slices.DeleteFunc(addrs, func(a *addrStat) bool { return !k.addrs[a.addr] })
	}
	var srcs []netip.Addr
	for _, a := range addrs {
		if a.q > 0 {
			srcs = append(srcs, a.addr)
		}
	}
	bySrc := byPrefix(srcs)
	if k == nil || k.qSrcs {
		if b, err = appendSet(b, 13, 14, w.qSrcs, addrHashes(nil, srcs)); err != nil {
			return b, err
		}
	}
	for _, z := range sortedZoneNames(w.zones) {
		if k != nil && !k.zones[z] {
			continue
		}
		b = sketch.AppendMessage(b, 10, func(b []byte) []byte {
			b, err = w.zones[z].appendBinary(b, w.idx*winSec*1e9, err)
			return b
		})
	}
	for _, a := range addrs {
		b = sketch.AppendMessage(b, 11, func(b []byte) []byte {
			b = sketch.AppendBytes(b, 1, addrBytes(a.addr))
			b = appendCounters(b, 2, a.counters())
			b = appendSeries(b, 3, &a.qs)
			b = appendSeries(b, 4, &a.rbs)
			return appendSeries(b, 5, &a.syns)
		})
	}
	ps := make([]*prefixStat, 0, len(w.prefixes))
	for _, p := range w.prefixes {
		if k == nil || k.prefixes[p.p] {
			ps = append(ps, p)
		}
	}
	slices.SortFunc(ps, func(a, b *prefixStat) int {
		if c := a.p.Addr().Compare(b.p.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.p.Bits(), b.p.Bits())
	})
	var known []uint64
	for _, p := range ps {
		b = sketch.AppendMessage(b, 12, func(b []byte) []byte {
			b = sketch.AppendBytes(b, 1, addrBytes(p.p.Addr()))
			b = sketch.AppendUint(b, 2, uint64(p.p.Bits()))
			b = sketch.AppendUint(b, 3, p.q)
			b = appendSeries(b, 4, &p.qs)
			if err == nil {
				known = addrHashes(known[:0], bySrc[p.p])
				b, err = appendSet(b, 5, 6, p.src, known)
			}
			return b
		})
	}
	return b, err
}

// appendSet writes c, a set that holds the hashes known (which a reader
// has from the same message: a zone's name sample, its top sources, the
// window's query sources in its address table): while c counts exactly
// and holds them all, as what it holds besides them in field rest
// (nothing when that is nothing); otherwise whole, in field full.
func appendSet(b []byte, full, rest protowire.Number, c *sketch.Cardinality, known []uint64) ([]byte, error) {
	if !c.Exact() {
		return appendCard(b, full, c)
	}
	for i, h := range known {
		if h == 0 {
			known[i] = 1 // as the set holds it
		}
	}
	slices.Sort(known)
	known = slices.Compact(known)
	for _, h := range known {
		if !c.Has(h) {
			return appendCard(b, full, c)
		}
	}
	if c.Estimate() == uint64(len(known)) {
		return b, nil
	}
	return sketch.AppendMessage(b, rest, func(b []byte) []byte {
		return c.AppendExactExcept(b, func(h uint64) bool {
			_, ok := slices.BinarySearch(known, h)
			return ok
		})
	}), nil
}

// setField notes that a set came in its full field (full) or its rest
// field; a set given twice is corrupt.
func setField(isFull, isRest *bool, full bool, what string) error {
	if *isFull || *isRest {
		return corrupt("%s twice", what)
	}
	*isFull, *isRest = full, !full
	return nil
}

// insertAddrs adds the source keys of as to c, as the writer hashed them
// (addrHashes).
func insertAddrs(c *sketch.Cardinality, as []netip.Addr) {
	for _, h := range addrHashes(nil, as) {
		c.InsertHash(h)
	}
}

// addrHashes appends the source-key hashes of as to dst.
func addrHashes(dst []uint64, as []netip.Addr) []uint64 {
	var kb [16]byte
	for _, a := range as {
		dst = append(dst, sketch.Hash(visor.AddrKey(a, &kb)))
	}
	return dst
}

// sources returns the window's query sources in its address table.
func (w *window) sources() []netip.Addr {
	var all []netip.Addr
	for _, a := range w.addrs {
		if a.q > 0 {
			all = append(all, a.addr)
		}
	}
	return all
}

// byPrefix groups addresses by their /24 or /64.
func byPrefix(as []netip.Addr) map[netip.Prefix][]netip.Addr {
	by := map[netip.Prefix][]netip.Addr{}
	for _, a := range as {
		p := prefixOf(a)
		by[p] = append(by[p], a)
	}
	return by
}

func sortedZoneNames(m map[string]*zoneStat) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// appendBinary writes z; its sample's times are written from base, the
// window's start.
func (z *zoneStat) appendBinary(b []byte, base int64, err error) ([]byte, error) {
	if err != nil {
		return b, err
	}
	b = sketch.AppendBytes(b, 1, []byte(z.zone))
	b = appendCounters(b, 2, z.counters())
	var known []uint64
	for _, e := range z.sample.e[:z.sample.n] {
		known = append(known, e.h)
	}
	if b, err = appendSet(b, 3, 12, z.names, known); err != nil {
		return b, err
	}
	tops := make([]netip.Addr, z.top.n)
	for i, e := range z.top.e[:z.top.n] {
		tops[i] = e.a
	}
	if b, err = appendSet(b, 4, 13, z.srcs, addrHashes(known[:0], tops)); err != nil {
		return b, err
	}
	if n := z.sample.n; n > 0 {
		hs := make([]uint64, n)
		firsts := make([]uint64, n)
		flags := make([]uint64, n)
		for i, e := range z.sample.e[:n] {
			hs[i], firsts[i] = e.h, protowire.EncodeZigZag(e.first-base)
			if e.random {
				flags[i] |= 1
			}
			if e.failed {
				flags[i] |= 2
			}
		}
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(8*n))
		for _, h := range hs {
			b = protowire.AppendFixed64(b, h)
		}
		b = sketch.AppendPackedUints(b, 6, firsts)
		b = sketch.AppendPackedUints(b, 7, flags)
	}
	for _, e := range z.top.e[:z.top.n] {
		b = sketch.AppendBytes(b, 8, addrBytes(e.a))
	}
	if z.top.n > 0 {
		ns := make([]uint64, z.top.n)
		for i, e := range z.top.e[:z.top.n] {
			ns[i] = e.n
		}
		// Always as many as the addresses, zeros included.
		b = protowire.AppendTag(b, 9, protowire.BytesType)
		size := 0
		for _, v := range ns {
			size += protowire.SizeVarint(v)
		}
		b = protowire.AppendVarint(b, uint64(size))
		for _, v := range ns {
			b = protowire.AppendVarint(b, v)
		}
	}
	b = appendSeries(b, 10, &z.qs)
	return appendSeries(b, 11, &z.fails), nil
}

// UnmarshalBinary replaces s's windows with the FindingsState message b.
// Every table is checked against its bound, every key for duplicates and
// validity, the name samples for order: hostile bytes give an error that
// wraps ErrCorrupt, never a panic or an allocation past the bounds.
func (s *State) UnmarshalBinary(b []byte) error {
	s.Reset()
	err := sketch.Fields(b, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) error {
		if num == 2 && typ == protowire.BytesType {
			return s.parseBase(val)
		}
		if num != 1 || typ != protowire.BytesType {
			return nil
		}
		if len(s.wins) >= MaxWireWindows {
			return corrupt("more than %d windows", MaxWireWindows)
		}
		idx, err := windowIdx(val)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(s.wins, func(w *window) bool { return w.idx == idx }) {
			return corrupt("window %d twice", idx)
		}
		w := s.pool.window(idx)
		s.wins = append(s.wins, w)
		if err := w.parse(val); err != nil {
			return fmt.Errorf("window %d: %w", idx, err)
		}
		return nil
	})
	if err != nil {
		s.Reset()
		return wrapSketch(err)
	}
	return nil
}

// parseBase reads one cut's baseline sums left out of the windows.
func (s *State) parseBase(b []byte) error {
	var name []byte
	var sums []uint64
	err := sketch.Fields(b, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) error {
		var err error
		switch {
		case num == 1 && typ == protowire.BytesType:
			name = val
		case num == 2 && typ == protowire.BytesType:
			sums, err = sketch.PackedUints(nil, val, 2)
		}
		return err
	})
	if err != nil {
		return wrapSketch(err)
	}
	switch {
	case len(name) == 0 || len(name) > maxZoneName:
		return corrupt("a baseline zone cut name of %d bytes", len(name))
	case len(sums) != 2 || sums[0] > sums[1]:
		return corrupt("baseline sums %v of %q", sums, name)
	case s.base.m[string(name)] != nil:
		return corrupt("baseline zone cut %q twice", name)
	case len(s.base.m) >= maxBase:
		return corrupt("more than %d baseline zone cuts", maxBase)
	}
	s.base.add(string(name), sums[0], sums[1])
	return nil
}

// wrapSketch makes the sketch package's framing errors ErrCorrupt too.
func wrapSketch(err error) error {
	if errors.Is(err, ErrCorrupt) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrCorrupt, err)
}

func windowIdx(b []byte) (int64, error) {
	var idx int64
	err := sketch.Fields(b, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
		if num == 1 && typ == protowire.VarintType {
			idx = int64(v)
		}
		return nil
	})
	// A window's start in ns must be a time: |idx*winSec*1e9| < 2^63.
	if err == nil && (idx > math.MaxInt64/(winSec*int64(1e9))-1 || idx < math.MinInt64/(winSec*int64(1e9))+1) {
		err = corrupt("window index %d out of range", idx)
	}
	return idx, err
}

func (w *window) parse(b []byte) error {
	var derived []*prefixStat // prefixes written without the table's sources
	var qFull, qRest bool
	err := sketch.Fields(b, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) error {
		switch {
		case num == 2 && typ == protowire.VarintType:
			w.first = int64(v)
		case num == 3 && typ == protowire.VarintType:
			w.last = int64(v)
		case num == 4 && typ == protowire.BytesType:
			var vs [8]uint64
			got, err := sketch.PackedUints(vs[:0], val, len(vs))
			if err != nil {
				return wrapSketch(err)
			}
			copy(vs[:], got)
			w.queries, w.responses, w.nx, w.servfail, w.syn = vs[0], vs[1], vs[2], vs[3], vs[4]
			w.dropped = Dropped{Zones: vs[5], Addrs: vs[6], Prefixes: vs[7]}
		case num >= 5 && num <= 8 && typ == protowire.BytesType:
			return parseSeries(val, [4]*series{&w.qs, &w.nxs, &w.sfs, &w.syns}[num-5])
		case num == 9 && typ == protowire.BytesType:
			return parseCard(val, w.synSrcs)
		case num == 15 && typ == protowire.VarintType:
			w.lookupNX = v
		case (num == 13 || num == 14) && typ == protowire.BytesType:
			if err := setField(&qFull, &qRest, num == 13, "query sources"); err != nil {
				return err
			}
			return parseCard(val, w.qSrcs)
		case num == 10 && typ == protowire.BytesType:
			return w.parseZone(val, w.idx*winSec*1e9)
		case num == 11 && typ == protowire.BytesType:
			return w.parseAddr(val)
		case num == 12 && typ == protowire.BytesType:
			p, derive, err := w.parsePrefix(val)
			if derive {
				derived = append(derived, p)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The sets written without the sources of the address table.
	if !qFull || len(derived) > 0 {
		srcs := w.sources()
		if !qFull {
			insertAddrs(w.qSrcs, srcs)
		}
		if len(derived) > 0 {
			bySrc := byPrefix(srcs)
			for _, p := range derived {
				insertAddrs(p.src, bySrc[p.p])
			}
		}
	}
	if w.lookupNX > w.nx {
		return corrupt("%d address-lookup NXDOMAIN answers of %d", w.lookupNX, w.nx)
	}
	if w.first > w.last && (w.first != math.MaxInt64 || w.last != math.MinInt64) {
		return corrupt("first event at %d after the last at %d", w.first, w.last)
	}
	return nil
}

func (w *window) parseZone(b []byte, base int64) error {
	if len(w.zones) >= maxZones {
		return corrupt("more than %d zones", maxZones)
	}
	var name []byte
	named := false
	err := sketch.Fields(b, func(num protowire.Number, typ protowire.Type, _ uint64, val []byte) error {
		if num == 1 && typ == protowire.BytesType {
			name, named = val, true
		}
		return nil
	})
	if err != nil {
		return wrapSketch(err)
	}
	if !named || len(name) == 0 || len(name) > maxZoneName {
		return corrupt("a zone named with %d bytes", len(name))
	}
	if w.zones[string(name)] != nil {
		return corrupt("zone %q twice", name)
	}
	z := w.pool.zone(string(name))
	w.zones[z.zone] = z
	var hsA, firstsA, flagsA [sampleK]uint64
	var nsA [topAddrs]uint64
	var topsA [topAddrs]netip.Addr
	hs, firsts, flags, ns, tops := hsA[:0], firstsA[:0], flagsA[:0], nsA[:0], topsA[:0]
	var namesFull, namesRest, srcsFull, srcsRest bool
	err = sketch.Fields(b, func(num protowire.Number, typ protowire.Type, _ uint64, val []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		var err error
		switch num {
		case 2:
			return parseCounters(val, z.counters())
		case 3, 12:
			if err := setField(&namesFull, &namesRest, num == 3, "distinct names"); err != nil {
				return err
			}
			return parseCard(val, z.names)
		case 4, 13:
			if err := setField(&srcsFull, &srcsRest, num == 4, "distinct sources"); err != nil {
				return err
			}
			return parseCard(val, z.srcs)
		case 5:
			if len(val)%8 != 0 || len(val)/8 > sampleK {
				return corrupt("a name sample of %d bytes (at most %d hashes)", len(val), sampleK)
			}
			hs = hs[:0]
			for i := 0; i < len(val); i += 8 {
				h, _ := protowire.ConsumeFixed64(val[i:])
				hs = append(hs, h)
			}
		case 6:
			firsts, err = sketch.PackedUints(firsts[:0], val, sampleK)
		case 7:
			flags, err = sketch.PackedUints(flags[:0], val, sampleK)
		case 8:
			if len(tops) >= topAddrs {
				return corrupt("more than %d top sources", topAddrs)
			}
			a, err := parseAddr(val)
			if err != nil {
				return err
			}
			tops = append(tops, a)
		case 9:
			ns, err = sketch.PackedUints(ns[:0], val, topAddrs)
		case 10:
			return parseSeries(val, &z.qs)
		case 11:
			return parseSeries(val, &z.fails)
		}
		return wrapErr(err)
	})
	if err != nil {
		return fmt.Errorf("zone %q: %w", name, err)
	}
	if len(firsts) != len(hs) || len(flags) != len(hs) {
		return corrupt("zone %q: a sample of %d hashes, %d times and %d flags", name, len(hs), len(firsts), len(flags))
	}
	for i, h := range hs {
		if i > 0 && h <= hs[i-1] {
			return corrupt("zone %q: the sample's hashes are not ascending", name)
		}
		z.sample.e[i] = sampled{h: h, first: base + protowire.DecodeZigZag(firsts[i]), random: flags[i]&1 != 0, failed: flags[i]&2 != 0}
	}
	z.sample.n = len(hs)
	if len(ns) != len(tops) {
		return corrupt("zone %q: %d top sources and %d counts", name, len(tops), len(ns))
	}
	for i, a := range tops {
		z.top.e[i] = addrCount{a, ns[i]}
	}
	z.top.n = len(tops)
	// Written without the sample's names, the top's sources.
	if !namesFull {
		for _, h := range hs {
			z.names.InsertHash(h)
		}
	}
	if !srcsFull {
		insertAddrs(z.srcs, tops)
	}
	return nil
}

func wrapErr(err error) error {
	if err == nil {
		return nil
	}
	return wrapSketch(err)
}

func (w *window) parseAddr(b []byte) error {
	if len(w.addrs) >= maxAddrs {
		return corrupt("more than %d addresses", maxAddrs)
	}
	e := &addrStat{}
	var have bool
	err := sketch.Fields(b, func(num protowire.Number, typ protowire.Type, _ uint64, val []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			a, err := parseAddr(val)
			e.addr, have = a, err == nil
			return err
		case 2:
			return parseCounters(val, e.counters())
		case 3:
			return parseSeries(val, &e.qs)
		case 4:
			return parseSeries(val, &e.rbs)
		case 5:
			return parseSeries(val, &e.syns)
		}
		return nil
	})
	if err != nil {
		return wrapSketch(err)
	}
	if !have {
		return corrupt("an address entry without its address")
	}
	if w.addrs[e.addr] != nil {
		return corrupt("address %v twice", e.addr)
	}
	a := w.pool.addr(e.addr, 0)
	*a = *e
	w.addrs[a.addr] = a
	return nil
}

// parsePrefix reads a prefix entry; derive says that its sources were
// written without those of the window's address table.
func (w *window) parsePrefix(b []byte) (_ *prefixStat, derive bool, _ error) {
	if len(w.prefixes) >= maxPrefixes {
		return nil, false, corrupt("more than %d prefixes", maxPrefixes)
	}
	var addr netip.Addr
	var bits, q uint64
	var qs series
	var src []byte
	var full, rest bool
	err := sketch.Fields(b, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) error {
		var err error
		switch {
		case num == 1 && typ == protowire.BytesType:
			addr, err = parseAddr(val)
		case num == 2 && typ == protowire.VarintType:
			bits = v
		case num == 3 && typ == protowire.VarintType:
			q = v
		case num == 4 && typ == protowire.BytesType:
			err = parseSeries(val, &qs)
		case (num == 5 || num == 6) && typ == protowire.BytesType:
			if err := setField(&full, &rest, num == 5, "prefix sources"); err != nil {
				return err
			}
			src = val
		}
		return err
	})
	if err != nil {
		return nil, false, wrapSketch(err)
	}
	if !addr.IsValid() || bits > uint64(addr.BitLen()) {
		return nil, false, corrupt("a prefix of %d bits on %v", bits, addr)
	}
	k := netip.PrefixFrom(addr, int(bits))
	if k != k.Masked() {
		return nil, false, corrupt("prefix %v has host bits", k)
	}
	if w.prefixes[k] != nil {
		return nil, false, corrupt("prefix %v twice", k)
	}
	p := w.pool.prefix(k)
	p.q, p.qs = q, qs
	w.prefixes[k] = p
	if src != nil {
		if err := parseCard(src, p.src); err != nil {
			return nil, false, err
		}
	}
	return p, !full, nil
}

// ValidateSpan checks that every window of s overlaps [start, end): a
// bucket's state holds the windows its events fell in, no other.
func (s *State) ValidateSpan(start, end int64) error {
	for _, w := range s.wins {
		lo := w.idx * winSec * 1e9
		if lo >= end || lo+winSec*1e9 <= start {
			return corrupt("window at %d s outside its bucket [%d, %d) s", lo/1e9, start/1e9, end/1e9)
		}
	}
	return nil
}
