package analyzers

import (
	"github.com/visor-dns/visor/analyzers/dns"
	"github.com/visor-dns/visor/analyzers/findings"
	"github.com/visor-dns/visor/analyzers/net"
)

// BucketStates are one closed bucket's merged analyzer states, as
// Options.Summary receives them: valid only during the call (they are
// reset for the next bucket after it), so a caller serialises or clones
// what it keeps.
type BucketStates struct {
	Start, End int64
	Net        *net.State
	DNS        *dns.State
	Find       *findings.State
	// PPS and QPS are the packets and queries a second (the rates' peaks).
	PPS, QPS *PerSecond
}

// summaryStates hands a closed bucket to Options.Summary.
func (a *Analysis) summaryStates(start, end int64, st states, pps *PerSecond) {
	if a.opts.Summary != nil {
		a.opts.Summary(BucketStates{Start: start, End: end, Net: st.net, DNS: st.dns, Find: st.find, PPS: pps, QPS: st.qps})
	}
}

// newCarry is a shard's dns.Carry when the run writes a summary.
func (a *Analysis) newCarry() *dns.Carry {
	if a.opts.Summary == nil {
		return nil
	}
	c := &dns.Carry{}
	a.carries = append(a.carries, c)
	return c
}

// Carried returns the transactions at the run's edges that its shards
// kept (queries open at the end, responses near the start without a
// query), when Options.Summary is set. Call it after Finish.
func (a *Analysis) Carried() (open, orphans []dns.Edge, lost uint64) {
	for _, c := range a.carries {
		open = append(open, c.Open...)
		orphans = append(orphans, c.Orphans...)
		lost += c.Lost
	}
	return open, orphans, lost
}
