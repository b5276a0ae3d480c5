// Package findings names attacks and incidents in the traffic.
//
// Shards gather evidence per detection window (State: windows of winSec
// seconds of capture time, counted per second), whatever the report's
// bucket; a bucket's states are merged and handed to the Detector, which
// joins the parts of windows that buckets split, judges every window with
// each detector's rule and reports findings with start, peak and end to
// the second. So a finding's times, counts and rates are the same for
// every --bucket.
//
// One file per detector (random_subdomain.go, dns_tunneling.go, ...):
// its rule over a window, its typed evidence, its finding and the carving
// selector of its packets. Thresholds, ThresholdDocs and docs/findings.md
// describe the rules.
package findings

import (
	"cmp"
	"math"
	"net/netip"
	"slices"

	"github.com/visor-dns/visor/report"
)

// Finding kinds.
const (
	KindRandomSubdomain = "random_subdomain"
	KindNXDomainFlood   = "nxdomain_flood"
	KindServfailStorm   = "servfail_storm"
	KindQueryFlood      = "query_flood"
	KindReflection      = "reflection"
	KindTunneling       = "dns_tunneling"
	KindSYNFlood        = "tcp_syn_flood"
)

// detectors are the registered detectors, in the order they judge a
// window (order): a zone's tunnel before its random subdomains, and those
// before the floods they explain. Each detector's file registers it.
var detectors []detector

func register(d detector) {
	detectors = append(detectors, d)
	slices.SortStableFunc(detectors, func(a, b detector) int { return cmp.Compare(a.order(), b.order()) })
}

// detector is one kind of finding. Adding one is its file (this interface,
// its typed evidence, register in an init) and its test, plus its
// thresholds in Thresholds and thresholdMeanings.
type detector interface {
	kind() string
	// order places it among the detectors judging a window.
	order() int
	// judge calls held for each key whose rule holds in window r, with
	// the rule's main measure over its threshold.
	judge(d *Detector, r *winRec, held func(key string, score float64))
	// present says whether window r keeps what key needs (a finding's
	// first and last windows may come near the thresholds only).
	present(r *winRec, key string) bool
	// finding makes the finding of an episode.
	finding(d *Detector, ep *episode) *Finding
	// evidence returns an empty evidence struct, to read a finding back.
	evidence() evidence
}

// lookupShare is the share of a zone cut's queries that are PTR queries or
// blocklist lookups (addrShaped) from which its NXDOMAIN answers are
// taken as the ordinary answers of address lookups, not a flood.
const lookupShare = 0.9

// listLen is the length of the lists in a finding's evidence.
const listLen = 5

// maxLong bounds the zone cuts followed over the whole capture for
// low-and-slow attacks (those whose samples showed machine-made names); a
// cut beyond it is counted in Dropped.Zones.
const maxLong = 4096

// Detector reads the merged buckets in time order.
type Detector struct {
	t           Thresholds
	pending     []*window // windows that later buckets may add to
	pool        pool
	recs        []*winRec
	first, last int64 // first and last event of the capture
	long        map[string]*longStat
	dropped     Dropped
	// The baseline's sums by zone cut, and its weighted sums over them
	// (baseline), made once the capture is read.
	base         baseSums
	based        bool
	baseW, baseS float64
	// qsecs holds the queries of every second of the capture's span, for
	// its ordinary rate (ordinaryQPS, made again when it grew).
	qsecs  []uint32
	ordQPS float64
	ordN   int // len(qsecs) when ordQPS was made
}

// NewDetector returns a detector with the given thresholds (nil: defaults).
func NewDetector(t *Thresholds) *Detector {
	d := &Detector{t: DefaultThresholds(), long: map[string]*longStat{}, first: math.MaxInt64, last: math.MinInt64}
	if t != nil {
		d.t = *t
	}
	return d
}

// Dropped returns what the states' bounds left out over the run, for the
// report's integrity section.
func (d *Detector) Dropped() Dropped { return d.dropped }

