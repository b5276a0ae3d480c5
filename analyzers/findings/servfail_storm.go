package findings

import (
	"fmt"

	"github.com/visor-dns/visor/report"
)

// servfail_storm: SERVFAIL answers beyond what a random_subdomain or
// tunnel finding in the same window explains (an unreachable or broken
// upstream, a DNSSEC failure): many, a share of the responses, at a rate.
type servfailStorm struct{}

// ServfailStormEvidence is the evidence of a servfail_storm finding.
type ServfailStormEvidence struct {
	Common
	Servfail      uint64           `json:"servfail"`
	Responses     uint64           `json:"responses"`
	Share         float64          `json:"share"`
	PeakPerSecond float64          `json:"peak_per_second"`
	Zones         []report.TopItem `json:"zones"`
	Servers       []report.TopItem `json:"servers"`
	// Upstreams are the servers answering SERVFAIL.
	Upstreams []report.TopItem `json:"upstreams"`
	Clients   []report.TopItem `json:"clients"`
}

func (e *ServfailStormEvidence) selector(s *Selector) {
	s.rcode = 2
	s.zones, s.Key = topNames(e.Zones)
}

func init() { register(servfailStorm{}) }

func (servfailStorm) order() int         { return 40 }
func (servfailStorm) evidence() evidence { return &ServfailStormEvidence{} }
func (servfailStorm) present(r *winRec, key string) bool {
	return r.sf > 0
}

func (servfailStorm) kind() string { return KindServfailStorm }

func (servfailStorm) judge(d *Detector, r *winRec, held func(string, float64)) {
	t := &d.t
	score, all := rcodeRule(t.SFMin, t.SFShare, t.SFRate, r.sf, r.sfExpl, r.responses, &r.sfs)
	if score > 0 {
		held("", score)
	} else if all {
		for _, z := range r.causes {
			if z.sf > 0 {
				r.explained = append(r.explained, explanation{zone: z.zone, kind: KindServfailStorm, count: z.sf})
			}
		}
	}
}

func (servfailStorm) finding(d *Detector, ep *episode) *Finding {
	e := d.rcodeEpisode(ep, false)
	ev := &ServfailStormEvidence{Common: Common{Windows: ep.nHeld}, Servfail: e.n, Responses: e.responses,
		Share: round(share(e.n, e.responses)), PeakPerSecond: round(e.rate), Zones: e.zones, Servers: e.servers,
		Upstreams: e.servers, Clients: e.clients}
	top, up := "-", "-"
	if len(e.zones) > 0 {
		top = e.zones[0].Name
	}
	if len(e.servers) > 0 {
		up = e.servers[0].Name
	}
	f := &Finding{Kind: KindServfailStorm, Severity: severity(ep.score), Start: e.start, Peak: e.peak, End: e.end,
		Evidence: ev, Confidence: confidence(ep.score, ep.nHeld)}
	f.Summary = fmt.Sprintf("SERVFAIL storm: %d SERVFAIL answers (%.0f%% of responses, up to %.0f/s) from %s, mostly for %s.",
		e.n, 100*ev.Share, e.rate, up, top)
	f.Why = fmt.Sprintf("%d SERVFAIL answers, %.0f%% of the responses, up to %.0f in one second, mostly from %s.",
		e.n, 100*ev.Share, e.rate, up)
	f.Next = []string{
		"check the resolver's upstreams and the authoritative servers of " + top + " (reachable? DNSSEC valid?)",
		"read the resolver's logs for the failing names at the same time",
	}
	return f
}
