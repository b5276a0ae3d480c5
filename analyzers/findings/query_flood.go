package findings

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// query_flood: queries from one address, or else from one /24 (IPv4) or
// /64 (IPv6) with several sources, many and at a high rate; or, when no
// one source nor prefix sent half of them (spoofed sources, a botnet),
// queries to one address, many, at a high rate and far above the
// capture's ordinary rate. Queries that go mostly to a zone cut with a
// random_subdomain or tunnel finding in the same window are that
// finding's (listed in its explains), not a flood of their own.
type queryFlood struct{}

// QueryFloodEvidence is the evidence of a query_flood finding: Source for
// one address, Prefix and Sources for a prefix, Target, Sources,
// SourcesPerQuery, AskedZone, AskedNames and OrdinaryQPS for a flood to
// one address from many sources.
type QueryFloodEvidence struct {
	Common
	Source string `json:"source,omitempty"`
	Prefix string `json:"prefix,omitempty"`
	Target string `json:"target,omitempty"`
	// Sources is the most distinct sources of the prefix (of all queries,
	// for a target) in one window.
	Sources        uint64  `json:"sources,omitempty"`
	Queries        uint64  `json:"queries"`
	ShareOfQueries float64 `json:"share_of_queries"`
	PeakQPS        float64 `json:"peak_qps"`
	AnyQueries     uint64  `json:"any_queries"`
	// SourcesPerQuery is, in the target's busiest window, the distinct
	// sources of queries per query it received: near 1 when spoofed (each
	// asks once).
	SourcesPerQuery float64 `json:"sources_per_query,omitempty"`
	// AskedZone is the zone cut its queries asked for again and again, at
	// the target's peak window, with AskedNames distinct names there.
	AskedZone   string  `json:"asked_zone,omitempty"`
	AskedNames  uint64  `json:"asked_names,omitempty"`
	OrdinaryQPS float64 `json:"ordinary_qps,omitempty"`
}

// targetKey is the episode key of a flood to a; source floods are keyed
// by the source address or prefix alone.
const targetKey = "to "

func (e *QueryFloodEvidence) selector(s *Selector) {
	if e.Target != "" {
		s.addr, _ = netip.ParseAddr(e.Target)
		s.Key = e.Target
		return
	}
	if p, err := netip.ParsePrefix(e.Prefix); err == nil {
		s.prefix, s.Key = p, e.Prefix
		return
	}
	s.addr, _ = netip.ParseAddr(e.Source)
	s.Key = e.Source
}

func init() { register(queryFlood{}) }

func (queryFlood) order() int         { return 50 }
func (queryFlood) evidence() evidence { return &QueryFloodEvidence{} }
func (queryFlood) present(r *winRec, key string) bool {
	if t, ok := strings.CutPrefix(key, targetKey); ok {
		a, err := netip.ParseAddr(t)
		return err == nil && r.recv != nil && r.recv.addr == a
	}
	if p, err := netip.ParsePrefix(key); err == nil {
		return r.prefixes[p] != nil
	}
	a, err := netip.ParseAddr(key)
	return err == nil && r.addrs[a] != nil
}

func (queryFlood) kind() string { return KindQueryFlood }

// cause returns the zone cut with a finding in r that received at least
// half of n queries counted by count, or nil.
func cause(r *winRec, n uint64, count func(z *zoneStat) uint64) *zoneStat {
	for _, z := range r.causes {
		if 2*count(z) >= n {
			return z
		}
	}
	return nil
}