// AddBucket takes one closed bucket [start, end) of merged state. Windows
// the bucket holds whole are judged now; a window it holds part of waits
// for the next buckets.
func (d *Detector) AddBucket(start, end int64, s *State, _ *report.Section) {
	d.base.merge(&s.base)
	for _, w := range s.wins {
		if i := slices.IndexFunc(d.pending, func(p *window) bool { return p.idx == w.idx }); i >= 0 {
			d.pending[i].merge(w)
			continue
		}
		if w.within(start, end) {
			d.judgeWindow(w)
			continue
		}
		p := d.pool.window(w.idx)
		p.merge(w)
		d.pending = append(d.pending, p)
	}
	d.flush(end)
}

// flush judges the pending windows that end by end (all: MaxInt64).
func (d *Detector) flush(end int64) {
	kept := d.pending[:0]
	for _, p := range d.pending {
		if (p.idx+1)*winSec*1e9 <= end {
			d.judgeWindow(p)
			d.pool.release(p)
		} else {
			kept = append(kept, p)
		}
	}
	clear(d.pending[len(kept):])
	d.pending = kept
}

// winRec keeps what the detectors need of a window with a candidate: its
// counters and series, and copies of the zones, addresses and prefixes
// near or beyond a threshold.
type winRec struct {
	idx                int64
	first, last        int64
	queries, responses uint64
	nx, sf, syn        uint64
	qs, nxs, sfs       series
	synSrcs            uint64
	zones              map[string]*zoneStat
	addrs              map[netip.Addr]*addrStat
	prefixes           map[netip.Prefix]*prefixStat
	nxZones, sfZones   []nameCount
	nxClients          []addrCount
	nxServers          []addrCount
	sfServers          []addrCount
	sfClients          []addrCount
	nxExpl, sfExpl     uint64      // NXDOMAIN and SERVFAIL explained here: by random_subdomain or tunnel findings, or (NXDOMAIN) address lookups
	causes             []*zoneStat // zones with a random_subdomain or tunnel finding here
	explained          []explanation
	// recv is a copy of the address that received the most queries, when
	// the window came near a flood's rate; srcMax the most queries from
	// one source address or prefix, srcs the window's distinct query
	// sources.
	recv         *addrStat
	srcMax, srcs uint64
	// The window's busiest zone cut: its queries and distinct names.
	topZone        string
	topQ, topNames uint64
}

// explanation is a finding a cause made unnecessary in one window.
type explanation struct {
	zone      string
	kind, key string
	count     uint64
}

type nameCount struct {
	name string
	n    uint64
}

// start is the Unix time (ns) where second i of r begins.
func (r *winRec) start(i int) int64 { return (r.idx*winSec + int64(i)) * 1e9 }

