package findings

import (
	"fmt"
	"net/netip"
	"slices"
)

// tcp_syn_flood: SYNs towards one address, many and at a high rate, whose
// handshakes do not complete: few of them are followed by the ACKs of an
// established connection (a SYN-ACK answered by an RST, or by nothing, from
// spoofed sources). A legitimate DNS-over-TCP load completes its
// handshakes and sends data, and never triggers it.
type synFlood struct{}

// SYNFloodEvidence is the evidence of a tcp_syn_flood finding.
type SYNFloodEvidence struct {
	Common
	Target        string  `json:"target"`
	SYNs          uint64  `json:"syns"`
	SYNAcks       uint64  `json:"syn_acks"`
	ACKs          uint64  `json:"acks"`
	Completed     float64 `json:"completed_share"`
	PeakPerSecond float64 `json:"peak_per_second"`
	// SYNSources is the number of distinct addresses sending SYNs in the
	// busiest window (many: likely spoofed).
	SYNSources uint64 `json:"syn_sources_in_window"`
}

func (e *SYNFloodEvidence) selector(s *Selector) {
	s.addr, _ = netip.ParseAddr(e.Target)
	s.synOnly, s.Key = true, e.Target
}

func init() { register(synFlood{}) }

func (synFlood) order() int         { return 70 }
func (synFlood) evidence() evidence { return &SYNFloodEvidence{} }
func (synFlood) present(r *winRec, key string) bool {
	a, err := netip.ParseAddr(key)
	return err == nil && r.addrs[a] != nil
}

func (synFlood) kind() string { return KindSYNFlood }

// completed is the share of a's SYNs that ACKs to it (no SYN, no RST)
// could have completed.
func completed(a *addrStat) float64 { return share(min(a.ackIn, a.syn), a.syn) }

func (synFlood) judge(d *Detector, r *winRec, held func(string, float64)) {
	t := &d.t
	addrs := make([]*addrStat, 0, len(r.addrs))
	for _, a := range r.addrs {
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, func(a, b *addrStat) int { return a.addr.Compare(b.addr) })
	for _, a := range addrs {
		if sr := peakRate(&a.syns); float64(a.syn) >= t.SYNMin && sr >= t.SYNRate && completed(a) <= t.SYNComplete {
			held(a.addr.String(), sr/max(t.SYNRate, 1))
		}
	}
}

func (synFlood) finding(d *Detector, ep *episode) *Finding {
	var srcs uint64
	a, start, peak, end, pr := d.addrEpisode(ep, func(x *addrStat) *series { return &x.syns },
		func(r *winRec) { srcs = max(srcs, r.synSrcs) })
	ev := &SYNFloodEvidence{Common: Common{Windows: ep.nHeld}, Target: ep.key, SYNs: a.syn, SYNAcks: a.synAck, ACKs: a.ackIn,
		Completed: round(completed(&a)), PeakPerSecond: round(pr), SYNSources: srcs}
	f := &Finding{Kind: KindSYNFlood, Severity: severity(ep.score), Start: start, Peak: peak, End: end, Evidence: ev,
		Confidence: round2(confidence(ep.score, ep.nHeld) * (1 - completed(&a)/2))}
	f.Summary = fmt.Sprintf("TCP SYN flood towards %s: %d SYNs (up to %.0f/s), %d SYN-ACKs back, %.0f%% of handshakes completed.",
		ep.key, a.syn, pr, a.synAck, 100*ev.Completed)
	f.Why = fmt.Sprintf("%d SYNs to %s, up to %.0f in one second, and only %d ACKs back to it: at most %.0f%% of the handshakes completed.",
		a.syn, ep.key, pr, a.ackIn, 100*ev.Completed)
	f.Next = []string{
		"carve the SYNs (--carve DIR): how many sources, do they look spoofed (random, unrouted)?",
		"check the target's SYN backlog and SYN cookies, and filter upstream if it lasts",
	}
	return f
}