func (queryFlood) judge(d *Detector, r *winRec, held func(string, float64)) {
	t := &d.t
	flooders := map[netip.Prefix]bool{}
	var flooded uint64 // queries of the sources and prefixes above
	addrs := make([]*addrStat, 0, len(r.addrs))
	for _, a := range r.addrs {
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, func(a, b *addrStat) int { return a.addr.Compare(b.addr) })
	for _, a := range addrs {
		q := peakRate(&a.qs)
		if float64(a.q) < t.FloodMin || q < t.FloodRate {
			continue
		}
		flooders[prefixOf(a.addr)] = true
		flooded += a.q
		if z := cause(r, a.q, func(z *zoneStat) uint64 { return z.top.count(a.addr) }); z != nil {
			r.explained = append(r.explained, explanation{zone: z.zone, kind: KindQueryFlood, key: a.addr.String(), count: a.q})
			continue
		}
		held(a.addr.String(), q/max(t.FloodRate, 1))
	}
	ps := make([]*prefixStat, 0, len(r.prefixes))
	for _, p := range r.prefixes {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b *prefixStat) int { return a.p.Addr().Compare(b.p.Addr()) })
	for _, p := range ps {
		q := peakRate(&p.qs)
		if flooders[p.p] || float64(p.q) < t.FloodMin || q < t.FloodRate || p.srcN < 2 {
			continue
		}
		flooded += p.q
		if z := cause(r, p.q, func(z *zoneStat) uint64 {
			var n uint64
			for _, e := range z.top.e[:z.top.n] {
				if p.p.Contains(e.a) {
					n += e.n
				}
			}
			return n
		}); z != nil {
			r.explained = append(r.explained, explanation{zone: z.zone, kind: KindQueryFlood, key: p.p.String(), count: p.q})
			continue
		}
		held(p.p.String(), q/max(t.FloodRate, 1))
	}
	judgeTarget(d, r, flooded, held)
}

// judgeTarget holds a flood to r's busiest receiver when no source or
// prefix sent half of its queries (flooded: what the source and prefix
// rules took), half of them or more asked again and again for names of
// one zone cut (ordinary traffic, however busy, asks for many names), and
// the window's busiest second rose far above the capture's ordinary
// rate, or nearly every query came from a source of its own (spoofed: a
// capture of nothing but the flood has no ordinary rate to rise above).
func judgeTarget(d *Detector, r *winRec, flooded uint64, held func(string, float64)) {
	t, a := &d.t, r.recv
	if a == nil {
		return
	}
	q := peakRate(&r.qs)
	if float64(a.qRecv) < t.FloodMin || q < t.FloodRate || 2*a.qRecv < r.queries ||
		2*r.srcMax >= a.qRecv || 2*flooded >= a.qRecv {
		return
	}
	if q < t.FloodRise*d.ordinaryQPS() && share(r.srcs, a.qRecv) < t.FloodSpoofed {
		return // neither above the ordinary rate nor one query a source
	}
	key := targetKey + a.addr.String()
	if z := cause(r, a.qRecv, func(z *zoneStat) uint64 { return z.q }); z != nil {
		// (Before the names' test: a random-subdomain attack's names are
		// many.)
		r.explained = append(r.explained, explanation{zone: z.zone, kind: KindQueryFlood, key: key, count: a.qRecv})
		return
	}
	if 2*r.topQ < a.qRecv || share(r.topNames, r.topQ) > t.FloodNames {
		return // not asking again and again for one cut's names
	}
	held(key, q/max(t.FloodRate, 1))
}

