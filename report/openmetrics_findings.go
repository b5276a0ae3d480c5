package report

import (
	"slices"
	"strings"
)

// FindingFamilyName is the series visor emits for each finding while it
// lasts, for dashboards to draw as annotations.
const FindingFamilyName = "visor_finding_active"

// findingLabels are the findings series' own label names.
var findingLabels = []string{"kind", "severity", "target"}

// findingsFamily is one series per finding kind, severity and target (its
// zone or address; "" when it has none): 1 at every bucket boundary from
// the start of the finding's first bucket to the end of its last, then 0
// one bucket later, so that a query for `== 1` sees the finding exactly
// while it lasts, at bucket resolution, and nothing after it. Findings
// with the same labels share a series. sec is the bucket width in ms.
func findingsFamily(r *Report, extra []Label) Family {
	f := Family{Name: FindingFamilyName, Type: Gauge,
		Help: "1 while a finding lasts (from the start of its first bucket to the end of its last), 0 one bucket after; labels kind, severity and target (its zone or address)."}
	sec := int64(r.BucketSeconds * 1000)
	if sec <= 0 {
		return f
	}
	type key struct{ kind, severity, target string }
	byKey := map[key]map[int64]float64{}
	var order []key
	for i := range r.Findings {
		fd := &r.Findings[i]
		start, end := int64(fd.Start)/1e6, (int64(fd.End)+1e6-1)/1e6
		if fd.Start == 0 || end < start {
			continue
		}
		k := key{fd.Kind, fd.Severity, FindingTarget(fd)}
		pts := byKey[k]
		if pts == nil {
			pts = map[int64]float64{}
			byKey[k] = pts
			order = append(order, k)
		}
		first := start / sec * sec
		last := (end + sec - 1) / sec * sec
		if last == first {
			last += sec
		}
		for t := first; t <= last; t += sec {
			pts[t] = 1
		}
		if _, ok := pts[last+sec]; !ok {
			pts[last+sec] = 0
		}
	}
	for _, k := range order {
		s := Series{Labels: append([]Label{{"kind", k.kind}, {"severity", k.severity}, {"target", k.target}}, extra...)}
		slices.SortFunc(s.Labels, func(x, y Label) int { return strings.Compare(x.Name, y.Name) })
		ts := make([]int64, 0, len(byKey[k]))
		for t := range byKey[k] {
			ts = append(ts, t)
		}
		slices.Sort(ts)
		for _, t := range ts {
			s.Points = append(s.Points, Point{T: t, V: byKey[k][t]})
		}
		f.Series = append(f.Series, s)
	}
	slices.SortFunc(f.Series, func(x, y Series) int { return compareLabels(x.Labels, y.Labels) })
	return f
}

// GrafanaRange is the capture's time range as Grafana's from and to (Unix
// ms): the start of the bucket of its first packet to the end of the
// bucket of its last; 0, 0 when unknown.
func GrafanaRange(r *Report) (from, to int64) {
	sec := int64(r.BucketSeconds * 1e9)
	if sec <= 0 {
		return 0, 0
	}
	var first, last int64 // packet times, from the inputs
	for _, in := range r.Inputs {
		if f := int64(in.FirstTS); f != 0 && (first == 0 || f < first) {
			first = f
		}
		last = max(last, int64(in.LastTS))
	}
	if first != 0 {
		return first / sec * sec / 1e6, (last/sec + 1) * sec / 1e6
	}
	r.EachBucket(func(b *Bucket) error { // a report without input times: its buckets
		if s := int64(b.Start); from == 0 || s/1e6 < from {
			from = s / 1e6
		}
		to = max(to, int64(b.End)/1e6)
		return nil
	})
	return from, to
}

// runFamilies are the families of the run as a whole rather than of a
// bucket's section: the findings while they last. Families without a
// series are left out.
func runFamilies(r *Report, extra []Label) []Family {
	if f := findingsFamily(r, extra); len(f.Series) > 0 {
		return []Family{f}
	}
	return nil
}