func share(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func peakRate(s *series) float64 {
	p, _ := s.peak()
	return float64(p)
}

func (z *zoneStat) meanLen() float64     { return share(z.subLen, z.labelN) }
func (z *zoneStat) meanEntropy() float64 { return share(z.entropyMb, z.labelN) / 1000 }

// distinct is the estimate of z's distinct names, never more than its
// queries (an estimate may exceed them by its error).
func (z *zoneStat) distinct() uint64 { return min(z.names.Estimate(), z.q) }

// keepFrac is how near a threshold a window's zone, address or prefix must
// come to be kept: a finding's first and last windows may hold less than a
// whole window of it.
const keepFrac = 0.25

// judgeWindow folds a complete window into the capture-wide state and
// keeps its candidates.
func (d *Detector) judgeWindow(w *window) {
	if w.first > w.last {
		return // nothing seen
	}
	d.first = min(d.first, w.first)
	d.last = max(d.last, w.last)
	d.dropped.add(w.dropped)
	t := &d.t
	r := &winRec{idx: w.idx, first: w.first, last: w.last, queries: w.queries, responses: w.responses,
		nx: w.nx, sf: w.servfail, syn: w.syn, qs: w.qs, nxs: w.nxs, sfs: w.sfs, synSrcs: w.synSrcs.Estimate()}
	lo := min(max(floorDiv(w.first, 1e9)-w.idx*winSec, 0), winSec-1)
	hi := min(max(floorDiv(w.last, 1e9)-w.idx*winSec, lo), winSec-1)
	d.qsecs = append(d.qsecs, w.qs[lo:hi+1]...)
	keep := d.keepReceiver(w, r)
	r.nxExpl += w.lookupNX
	for _, z := range sortedZones(w.zones) {
		if z.nx > 0 && share(z.lookups, z.q) >= lookupShare {
			r.nxExpl += z.nx // answers to lookups of addresses: ordinary
		}
		d.follow(w, z)
		dn := float64(z.distinct())
		if dn >= t.RSNames*keepFrac && randomShare(&z.sample) >= t.RSRandom*keepFrac ||
			dn >= t.RSNames*keepFrac && z.sample.failShare() >= t.RSWordFail/2 && share(z.maxLabel, z.labelN) >= t.RSWordLen/2 ||
			float64(z.q) >= t.TunQueries*keepFrac && z.meanLen() >= min(t.TunLen/2, t.TunShortLen) {
			if r.zones == nil {
				r.zones = map[string]*zoneStat{}
			}
			r.zones[z.zone] = z.clone()
			keep = true
		}
	}
	if float64(w.nx) >= t.NXMin*keepFrac || float64(w.servfail) >= t.SFMin*keepFrac {
		keep = true
		r.nxZones = topZones(w.zones, func(z *zoneStat) uint64 { return z.nx })
		r.sfZones = topZones(w.zones, func(z *zoneStat) uint64 { return z.sf })
		r.nxClients = topAddrList(w.addrs, func(a *addrStat) uint64 { return a.nxGot })
		r.nxServers = topAddrList(w.addrs, func(a *addrStat) uint64 { return a.nxSent })
		r.sfServers = topAddrList(w.addrs, func(a *addrStat) uint64 { return a.sfSent })
		// The state does not pair rcodes with clients: the addresses that
		// received the most responses while SERVFAIL was high.
		r.sfClients = topAddrList(w.addrs, func(a *addrStat) uint64 { return a.r })
	}
	for _, a := range w.addrs {
		if float64(a.q) >= t.FloodMin*keepFrac || float64(a.rBytes) >= t.ReflBytes*keepFrac || float64(a.syn) >= t.SYNMin*keepFrac {
			if r.addrs == nil {
				r.addrs = map[netip.Addr]*addrStat{}
			}
			r.addrs[a.addr] = a.detached()
			keep = true
		}
	}
	for _, p := range w.prefixes {
		if float64(p.q) >= t.FloodMin*keepFrac {
			if r.prefixes == nil {
				r.prefixes = map[netip.Prefix]*prefixStat{}
			}
			c := *p
			c.src, c.srcN = nil, p.src.Estimate() // the window's own, reused
			r.prefixes[p.p] = &c
			keep = true
		}
	}
	if keep {
		d.recs = append(d.recs, r)
	}
}

// keepReceiver keeps in r, when w's queries came near a flood's, the
// address that received the most of them and how spread their sources
// were (query_flood's rule for a flood to one address from many sources).
func (d *Detector) keepReceiver(w *window, r *winRec) bool {
	t := &d.t
	if peakRate(&w.qs) < t.FloodRate*keepFrac || float64(w.queries) < t.FloodMin*keepFrac {
		return false
	}
	recv := w.busiestAddr(func(a *addrStat) uint64 { return a.qRecv })
	if s := w.busiestAddr(func(a *addrStat) uint64 { return a.q }); s != nil {
		r.srcMax = s.q
	}
	if recv == nil || float64(recv.qRecv) < t.FloodMin*keepFrac {
		return false
	}
	if p := w.busiestPrefix(); p != nil {
		r.srcMax = max(r.srcMax, p.q)
	}
	if top := w.busiestZone(); top != nil {
		r.topZone, r.topQ, r.topNames = top.zone, top.q, top.distinct()
	}
	r.recv, r.srcs = recv.detached(), w.qSrcs.Estimate()
	return true
}

// detached returns a copy of a without the shortcuts into its window
// (which is reused).
func (a *addrStat) detached() *addrStat {
	c := *a
	c.pfx, c.lastZone = nil, nil
	return &c
}

// ordinaryQPS is the capture's ordinary query rate: the lower quartile of
// its seconds' queries (a second without any counts as zero; windows
// without any event are left out).
func (d *Detector) ordinaryQPS() float64 {
	if d.ordN != len(d.qsecs) {
		d.ordN = len(d.qsecs)
		if len(d.qsecs) > 0 {
			s := slices.Clone(d.qsecs)
			slices.Sort(s)
			d.ordQPS = float64(s[len(s)/4])
		}
	}
	return d.ordQPS
}

func topZones(m map[string]*zoneStat, f func(*zoneStat) uint64) []nameCount {
	var out []nameCount
	for _, z := range m {
		if n := f(z); n > 0 {
			out = append(out, nameCount{z.zone, n})
		}
	}
	sortNames(out)
	return out[:min(len(out), listLen)]
}

func sortNames(out []nameCount) {
	slices.SortFunc(out, func(a, b nameCount) int {
		if r := cmp.Compare(b.n, a.n); r != 0 {
			return r
		}
		return cmp.Compare(a.name, b.name)
	})
}

func topAddrList(m map[netip.Addr]*addrStat, f func(*addrStat) uint64) []addrCount {
	var out []addrCount
	for _, a := range m {
		if n := f(a); n > 0 {
			out = append(out, addrCount{a.addr, n})
		}
	}
	sortCounts(out)
	return out[:min(len(out), listLen)]
}

// episode is the windows of one finding: those where its rule held (held),
// with the windows just before and after where its key came near.
type episode struct {
	kind, key string
	wins      []*winRec
	held      []bool
	score     float64 // best score
	nHeld     int
}

type episodeKey struct{ kind, key string }

type hit struct {
	rec   *winRec
	score float64
}

// Findings returns what the detectors found, most severe first, then by
// start time.
func (d *Detector) Findings() []report.Finding {
	d.flush(math.MaxInt64)
	slices.SortStableFunc(d.recs, func(a, b *winRec) int { return cmp.Compare(a.idx, b.idx) })
	byIdx := map[int64]*winRec{}
	for _, r := range d.recs {
		if byIdx[r.idx] == nil {
			byIdx[r.idx] = r
		}
	}
	hits := map[episodeKey][]hit{}
	var order []episodeKey
	for _, r := range d.recs {
		for _, det := range detectors {
			k := det.kind()
			det.judge(d, r, func(key string, score float64) {
				ek := episodeKey{k, key}
				if _, ok := hits[ek]; !ok {
					order = append(order, ek)
				}
				hits[ek] = append(hits[ek], hit{r, score})
			})
		}
	}
	var fs []*Finding
	causes := map[string]bool{}
	for _, k := range order {
		det := detectorOf(k.kind)
		hs := hits[k]
		for len(hs) > 0 {
			n := 1
			for n < len(hs) && hs[n].rec.idx <= hs[n-1].rec.idx+2 { // one quiet window allowed
				n++
			}
			ep := d.episode(k, hs[:n], byIdx, det)
			if f := det.finding(d, ep); f != nil {
				fs = append(fs, f)
				if k.kind == KindRandomSubdomain || k.kind == KindTunneling {
					causes[k.key] = true
				}
			}
			hs = hs[n:]
		}
	}
	fs = append(fs, d.lowAndSlow(causes)...)
	fs = foldExplained(fs)
	slices.SortStableFunc(fs, func(a, b *Finding) int {
		if r := cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)); r != 0 {
			return r
		}
		if r := cmp.Compare(a.Start, b.Start); r != 0 {
			return r
		}
		return cmp.Compare(a.Kind, b.Kind)
	})
	out := make([]report.Finding, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Report())
	}
	return out
}

