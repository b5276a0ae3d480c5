package findings

import (
	"fmt"

	"github.com/visor-dns/visor/report"
)

// nxdomain_flood: NXDOMAIN answers beyond what a random_subdomain or
// tunnel finding in the same window explains: many, a large share of the
// responses, at a high rate.
type nxdomainFlood struct{}

// NXDomainFloodEvidence is the evidence of an nxdomain_flood finding.
type NXDomainFloodEvidence struct {
	Common
	NXDomain      uint64           `json:"nxdomain"`
	Responses     uint64           `json:"responses"`
	Share         float64          `json:"share"`
	PeakPerSecond float64          `json:"peak_per_second"`
	Zones         []report.TopItem `json:"zones"`
	Servers       []report.TopItem `json:"servers"`
	Clients       []report.TopItem `json:"clients"`
}

func (e *NXDomainFloodEvidence) selector(s *Selector) {
	s.rcode = 3
	s.zones, s.Key = topNames(e.Zones)
}

// topNames returns the names of a top list and the first one ("all" when
// it is empty).
func topNames(items []report.TopItem) ([]string, string) {
	var zs []string
	for _, it := range items {
		zs = append(zs, it.Name)
	}
	if len(zs) == 0 {
		return nil, "all"
	}
	return zs, zs[0]
}

func init() { register(nxdomainFlood{}) }

func (nxdomainFlood) order() int         { return 30 }
func (nxdomainFlood) evidence() evidence { return &NXDomainFloodEvidence{} }
func (nxdomainFlood) present(r *winRec, key string) bool {
	return r.nx > 0
}

func (nxdomainFlood) kind() string { return KindNXDomainFlood }

// rcodeRule is the rule of nxdomain_flood and servfail_storm over one
// window: n answers with the rcode, expl of them explained, at most rate
// per second at the busiest second. It returns the score (0: the rule does
// not hold) and whether the answers alone, explained ones included, would
// have held.
func rcodeRule(min, shr, minRate float64, n, expl, responses uint64, s *series) (score float64, all bool) {
	pr := peakRate(s)
	all = float64(n) >= min && share(n, responses) >= shr && pr >= minRate
	u := n - minU(n, expl)
	ur := pr * share(u, n)
	if float64(u) >= min && share(u, responses) >= shr && ur >= minRate {
		return ur / max(minRate, 1), all
	}
	return 0, all
}

func minU(a, b uint64) uint64 {
	if a < b {
		return a
	}
	return b
}

func (nxdomainFlood) judge(d *Detector, r *winRec, held func(string, float64)) {
	t := &d.t
	score, all := rcodeRule(t.NXMin, t.NXShare, t.NXRate, r.nx, r.nxExpl, r.responses, &r.nxs)
	if score > 0 {
		held("", score)
	} else if all {
		for _, z := range r.causes {
			r.explained = append(r.explained, explanation{zone: z.zone, kind: KindNXDomainFlood, count: z.nx})
		}
	}
}

// rcodeEvidence gathers the counts and lists of an nxdomain_flood (nx) or
// servfail_storm episode.
type rcodeEvidence struct {
	n, responses            uint64
	rate                    float64
	zones, servers, clients []report.TopItem
	start, peak, end        int64
}

func (d *Detector) rcodeEpisode(ep *episode, nx bool) rcodeEvidence {
	var e rcodeEvidence
	e.start, e.peak, e.end, _, _ = d.when(ep, func(r *winRec) *series {
		if nx {
			return &r.nxs
		}
		return &r.sfs
	})
	zones := map[string]uint64{}
	var servers, clients addrTop
	for _, r := range ep.wins {
		e.responses += r.responses
		zl, sl, cl := r.sfZones, r.sfServers, r.sfClients
		n, expl, s := r.sf, r.sfExpl, &r.sfs
		if nx {
			zl, sl, cl = r.nxZones, r.nxServers, r.nxClients
			n, expl, s = r.nx, r.nxExpl, &r.nxs
		}
		u := n - minU(n, expl)
		e.n += u
		e.rate = max(e.rate, peakRate(s)*share(u, n))
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
	sortNames(zl)
	e.zones = nameItems(zl[:min(len(zl), listLen)])
	e.servers = addrItems(servers.list(listLen))
	e.clients = addrItems(clients.list(listLen))
	return e
}

func (nxdomainFlood) finding(d *Detector, ep *episode) *Finding {
	e := d.rcodeEpisode(ep, true)
	ev := &NXDomainFloodEvidence{Common: Common{Windows: ep.nHeld}, NXDomain: e.n, Responses: e.responses,
		Share: round(share(e.n, e.responses)), PeakPerSecond: round(e.rate), Zones: e.zones, Servers: e.servers, Clients: e.clients}
	top := "-"
	if len(e.zones) > 0 {
		top = e.zones[0].Name
	}
	f := &Finding{Kind: KindNXDomainFlood, Severity: severity(ep.score), Start: e.start, Peak: e.peak, End: e.end,
		Evidence: ev, Confidence: confidence(ep.score, ep.nHeld)}
	f.Summary = fmt.Sprintf("NXDOMAIN flood: %d NXDOMAIN answers (%.0f%% of responses, up to %.0f/s), mostly for %s.",
		e.n, 100*ev.Share, e.rate, top)
	f.Why = fmt.Sprintf("%d NXDOMAIN answers that no random-subdomain or tunnel finding explains, %.0f%% of the responses, up to %.0f in one second; the names repeat, so it is not a random-subdomain attack.",
		e.n, 100*ev.Share, e.rate)
	f.Next = []string{
		"look at the names most asked (top nxdomain in the buckets) and the clients asking them",
		"a misconfigured client or a broken search list repeats names; a flood from many clients is an attack",
	}
	return f
}
