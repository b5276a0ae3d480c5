package findings

import (
	"fmt"
	"net/netip"
	"slices"
)

// reflection: responses towards one address far beyond the queries it
// sent, mostly ANY or large, or with no query of its own (its address was
// spoofed).
type reflection struct{}

// ReflectionEvidence is the evidence of a reflection finding.
type ReflectionEvidence struct {
	Common
	Target             string  `json:"target"`
	Responses          uint64  `json:"responses"`
	ResponseBytes      uint64  `json:"response_bytes"`
	Queries            uint64  `json:"queries"`
	QueryBytes         uint64  `json:"query_bytes"`
	Amplification      float64 `json:"amplification"`
	AnyOrLarge         uint64  `json:"any_or_large"`
	UnmatchedResponses uint64  `json:"unmatched_responses"`
	PeakBytesPerSecond float64 `json:"peak_bytes_per_second"`
}

func (e *ReflectionEvidence) selector(s *Selector) {
	s.addr, _ = netip.ParseAddr(e.Target)
	s.Key = e.Target
}

func init() { register(reflection{}) }

func (reflection) order() int         { return 60 }
func (reflection) evidence() evidence { return &ReflectionEvidence{} }
func (reflection) present(r *winRec, key string) bool {
	a, err := netip.ParseAddr(key)
	return err == nil && r.addrs[a] != nil
}

func (reflection) kind() string { return KindReflection }

func (reflection) judge(d *Detector, r *winRec, held func(string, float64)) {
	t := &d.t
	addrs := make([]*addrStat, 0, len(r.addrs))
	for _, a := range r.addrs {
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, func(a, b *addrStat) int { return a.addr.Compare(b.addr) })
	for _, a := range addrs {
		b := peakRate(&a.rbs)
		if float64(a.rBytes) < t.ReflBytes || b < t.ReflRate {
			continue
		}
		if share(a.rBytes, a.qBytes) < t.ReflRatio && !(a.qBytes == 0 && a.rBytes > 0) {
			continue
		}
		if share(a.big, a.r) >= t.ReflShare || share(a.r-min(a.r, a.q), a.r) >= t.ReflShare {
			held(a.addr.String(), b/max(t.ReflRate, 1))
		}
	}
}

func (reflection) finding(d *Detector, ep *episode) *Finding {
	a, start, peak, end, pr := d.addrEpisode(ep, func(x *addrStat) *series { return &x.rbs }, nil)
	amp := share(a.rBytes, max(a.qBytes, 1))
	ev := &ReflectionEvidence{Common: Common{Windows: ep.nHeld}, Target: ep.key, Responses: a.r, ResponseBytes: a.rBytes,
		Queries: a.q, QueryBytes: a.qBytes, Amplification: round(amp), AnyOrLarge: a.big,
		UnmatchedResponses: a.r - min(a.r, a.q), PeakBytesPerSecond: round(pr)}
	f := &Finding{Kind: KindReflection, Severity: severity(ep.score), Start: start, Peak: peak, End: end, Evidence: ev,
		Confidence: confidence(ep.score, ep.nHeld)}
	f.Summary = fmt.Sprintf("Reflection/amplification towards %s: %d responses, %d bytes (%.1fx its %d query bytes), %d of them ANY or large.",
		ep.key, a.r, a.rBytes, amp, a.qBytes, a.big)
	f.Why = fmt.Sprintf("%s received %d bytes of responses (up to %.0f bytes in one second), %.1f times the bytes of its own queries; %d of %d responses ANY or large, %d beyond its queries.",
		ep.key, a.rBytes, pr, amp, a.big, a.r, ev.UnmatchedResponses)
	f.Next = []string{
		"carve the target's traffic (--carve DIR): which names and types are answered?",
		"the queries' source address is spoofed: rate-limit responses (RRL) and refuse ANY at the servers that answered",
	}
	return f
}