// foldExplained applies "one cause, one finding" across windows: an
// NXDOMAIN flood or SERVFAIL storm mostly for the zone cut of a
// random_subdomain or tunnel finding it overlaps, or a query flood from one
// of that finding's top sources, is listed in the cause's explains instead
// of standing as a finding of its own. (Windows where both rules held are
// already folded by the detectors.)
func foldExplained(fs []*Finding) []*Finding {
	var causes []*Finding
	for _, f := range fs {
		if f.Kind == KindRandomSubdomain || f.Kind == KindTunneling {
			causes = append(causes, f)
		}
	}
	if len(causes) == 0 {
		return fs
	}
	out := fs[:0]
	for _, f := range fs {
		if c := causeOf(f, causes); c != nil {
			key, n := explainedKey(f)
			i := slices.IndexFunc(c.Explains, func(e report.Explained) bool { return e.Kind == f.Kind && e.Key == key })
			if i < 0 {
				c.Explains = append(c.Explains, report.Explained{Kind: f.Kind, Key: key})
				i = len(c.Explains) - 1
			}
			c.Explains[i].Count += n
			continue
		}
		out = append(out, f)
	}
	return out
}

func causeOf(f *Finding, causes []*Finding) *Finding {
	for _, c := range causes {
		if f.Start > c.End || f.End < c.Start {
			continue
		}
		zone, tops := causeZone(c)
		switch ev := f.Evidence.(type) {
		case *NXDomainFloodEvidence:
			if len(ev.Zones) > 0 && ev.Zones[0].Name == zone {
				return c
			}
		case *ServfailStormEvidence:
			if len(ev.Zones) > 0 && ev.Zones[0].Name == zone {
				return c
			}
		case *QueryFloodEvidence:
			for _, t := range tops {
				if t.Name == ev.Source || ev.Prefix != "" && prefixContains(ev.Prefix, t.Name) {
					return c
				}
			}
		}
	}
	return nil
}

