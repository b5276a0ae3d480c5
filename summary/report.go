package summary

import (
	"cmp"
	"slices"

	"github.com/visor-dns/visor/analyzers"
	"github.com/visor-dns/visor/analyzers/dns"
	"github.com/visor-dns/visor/analyzers/findings"
	"github.com/visor-dns/visor/analyzers/net"
	"github.com/visor-dns/visor/report"
)

// Integrity keys Report adjusts when it joins transactions across runs.
const (
	integrityUnmatched   = "dns_responses_unmatched"
	integrityOpenAtEnd   = "dns_queries_unanswered_at_end"
	integrityLimitPrefix = "findings_"
)

// joined is what the edges of the merged runs add to a bucket: the
// transactions a query and a response of two runs make.
type joined struct {
	xacts [][2]*dns.Edge // query, response
}

// pair joins the queries open at a run's end with the responses near
// another run's start that answer them (same key, within the timeout), as
// one run over the concatenated captures would have. It returns the
// pairs by the bucket of their response, and the queries left unanswered
// sorted by the time they time out.
func pair(t *Trailer, p *Params) (map[int64]*joined, []*dns.Edge, int) {
	by := map[int64]*joined{}
	at := func(ts int64) *joined {
		b := floorDiv(ts, p.BucketNS) * p.BucketNS
		j := by[b]
		if j == nil {
			j = &joined{}
			by[b] = j
		}
		return j
	}
	used := make([]bool, len(t.Open))
	paired := 0
	for i := range t.Orphans {
		r := &t.Orphans[i]
		best := -1
		for k := range t.Open {
			q := &t.Open[k]
			if used[k] || !q.Same(r) || q.TS > r.TS || r.TS-q.TS > p.XactTimeoutNS {
				continue
			}
			if best < 0 || q.TS > t.Open[best].TS {
				best = k
			}
		}
		if best >= 0 {
			used[best] = true
			paired++
			j := at(r.TS)
			j.xacts = append(j.xacts, [2]*dns.Edge{&t.Open[best], r})
		}
	}
	var left []*dns.Edge
	for k := range t.Open {
		if !used[k] {
			left = append(left, &t.Open[k])
		}
	}
	slices.SortStableFunc(left, func(a, b *dns.Edge) int { return cmp.Compare(a.TS, b.TS) })
	return by, left, paired
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Report renders the summary: its buckets (merged, with the transactions
// joined across runs), their summary, the findings, inputs and integrity.
// The findings are judged again on the merged buckets' findings states
// when every part has them (format version 2 or later, or made in this process);
// otherwise (a version 1 part) they are the parts' findings, joined. The report's
// buckets are in Stored (Close the report to release them).
func (s *Summary) Report() (*report.Report, error) {
	p := &s.Header.Params
	top := int(p.Top)
	t := &s.Trailer
	rep := &report.Report{
		Schema:        report.Schema,
		Tool:          report.Tool{Name: "visor", Version: s.Header.Visor},
		Inputs:        slices.Clone(t.Inputs),
		Integrity:     map[string]uint64{},
		BucketSeconds: float64(p.BucketNS) / 1e9,
		Stored:        report.NewBucketStore(),
	}
	for k, v := range t.Integrity {
		rep.Integrity[k] = v
	}
	judge := s.hasFinds
	for k := range rep.Integrity {
		if judge && len(k) > len(integrityLimitPrefix) && k[:len(integrityLimitPrefix)] == integrityLimitPrefix {
			delete(rep.Integrity, k) // counted again by the detector
		}
	}
	joins, left, paired := pair(t, p)
	if paired > 0 {
		rep.Integrity[integrityUnmatched] -= min(uint64(paired), rep.Integrity[integrityUnmatched])
		if rep.Integrity[integrityUnmatched] == 0 {
			delete(rep.Integrity, integrityUnmatched)
		}
	}
	var det *findings.Detector
	if judge {
		det = findings.NewDetector(s.Thresholds)
	}
	sumNet, sumDNS := net.NewState(), dns.NewState()
	// One bucket is held back: queries still unanswered after the last
	// bucket time out in it, as at the end of a run.
	var held *Bucket
	var rates analyzers.Rates
	emit := func(b *Bucket, last bool) {
		sec := report.Section{Net: b.Net.Report(top), DNS: b.DNS.Report(top)}
		rates.Bucket(&sec, b.Start, b.End, b.PPS, b.QPS, last)
		rb := report.Bucket{Start: report.Timestamp(b.Start), End: report.Timestamp(b.End), Section: sec}
		if det != nil {
			f := b.Find
			if f == nil {
				f = findings.NewState()
			}
			det.AddBucket(b.Start, b.End, f, &rb.Section)
		}
		putFind(b.Find)
		b.Find = nil
		rep.Stored.Append(&rb)
		sumNet.Merge(b.Net)
		sumDNS.Merge(b.DNS)
	}
	for b, err := range s.Buckets() {
		if err != nil {
			rep.Close()
			return nil, err
		}
		b.Net.SettleRates()
		if j := joins[b.Start]; j != nil {
			for _, x := range j.xacts {
				b.DNS.AddTransaction(x[0], x[1], p.SlowNS)
			}
		}
		// A query times out in the first bucket that ends after its
		// deadline.
		for len(left) > 0 && left[0].TS+p.XactTimeoutNS < b.End {
			b.DNS.AddTimeout(left[0].Dir)
			left = left[1:]
		}
		if held != nil {
			emit(held, false)
		}
		held = b
	}
	if held != nil {
		for _, q := range left {
			held.DNS.AddTimeout(q.Dir)
		}
		if len(left) > 0 {
			rep.Integrity[integrityOpenAtEnd] += uint64(len(left))
		}
		emit(held, true)
	}
	rep.Summary = report.Section{Net: sumNet.Report(top), DNS: sumDNS.Report(top)}
	rates.Summary(&rep.Summary)
	if det != nil {
		rep.Findings = det.Findings()
		d := det.Dropped()
		for k, v := range map[string]uint64{"findings_zones_dropped": d.Zones, "findings_addrs_dropped": d.Addrs, "findings_prefixes_dropped": d.Prefixes} {
			if v > 0 {
				rep.Integrity[k] = v
			}
		}
	} else {
		rep.Findings = slices.Clone(t.Findings)
	}
	if rep.Findings == nil {
		rep.Findings = []report.Finding{}
	}
	return rep, nil
}
