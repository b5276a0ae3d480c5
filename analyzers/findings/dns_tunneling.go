package findings

import "fmt"

// dns_tunneling: data carried in the names under a zone cut: long, random
// names, mostly of the types that carry data back (TXT, NULL, CNAME, MX) or
// never repeating. Judged under the cut (t.example.test), so ordinary
// traffic in the parent zone does not dilute it. It replaces
// random_subdomain for its cut.
type tunneling struct{}

// TunnelingEvidence is the evidence of a dns_tunneling finding.
type TunnelingEvidence struct {
	ZoneEvidence
	LongestLabelMean float64 `json:"longest_label_mean"`
	DataTypeShare    float64 `json:"data_type_share"`
	QueryBytes       uint64  `json:"query_bytes"`
	ResponseBytes    uint64  `json:"response_bytes"`
}

func init() { register(tunneling{}) }

func (tunneling) order() int         { return 10 }
func (tunneling) evidence() evidence { return &TunnelingEvidence{} }
func (tunneling) present(r *winRec, key string) bool {
	return r.zones[key] != nil
}

func (tunneling) kind() string { return KindTunneling }

func (tunneling) judge(d *Detector, r *winRec, held func(string, float64)) {
	t := &d.t
	for _, z := range sortedZones(r.zones) {
		long := z.meanLen() >= t.TunLen && z.meanEntropy() >= t.TunEntropy &&
			(share(z.dataTypes, z.q) >= t.TunTypes || share(z.distinct(), z.q) >= 0.9)
		if float64(z.q) >= t.TunQueries && (long || d.shortTunnel(z)) {
			held(z.zone, z.meanLen()/max(t.TunLen, 1)*float64(z.q)/max(t.TunQueries, 1))
			r.causes = append(r.causes, z)
			r.nxExpl += z.nx
			r.sfExpl += z.sf
		}
	}
}

// shortTunnel is the rule for tunnels that keep their labels short
// (dnscat2-like hex, base32 in short labels), whose names are too short and
// of too few characters for the entropy of the long rule: data types, every
// name new, machine-made, and answered (a random-subdomain attack's names
// fail).
func (d *Detector) shortTunnel(z *zoneStat) bool {
	t := &d.t
	return z.meanLen() >= t.TunShortLen && share(z.dataTypes, z.q) >= t.TunTypes && share(z.distinct(), z.q) >= 0.9 &&
		randomShare(&z.sample) >= t.RSRandom && share(z.nx+z.sf, z.r) < t.RSFail
}

func (tunneling) finding(d *Detector, ep *episode) *Finding {
	start, peak, end, pq := d.cutWhen(ep, false)
	var z *zoneStat
	for _, r := range ep.wins {
		if x := r.zones[ep.key]; x != nil {
			if z == nil {
				z = x.clone()
			} else {
				z.merge(x)
			}
		}
	}
	ev := &TunnelingEvidence{ZoneEvidence: zoneCommon(z),
		LongestLabelMean: round(share(z.maxLabel, z.labelN)), DataTypeShare: round(share(z.dataTypes, z.q)),
		QueryBytes: z.qBytes, ResponseBytes: z.rBytes,
	}
	ev.Windows, ev.PeakQPS = ep.nHeld, pq
	srcs := ev.Sources
	f := &Finding{Kind: KindTunneling, Severity: severity(ep.score), Start: start, Peak: peak, End: end, Evidence: ev,
		Explains: explains(ep), Confidence: confidence(ep.score, ep.nHeld)}
	f.Summary = fmt.Sprintf("Possible DNS tunnel through %s: %d queries with %.0f-character, %.1f-bit names carried %d bytes, from %d source(s).",
		z.zone, z.q, z.meanLen(), z.meanEntropy(), z.qBytes+z.rBytes, srcs)
	f.Why = fmt.Sprintf("%d queries under %s whose names carry %.0f characters on average at %.1f bits a character; %.0f%% of them TXT, NULL, CNAME or MX, %.2f distinct names per query.",
		z.q, z.zone, z.meanLen(), z.meanEntropy(), 100*share(z.dataTypes, z.q), share(z.distinct(), z.q))
	f.Next = []string{
		"carve the zone's messages (--carve DIR) and decode a few names (base32, base64, hex)",
		"find who operates " + z.zone + " (its NS records, its registration) and which host inside sends these queries",
		"look at that host's other traffic around the same time",
	}
	return f
}