func causeZone(c *Finding) (string, []report.TopItem) {
	switch ev := c.Evidence.(type) {
	case *RandomSubdomainEvidence:
		return ev.Zone, ev.TopSources
	case *TunnelingEvidence:
		return ev.Zone, ev.TopSources
	}
	return "", nil
}

func prefixContains(p, a string) bool {
	pp, err1 := netip.ParsePrefix(p)
	aa, err2 := netip.ParseAddr(a)
	return err1 == nil && err2 == nil && pp.Contains(aa)
}

func explainedKey(f *Finding) (string, uint64) {
	switch ev := f.Evidence.(type) {
	case *NXDomainFloodEvidence:
		return "", ev.NXDomain
	case *ServfailStormEvidence:
		return "", ev.Servfail
	case *QueryFloodEvidence: // a source's or prefix's (causeOf folds no target's)
		return ev.Source + ev.Prefix, ev.Queries
	}
	return "", 0
}

func detectorOf(kind string) detector {
	for _, det := range detectors {
		if det.kind() == kind {
			return det
		}
	}
	return nil
}

// maxLead is how many windows before its first held window a finding may
// begin (an attack that starts late in a window may not reach the
// thresholds there).
const maxLead = 2

func (d *Detector) episode(k episodeKey, hs []hit, byIdx map[int64]*winRec, det detector) *episode {
	ep := &episode{kind: k.kind, key: k.key}
	first, last := hs[0].rec.idx, hs[len(hs)-1].rec.idx
	lo := first
	for i := int64(1); i <= maxLead; i++ {
		r := byIdx[first-i]
		if r == nil || !det.present(r, k.key) {
			break
		}
		lo = first - i
	}
	hi := last
	if r := byIdx[last+1]; r != nil && det.present(r, k.key) {
		hi = last + 1
	}
	held := map[int64]float64{}
	for _, h := range hs {
		held[h.rec.idx] = h.score
	}
	for i := lo; i <= hi; i++ {
		r := byIdx[i]
		if r == nil {
			continue
		}
		_, ok := held[i]
		if !ok && !det.present(r, k.key) {
			continue
		}
		ep.wins = append(ep.wins, r)
		ep.held = append(ep.held, ok)
		if ok {
			ep.nHeld++
			ep.score = max(ep.score, held[i])
		}
	}
	return ep
}

