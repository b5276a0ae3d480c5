// Package findings names attacks and incidents in the traffic: per-bucket
// evidence gathered by shards (State), merged per bucket, and detectors
// that read the buckets in order (Detector) and report findings with
// capture-time start, peak and end.
//
// Detectors and their thresholds are described on Thresholds, in
// ThresholdDocs and in docs/findings.md. Rates are taken over the busiest slot of a
// bucket (see clock), counts over the whole bucket; a finding spans the
// consecutive buckets (one quiet bucket allowed) where its rule held.
package findings

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"

	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/sketch"
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

// maxBaselineZones bounds the per-zone label sums kept for the baseline.
const maxBaselineZones = 4096

// listLen is the length of the lists in a finding's evidence.
const listLen = 5

// Detector reads the merged buckets in time order.
type Detector struct {
	t       Thresholds
	width   int64 // bucket width, ns
	recs    []*bucketRec
	total   labelSums
	zones   map[string]*labelSums
	dropped Dropped
}

type labelSums struct{ n, length, entropyMb uint64 }

func (l *labelSums) add(n, length, e uint64) {
	l.n += n
	l.length += length
	l.entropyMb += e
}

// bucketRec keeps what the detectors need of a bucket with a candidate.
type bucketRec struct {
	start, end int64
	clk        clock
	queries    uint64
	responses  uint64
	nx, sf     uint64
	nxs, sfs   slots
	zones      []*zoneStat // random_subdomain / dns_tunneling candidates
	nxZones    []nameCount
	sfZones    []nameCount
	nxClients  []addrCount
	nxServers  []addrCount
	sfServers  []addrCount
	sfClients  []addrCount
	addrs      []*addrStat   // flood, reflection, SYN candidates
	prefixes   []*prefixStat // flood candidates
	synSrcs    uint64
	// Set while deciding: NXDOMAIN and SERVFAIL explained by
	// random_subdomain findings in this bucket.
	nxExplained, sfExplained uint64
}

type nameCount struct {
	name string
	n    uint64
}

// NewDetector returns a detector with the given thresholds (nil: defaults).
func NewDetector(t *Thresholds) *Detector {
	d := &Detector{t: DefaultThresholds(), zones: map[string]*labelSums{}}
	if t != nil {
		d.t = *t
	}
	return d
}

// Dropped returns what the states' bounds left out over the run, for the
// report's integrity section.
func (d *Detector) Dropped() Dropped { return d.dropped }

func rate(s *slots, c clock) float64 {
	if c.res == 0 {
		return 0
	}
	p, _ := s.peak()
	return float64(p) / float64(c.res)
}