// targetFinding is a flood to one address from many sources.
func targetFinding(d *Detector, ep *episode, target string) *Finding {
	a, _ := netip.ParseAddr(target)
	ev := &QueryFloodEvidence{Common: Common{Windows: ep.nHeld}, Target: target, OrdinaryQPS: round(d.ordinaryQPS())}
	var total, peakQ uint64
	start, peak, end, pq, _ := d.when(ep, func(r *winRec) *series {
		if r.recv != nil && r.recv.addr == a {
			return &r.qs
		}
		return nil
	})
	for _, r := range ep.wins {
		total += r.queries
		if r.recv == nil || r.recv.addr != a {
			continue
		}
		ev.Queries += r.recv.qRecv
		ev.AnyQueries += r.recv.anyQ
		ev.Sources = max(ev.Sources, r.srcs)
		if p, _ := r.qs.peak(); uint64(p) >= peakQ {
			peakQ = uint64(p)
			ev.SourcesPerQuery = round(min(share(r.srcs, r.recv.qRecv), 1))
			ev.AskedZone, ev.AskedNames = r.topZone, r.topNames
		}
	}
	ev.PeakQPS = pq
	ev.ShareOfQueries = round(share(ev.Queries, total))
	f := &Finding{Kind: KindQueryFlood, Severity: severity(ep.score), Start: start, Peak: peak, End: end, Evidence: ev,
		Confidence: confidence(ep.score, ep.nHeld)}
	f.Summary = fmt.Sprintf("Query flood to %s from %d sources: %d queries (%.0f%% of all), up to %.0f per second (ordinarily %.0f).",
		target, ev.Sources, ev.Queries, 100*ev.ShareOfQueries, pq, ev.OrdinaryQPS)
	rise := fmt.Sprintf("%.0f times the capture's ordinary %.0f per second", pq/max(ev.OrdinaryQPS, 1), ev.OrdinaryQPS)
	if pq < d.t.FloodRise*ev.OrdinaryQPS {
		rise = fmt.Sprintf("no more than %.1f times the capture's ordinary %.0f per second (the capture holds little besides the flood)", pq/max(ev.OrdinaryQPS, 1), ev.OrdinaryQPS)
	}
	who := fmt.Sprintf("spread over %d sources in a window (%.2f a query): a botnet, or spoofed from a pool", ev.Sources, ev.SourcesPerQuery)
	if ev.SourcesPerQuery >= d.t.FloodSpoofed {
		who = fmt.Sprintf("nearly every query from a source of its own (%d sources in a window, %.2f a query): spoofed sources", ev.Sources, ev.SourcesPerQuery)
	}
	f.Why = fmt.Sprintf("%s received %d queries, up to %.0f in one second, %s; half or more asked again and again for names under %s (%d distinct at the peak), and no one source or prefix sent half of them: %s.",
		target, ev.Queries, pq, rise, ev.AskedZone, ev.AskedNames, who)
	f.Next = []string{
		"carve its traffic (--carve DIR): which names and types, and do the sources ask once each (spoofed) or again and again (a botnet)?",
		"spoofed sources: filter or rate-limit at the edge and ask the upstream network to; a botnet: block its sources, rate-limit per client",
	}
	return f
}

func (queryFlood) finding(d *Detector, ep *episode) *Finding {
	if t, ok := strings.CutPrefix(ep.key, targetKey); ok {
		return targetFinding(d, ep, t)
	}
	ev := &QueryFloodEvidence{Common: Common{Windows: ep.nHeld}}
	var total uint64
	var start, peak, end int64
	if p, err := netip.ParsePrefix(ep.key); err == nil {
		start, peak, end, ev.PeakQPS, ev.Queries = d.when(ep, func(r *winRec) *series {
			if x := r.prefixes[p]; x != nil {
				ev.Sources = max(ev.Sources, x.srcN)
				return &x.qs
			}
			return nil
		})
		ev.Prefix = ep.key
	} else {
		a, _ := netip.ParseAddr(ep.key)
		start, peak, end, ev.PeakQPS, ev.Queries = d.when(ep, func(r *winRec) *series {
			if x := r.addrs[a]; x != nil {
				return &x.qs
			}
			return nil
		})
		for _, r := range ep.wins {
			if x := r.addrs[a]; x != nil {
				ev.AnyQueries += x.anyQ
			}
		}
		ev.Source = ep.key
	}
	for _, r := range ep.wins {
		total += r.queries
	}
	ev.ShareOfQueries = round(share(ev.Queries, total))
	f := &Finding{Kind: KindQueryFlood, Severity: severity(ep.score), Start: start, Peak: peak, End: end, Evidence: ev,
		Confidence: confidence(ep.score, ep.nHeld)}
	f.Summary = fmt.Sprintf("Query flood from %s: %d queries (%.0f%% of all), up to %.0f per second.", ep.key, ev.Queries, 100*ev.ShareOfQueries, ev.PeakQPS)
	f.Why = fmt.Sprintf("%s sent %d queries, %.0f%% of all, up to %.0f in one second; they do not go mostly to a zone under a random-subdomain attack.",
		ep.key, ev.Queries, 100*ev.ShareOfQueries, ev.PeakQPS)
	f.Next = []string{
		"carve its traffic (--carve DIR): which names and types does it ask?",
		"a load test, a misbehaving forwarder or an attack: check who runs " + ep.key,
	}
	return f
}
