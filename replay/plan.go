// Package replay pushes a report's time series to a Prometheus remote-write
// endpoint, stamped with capture time: in ascending time across all series,
// in batches, with retries.
package replay

import (
	"slices"
	"strings"

	"github.com/visor-dns/visor/report"
)

// Series is one series as sent: its labels with __name__, sorted by name.
type Series struct {
	Labels []report.Label
	Family *report.Family // for metadata
}

// Sample is one sample of Batch: series index into Plan.Series, time, value.
type Sample struct {
	Series int
	T      int64
	V      float64
}

// Batch is one request's samples, ascending in time (then in series order).
type Batch struct {
	Samples    []Sample
	MinT, MaxT int64
}

// Plan is the whole replay: every series and the batches in sending order.
type Plan struct {
	Series     []Series
	Batches    []Batch
	Samples    int
	MinT, MaxT int64
}

// NewPlan orders every sample of fams by capture time across all series and
// cuts them into batches of at most batchSamples (at least 1).
func NewPlan(fams []report.Family, batchSamples int) *Plan {
	batchSamples = max(batchSamples, 1)
	p := &Plan{}
	var all []Sample
	for fi := range fams {
		f := &fams[fi]
		for _, s := range f.Series {
			if len(s.Points) == 0 {
				continue
			}
			ls := make([]report.Label, 0, len(s.Labels)+1)
			ls = append(ls, report.Label{Name: "__name__", Value: f.Name})
			ls = append(ls, s.Labels...)
			slices.SortFunc(ls, func(x, y report.Label) int { return strings.Compare(x.Name, y.Name) })
			idx := len(p.Series)
			p.Series = append(p.Series, Series{Labels: ls, Family: f})
			for _, pt := range s.Points {
				all = append(all, Sample{Series: idx, T: pt.T, V: pt.V})
			}
		}
	}
	// Stable: a series' points are already in time order.
	slices.SortStableFunc(all, func(x, y Sample) int {
		switch {
		case x.T < y.T:
			return -1
		case x.T > y.T:
			return 1
		}
		return x.Series - y.Series
	})
	p.Samples = len(all)
	if len(all) > 0 {
		p.MinT, p.MaxT = all[0].T, all[len(all)-1].T
	}
	for len(all) > 0 {
		n := min(batchSamples, len(all))
		b := Batch{Samples: all[:n:n], MinT: all[0].T, MaxT: all[n-1].T}
		p.Batches = append(p.Batches, b)
		all = all[n:]
	}
	return p
}

// waves groups consecutive batches that share no series: the batches of a
// wave may be in flight together without reordering any series' samples.
func (p *Plan) waves() [][]int {
	var out [][]int
	var cur []int
	seen := map[int]bool{}
	for i, b := range p.Batches {
		overlap := false
		for _, s := range b.Samples {
			if seen[s.Series] {
				overlap = true
				break
			}
		}
		if overlap {
			out = append(out, cur)
			cur = nil
			clear(seen)
		}
		cur = append(cur, i)
		for _, s := range b.Samples {
			seen[s.Series] = true
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
