package analyzers

import (
	"github.com/visor-dns/visor/analyzers/dns"
	"github.com/visor-dns/visor/rssac002"
)

// day is 24 hours of capture time, in ns.
const day = int64(86400e9)

// rssacDays gathers, on the merger, the RSSAC002 counters of the closed
// buckets into their UTC days (a bucket width divides a day, so no bucket
// spans two).
type rssacDays struct {
	days []*dns.RSSACDay
	by   map[int64]*dns.RSSACDay
}

// collectRSSAC moves a closed bucket's RSSAC002 counters into its day.
func (a *Analysis) collectRSSAC(bucket int64, st *dns.State) {
	if a.opts.RSSAC == nil {
		return
	}
	r := &a.rssac
	start := floorDiv(bucket, day) * day
	d := r.by[start]
	if d == nil {
		if r.by == nil {
			r.by = map[int64]*dns.RSSACDay{}
		}
		d = dns.NewRSSACDay(start, a.opts.RSSAC)
		r.by[start] = d
		r.days = append(r.days, d)
	}
	st.MoveRSSAC(d)
}

// rssacResult is every day's measurements, in time order, or nil when the
// run did not count them.
func (a *Analysis) rssacResult() []rssac002.Day {
	if a.opts.RSSAC == nil {
		return nil
	}
	out := make([]rssac002.Day, 0, len(a.rssac.days))
	for _, d := range a.rssac.days {
		out = append(out, d.Day())
	}
	for i := 1; i < len(out); i++ { // buckets close in order; a late one may open an earlier day
		for j := i; j > 0 && out[j].Start < out[j-1].Start; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