func share(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (z *zoneStat) meanLen() float64     { return share(z.subLen, z.labelN) }
func (z *zoneStat) meanEntropy() float64 { return share(z.entropyMb, z.labelN) / 1000 }
func (z *zoneStat) distinct() uint64     { return z.names.Estimate() }

// AddBucket takes one closed bucket's merged state and its report section.
// It keeps only what a detector may need: the candidates of the bucket.
func (d *Detector) AddBucket(start, end int64, s *State, sec *report.Section) {
	if d.width == 0 {
		d.width = end - start
	}
	d.dropped.Zones += s.Dropped.Zones
	d.dropped.Addrs += s.Dropped.Addrs
	d.dropped.Prefixes += s.Dropped.Prefixes
	t := &d.t
	r := &bucketRec{start: start, end: end, clk: s.clk, queries: s.queries, responses: s.responses,
		nx: s.nx, sf: s.servfail, nxs: s.nxs, sfs: s.sfs, synSrcs: s.synSrcs.Estimate()}
	keep := false
	for _, z := range sortedZones(s.zones) {
		if z.labelN > 0 {
			d.total.add(z.labelN, z.subLen, z.entropyMb)
			b := d.zones[z.zone]
			if b == nil && len(d.zones) < maxBaselineZones {
				b = &labelSums{}
				d.zones[z.zone] = b
			}
			if b != nil {
				b.add(z.labelN, z.subLen, z.entropyMb)
			}
		}
		dn := z.distinct()
		rs := float64(dn) >= t.RSNames && share(dn, z.q) >= t.RSUnique
		tun := float64(z.q) >= t.TunQueries && z.meanLen() >= t.TunLen && z.meanEntropy() >= t.TunEntropy
		if rs || tun {
			c := *z
			c.names, c.srcs = z.names.Clone(), z.srcs.Clone()
			r.zones = append(r.zones, &c)
			keep = true
		}
	}
	if float64(s.nx) >= t.NXMin || float64(s.servfail) >= t.SFMin {
		keep = true
		r.nxZones = topZones(s.zones, func(z *zoneStat) uint64 { return z.nx })
		r.sfZones = topZones(s.zones, func(z *zoneStat) uint64 { return z.sf })
		r.nxClients = topAddrList(s.addrs, func(a *addrStat) uint64 { return a.nxGot })
		r.nxServers = topAddrList(s.addrs, func(a *addrStat) uint64 { return a.nxSent })
		r.sfServers = topAddrList(s.addrs, func(a *addrStat) uint64 { return a.sfSent })
		r.sfClients = sfClients(s)
	}
	for _, a := range sortedAddrs(s.addrs) {
		flood := float64(a.q) >= t.FloodMin && rate(&a.qs, s.clk) >= t.FloodRate
		refl := float64(a.rBytes) >= t.ReflBytes && rate(&a.rbs, s.clk) >= t.ReflRate
		syn := float64(a.syn) >= t.SYNMin && rate(&a.syns, s.clk) >= t.SYNRate
		if flood || refl || syn {
			c := *a
			c.pfx, c.lastZone = nil, nil // the state's own, reused after Reset
			r.addrs = append(r.addrs, &c)
			keep = true
		}
	}
	for _, p := range s.prefixes {
		if float64(p.q) >= t.FloodMin && rate(&p.qs, s.clk) >= t.FloodRate && p.src.Estimate() > 1 {
			c := *p
			c.src = p.src.Clone()
			r.prefixes = append(r.prefixes, &c)
			keep = true
		}
	}
	slices.SortFunc(r.prefixes, func(a, b *prefixStat) int { return a.p.Addr().Compare(b.p.Addr()) })
	if keep {
		d.recs = append(d.recs, r)
	}
}

func topZones(m map[string]*zoneStat, f func(*zoneStat) uint64) []nameCount {
	var out []nameCount
	for _, z := range m {
		if n := f(z); n > 0 {
			out = append(out, nameCount{z.zone, n})
		}
	}
	slices.SortFunc(out, func(a, b nameCount) int {
		if r := cmp.Compare(b.n, a.n); r != 0 {
			return r
		}
		return cmp.Compare(a.name, b.name)
	})
	return out[:min(len(out), listLen)]
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

// sfClients lists the addresses that received responses from the servers
// answering SERVFAIL; the state does not pair rcodes with clients, so this
// is the addresses receiving the most responses while SERVFAIL was high.
func sfClients(s *State) []addrCount {
	return topAddrList(s.addrs, func(a *addrStat) uint64 { return a.r })
}

func sortedAddrs(m map[netip.Addr]*addrStat) []*addrStat {
	as := make([]*addrStat, 0, len(m))
	for _, a := range m {
		as = append(as, a)
	}
	slices.SortFunc(as, func(a, b *addrStat) int { return a.addr.Compare(b.addr) })
	return as
}

// hit is one bucket where a rule held for a key.
type hit struct {
	rec   *bucketRec
	zone  *zoneStat
	addr  *addrStat
	pfx   *prefixStat
	score float64 // observed / threshold of the rule's main measure
}

type episodeKey struct{ kind, key string }

// Findings returns what the detectors found, most severe first, then by
// start time.
func (d *Detector) Findings() []report.Finding {
	t := &d.t
	hits := map[episodeKey][]hit{}
	var order []episodeKey
	add := func(kind, key string, h hit) {
		k := episodeKey{kind, key}
		if _, ok := hits[k]; !ok {
			order = append(order, k)
		}
		hits[k] = append(hits[k], h)
	}
	for _, r := range d.recs {
		for _, z := range r.zones {
			if d.tunnel(z) {
				add(KindTunneling, z.zone, hit{rec: r, zone: z, score: z.meanLen() / max(t.TunLen, 1)})
				continue
			}
			if d.randomSubdomain(z) {
				add(KindRandomSubdomain, z.zone, hit{rec: r, zone: z, score: float64(z.distinct()) / max(t.RSNames, 1)})
				r.nxExplained += z.nx
				r.sfExplained += z.sf
			}
		}
		if nx := r.nx - min(r.nx, r.nxExplained); float64(nx) >= t.NXMin && share(nx, r.responses) >= t.NXShare {
			if pr := rate(&r.nxs, r.clk) * share(nx, r.nx); pr >= t.NXRate {
				add(KindNXDomainFlood, "", hit{rec: r, score: pr / max(t.NXRate, 1)})
			}
		}
		if sf := r.sf - min(r.sf, r.sfExplained); float64(sf) >= t.SFMin && share(sf, r.responses) >= t.SFShare {
			if pr := rate(&r.sfs, r.clk) * share(sf, r.sf); pr >= t.SFRate {
				add(KindServfailStorm, "", hit{rec: r, score: pr / max(t.SFRate, 1)})
			}
		}
		flooders := map[netip.Prefix]bool{}
		for _, a := range r.addrs {
			if q := rate(&a.qs, r.clk); float64(a.q) >= t.FloodMin && q >= t.FloodRate {
				add(KindQueryFlood, a.addr.String(), hit{rec: r, addr: a, score: q / max(t.FloodRate, 1)})
				flooders[prefixOf(a.addr)] = true
			}
			if b := rate(&a.rbs, r.clk); float64(a.rBytes) >= t.ReflBytes && b >= t.ReflRate &&
				share(a.rBytes, a.qBytes) >= t.ReflRatio || a.qBytes == 0 && a.rBytes > 0 {
				if float64(a.rBytes) >= t.ReflBytes && b >= t.ReflRate &&
					(share(a.big, a.r) >= t.ReflShare || share(a.r-min(a.r, a.q), a.r) >= t.ReflShare) {
					add(KindReflection, a.addr.String(), hit{rec: r, addr: a, score: b / max(t.ReflRate, 1)})
				}
			}
			if sr := rate(&a.syns, r.clk); float64(a.syn) >= t.SYNMin && sr >= t.SYNRate {
				add(KindSYNFlood, a.addr.String(), hit{rec: r, addr: a, score: sr / max(t.SYNRate, 1)})
			}
		}
		for _, p := range r.prefixes {
			if !flooders[p.p] {
				add(KindQueryFlood, p.p.String(), hit{rec: r, pfx: p, score: rate(&p.qs, r.clk) / max(t.FloodRate, 1)})
			}
		}
	}
	out := []report.Finding{}
	for _, k := range order {
		hs := hits[k]
		for len(hs) > 0 {
			n := 1
			for n < len(hs) && hs[n].rec.start <= hs[n-1].rec.end+d.width {
				n++
			}
			out = append(out, d.finding(k, hs[:n]))
			hs = hs[n:]
		}
	}
	slices.SortStableFunc(out, func(a, b report.Finding) int {
		if r := cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)); r != 0 {
			return r
		}
		if r := cmp.Compare(a.Start, b.Start); r != 0 {
			return r
		}
		return cmp.Compare(a.Kind, b.Kind)
	})
	return out
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

func (d *Detector) tunnel(z *zoneStat) bool {
	t := &d.t
	return float64(z.q) >= t.TunQueries && z.meanLen() >= t.TunLen && z.meanEntropy() >= t.TunEntropy &&
		(share(z.dataTypes, z.q) >= t.TunTypes || share(z.distinct(), z.q) >= 0.9)
}

// baseline returns the mean length and entropy of the labels under every
// other zone of the capture (or generic values when there are too few).
func (d *Detector) baseline(zone string) (length, entropy float64) {
	o := d.total
	if b := d.zones[zone]; b != nil {
		o.n -= b.n
		o.length -= b.length
		o.entropyMb -= b.entropyMb
	}
	if o.n < 20 {
		return 8, 2
	}
	return share(o.length, o.n), share(o.entropyMb, o.n) / 1000
}

func (d *Detector) randomSubdomain(z *zoneStat) bool {
	t := &d.t
	if float64(z.distinct()) < t.RSNames || share(z.distinct(), z.q) < t.RSUnique {
		return false
	}
	if share(z.nx+z.sf, z.r) >= t.RSFail {
		return true
	}
	bl, be := d.baseline(z.zone)
	return z.labelN > 0 && (z.meanLen() >= bl+t.RSLenDelta || z.meanEntropy() >= be+t.RSEntropyDelta)
}

func round(f float64) float64 { return math.Round(f*1000) / 1000 }

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

// when returns start, peak and end of an episode from each bucket's series.
func when(hs []hit, series func(hit) *slots) (start, peak, end int64) {
	var best uint32
	peak = hs[0].rec.start
	for _, h := range hs {
		if p, i := series(h).peak(); p > best {
			best, peak = p, max(h.rec.clk.start(i), h.rec.start)
		}
	}
	lim := max(best/10, 1)
	f, l := hs[0], hs[len(hs)-1]
	start, end = f.rec.start, l.rec.end
	if i, _ := series(f).span(lim); i >= 0 {
		start = max(start, f.rec.clk.start(i))
	}
	if _, j := series(l).span(lim); j >= 0 {
		end = min(end, l.rec.clk.start(j)+l.rec.clk.res*1e9)
	}
	peak = min(max(peak, start), end)
	return start, peak, end
}

func severity(hs []hit) string {
	best := 0.0
	for _, h := range hs {
		best = max(best, h.score)
	}
	if best >= 10 {
		return "high"
	}
	return "medium"
}

func (d *Detector) finding(k episodeKey, hs []hit) report.Finding {
	f := report.Finding{Kind: k.kind, Severity: severity(hs), Evidence: map[string]any{"buckets": len(hs)}}
	var s, p, e int64
	ev := f.Evidence
	switch k.kind {
	case KindRandomSubdomain, KindTunneling:
		s, p, e = when(hs, func(h hit) *slots { return &h.zone.qs })
		z := *hs[0].zone
		z.names, z.srcs = z.names.Clone(), z.srcs.Clone()
		for _, h := range hs[1:] {
			z.merge(h.zone, h.rec.clk, h.rec.clk)
		}
		srcs := z.srcs.Estimate()
		ev["zone"] = z.zone
		ev["queries"] = z.q
		ev["responses"] = z.r
		ev["distinct_names"] = z.distinct()
		ev["distinct_per_query"] = round(share(z.distinct(), z.q))
		ev["nxdomain"] = z.nx
		ev["servfail"] = z.sf
		ev["sources"] = srcs
		ev["top_sources"] = addrItems(z.top.list(listLen))
		ev["transport"] = map[string]uint64{"udp": z.udp, "tcp": z.tcp}
		ev["ip_version"] = map[string]uint64{"ipv4": z.v4, "ipv6": z.v6}
		ev["label_len_mean"] = round(z.meanLen())
		ev["label_entropy_mean"] = round(z.meanEntropy())
		if k.kind == KindRandomSubdomain {
			bl, be := d.baseline(z.zone)
			ev["failure_share"] = round(share(z.nx+z.sf, z.r))
			ev["baseline_label_len"] = round(bl)
			ev["baseline_label_entropy"] = round(be)
			f.Summary = fmt.Sprintf("Random-subdomain attack on %s: %d distinct names in %d queries from %d source(s), %.0f%% of answers NXDOMAIN or SERVFAIL.",
				z.zone, z.distinct(), z.q, srcs, 100*share(z.nx+z.sf, z.r))
		} else {
			ev["longest_label_mean"] = round(share(z.maxLabel, z.labelN))
			ev["data_type_share"] = round(share(z.dataTypes, z.q))
			ev["query_bytes"] = z.qBytes
			ev["response_bytes"] = z.rBytes
			f.Summary = fmt.Sprintf("Possible DNS tunnel through %s: %d queries with %.0f-character, %.1f-bit names carried %d bytes, from %d source(s).",
				z.zone, z.q, z.meanLen(), z.meanEntropy(), z.qBytes+z.rBytes, srcs)
		}
	case KindNXDomainFlood, KindServfailStorm:
		nx := k.kind == KindNXDomainFlood
		series := func(h hit) *slots { return &h.rec.sfs }
		if nx {
			series = func(h hit) *slots { return &h.rec.nxs }
		}
		s, p, e = when(hs, series)
		var n, resp uint64
		var pr float64
		zones := map[string]uint64{}
		var servers, clients addrTop
		for _, h := range hs {
			r := h.rec
			resp += r.responses
			zl, sl, cl := r.sfZones, r.sfServers, r.sfClients
			if nx {
				n += r.nx - min(r.nx, r.nxExplained)
				zl, sl, cl = r.nxZones, r.nxServers, r.nxClients
				pr = max(pr, rate(&r.nxs, r.clk)*share(r.nx-min(r.nx, r.nxExplained), r.nx))
			} else {
				n += r.sf - min(r.sf, r.sfExplained)
				pr = max(pr, rate(&r.sfs, r.clk)*share(r.sf-min(r.sf, r.sfExplained), r.sf))
			}
			for _, z := range zl {
				zones[z.name] += z.n
			}
			for _, a := range sl {
				servers.add(a.a, a.n)
			}
			for _, a := range cl {
				clients.add(a.a, a.n)
			}
		}
		var zl []nameCount
		for z, c := range zones {
			zl = append(zl, nameCount{z, c})
		}
		slices.SortFunc(zl, func(a, b nameCount) int {
			if r := cmp.Compare(b.n, a.n); r != 0 {
				return r
			}
			return cmp.Compare(a.name, b.name)
		})
		zl = zl[:min(len(zl), listLen)]
		ev["responses"] = resp
		ev["share"] = round(share(n, resp))
		ev["peak_per_second"] = round(pr)
		ev["zones"] = nameItems(zl)
		ev["servers"] = addrItems(servers.list(listLen))
		top := "-"
		if len(zl) > 0 {
			top = zl[0].name
		}
		if nx {
			ev["nxdomain"] = n
			ev["clients"] = addrItems(clients.list(listLen))
			f.Summary = fmt.Sprintf("NXDOMAIN flood: %d NXDOMAIN answers (%.0f%% of responses, up to %.0f/s), mostly for %s.",
				n, 100*share(n, resp), pr, top)
		} else {
			ev["servfail"] = n
			ev["upstreams"] = addrItems(servers.list(listLen))
			ev["clients"] = addrItems(clients.list(listLen))
			up := "-"
			if l := servers.list(1); len(l) > 0 {
				up = l[0].a.String()
			}
			f.Summary = fmt.Sprintf("SERVFAIL storm: %d SERVFAIL answers (%.0f%% of responses, up to %.0f/s) from %s, mostly for %s.",
				n, 100*share(n, resp), pr, up, top)
		}
	case KindQueryFlood:
		var q, total, anyQ uint64
		var pr float64
		var srcs *sketch.Cardinality
		if hs[0].pfx != nil {
			s, p, e = when(hs, func(h hit) *slots { return &h.pfx.qs })
			srcs = sketch.NewCardinality()
			for _, h := range hs {
				q += h.pfx.q
				total += h.rec.queries
				pr = max(pr, rate(&h.pfx.qs, h.rec.clk))
				srcs.Merge(h.pfx.src)
			}
			ev["prefix"] = k.key
			ev["sources"] = srcs.Estimate()
		} else {
			s, p, e = when(hs, func(h hit) *slots { return &h.addr.qs })
			for _, h := range hs {
				q += h.addr.q
				anyQ += h.addr.anyQ
				total += h.rec.queries
				pr = max(pr, rate(&h.addr.qs, h.rec.clk))
			}
			ev["source"] = k.key
			ev["any_queries"] = anyQ
		}
		ev["queries"] = q
		ev["share_of_queries"] = round(share(q, total))
		ev["peak_qps"] = round(pr)
		f.Summary = fmt.Sprintf("Query flood from %s: %d queries (%.0f%% of all), up to %.0f per second.", k.key, q, 100*share(q, total), pr)
	case KindReflection:
		s, p, e = when(hs, func(h hit) *slots { return &h.addr.rbs })
		var a addrStat
		var pr float64
		for _, h := range hs {
			a.merge(h.addr, h.rec.clk, h.rec.clk)
			pr = max(pr, rate(&h.addr.rbs, h.rec.clk))
		}
		ev["target"] = k.key
		ev["responses"] = a.r
		ev["response_bytes"] = a.rBytes
		ev["queries"] = a.q
		ev["query_bytes"] = a.qBytes
		ev["amplification"] = round(share(a.rBytes, max(a.qBytes, 1)))
		ev["any_or_large"] = a.big
		ev["unmatched_responses"] = a.r - min(a.r, a.q)
		ev["peak_bytes_per_second"] = round(pr)
		f.Summary = fmt.Sprintf("Reflection/amplification towards %s: %d responses, %d bytes (%.1fx its %d query bytes), %d of them ANY or large.",
			k.key, a.r, a.rBytes, share(a.rBytes, max(a.qBytes, 1)), a.qBytes, a.big)
	case KindSYNFlood:
		s, p, e = when(hs, func(h hit) *slots { return &h.addr.syns })
		var a addrStat
		var pr float64
		var srcs uint64
		for _, h := range hs {
			a.merge(h.addr, h.rec.clk, h.rec.clk)
			pr = max(pr, rate(&h.addr.syns, h.rec.clk))
			srcs = max(srcs, h.rec.synSrcs)
		}
		ev["target"] = k.key
		ev["syns"] = a.syn
		ev["syn_acks"] = a.synAck
		ev["peak_per_second"] = round(pr)
		ev["syn_sources_in_bucket"] = srcs
		f.Summary = fmt.Sprintf("TCP SYN flood towards %s: %d SYNs (up to %.0f/s), %d SYN-ACKs back.", k.key, a.syn, pr, a.synAck)
	}
	f.Start, f.Peak, f.End = report.Timestamp(s), report.Timestamp(p), report.Timestamp(e)
	return f
}