// when places an episode in time from each window's per-second series
// (nil: the window does not count): the peak second, and the first and
// last seconds reaching a tenth of it. Times stay within the events seen.
// It also returns the peak per second and the series' sum over the
// episode's windows.
// addrEpisode is an address-keyed episode's times (on the series pick
// chooses) and its address' counts merged over the episode's windows;
// each, when set, sees every window where the address was counted.
func (d *Detector) addrEpisode(ep *episode, pick func(*addrStat) *series, each func(*winRec)) (a addrStat, start, peak, end int64, rate float64) {
	ta, _ := netip.ParseAddr(ep.key)
	start, peak, end, rate, _ = d.when(ep, func(r *winRec) *series {
		if x := r.addrs[ta]; x != nil {
			return pick(x)
		}
		return nil
	})
	for _, r := range ep.wins {
		if x := r.addrs[ta]; x != nil {
			a.merge(x)
			if each != nil {
				each(r)
			}
		}
	}
	return a, start, peak, end, rate
}

func (d *Detector) when(ep *episode, s func(r *winRec) *series) (start, peak, end int64, rate float64, sum uint64) {
	var best uint32
	for _, r := range ep.wins {
		if x := s(r); x != nil {
			sum += x.sum()
			if p, i := x.peak(); p > best {
				best, peak = p, max(r.start(i), r.first)
			}
		}
	}
	lim := max(best/10, 1)
	start, end = math.MaxInt64, math.MinInt64
	for _, r := range ep.wins {
		x := s(r)
		if x == nil {
			continue
		}
		for i, v := range x {
			if v >= lim && v > 0 {
				start = min(start, max(r.start(i), r.first))
				end = max(end, min(r.start(i)+1e9, r.last))
			}
		}
	}
	if start > end { // nothing counted: the windows' span
		start, end = ep.wins[0].first, ep.wins[len(ep.wins)-1].last
	}
	peak = min(max(peak, start), end)
	return start, peak, end, float64(best), sum
}

func severityRank(s string) int {
	switch s {
	case "high":
		return 0
	case "medium":
		return 1
	}
	return 2
}

// severity is high when the rule's main measure reached 10 times its
// threshold in some window.
func severity(score float64) string {
	if score >= 10 {
		return "high"
	}
	return "medium"
}

// confidence of a finding from its best score (measure over threshold)
// and the number of windows where its rule held: 0.5 at the threshold in
// one window, nearer 1 the further beyond and the longer.
func confidence(score float64, windows int) float64 {
	return round2(1 - 0.5/math.Pow(max(score, 1), math.Sqrt(float64(max(windows, 1)))))
}

func round(f float64) float64  { return math.Round(f*1000) / 1000 }
func round2(f float64) float64 { return math.Round(f*100) / 100 }

func addrItems(cs []addrCount) []report.TopItem {
	out := make([]report.TopItem, len(cs))
	for i, c := range cs {
		out[i] = report.TopItem{Name: c.a.String(), Estimate: c.n}
	}
	return out
}

func nameItems(cs []nameCount) []report.TopItem {
	out := make([]report.TopItem, len(cs))
	for i, c := range cs {
		out[i] = report.TopItem{Name: c.name, Estimate: c.n}
	}
	return out
}
