package replay

import (
	"cmp"
	"slices"
	"strings"

	"github.com/visor-dns/visor/report"
)

// Other is the label value that the series beyond a family's cap are folded into.
const Other = "__other__"

// trafficLabels are the series labels whose values come from the traffic
// (names, addresses, locations, types, codes): the ones a sender chooses.
var trafficLabels = []string{"address", "asn", "client", "ecs", "geo", "qname", "qtype", "rcode"}

// Folded says how many label values of one family CapSeries folded.
type Folded struct {
	Family string
	Label  string
	Kept   int // label values kept as their own series
	Values int // label values folded into Other
}

// CapSeries bounds the series of every family labelled by a value from the
// traffic (the top lists, rcode and qtype) to n label values over the whole
// run, plus one Other series; n <= 0 keeps every value. The values kept are
// the n largest (a counter's last value, a gauge's sum over its buckets; ties
// by value); the rest, and a value that is itself Other, are summed into
// Other per timestamp. It changes fams in place and says what it folded.
func CapSeries(fams []report.Family, n int) []Folded {
	if n <= 0 {
		return nil
	}
	var out []Folded
	for fi := range fams {
		f := &fams[fi]
		label := trafficLabel(f)
		if label == "" || len(f.Series) <= n {
			continue
		}
		type ranked struct {
			idx    int
			value  string
			weight float64
		}
		rs := make([]ranked, 0, len(f.Series))
		for i, s := range f.Series {
			r := ranked{idx: i, value: labelValue(s.Labels, label)}
			if f.Type == report.Counter {
				if len(s.Points) > 0 {
					r.weight = s.Points[len(s.Points)-1].V
				}
			} else {
				for _, p := range s.Points {
					r.weight += p.V
				}
			}
			rs = append(rs, r)
		}
		slices.SortFunc(rs, func(x, y ranked) int {
			if c := cmp.Compare(y.weight, x.weight); c != 0 {
				return c
			}
			return strings.Compare(x.value, y.value)
		})
		var kept []report.Series
		other := map[int64]float64{}
		var otherLabels []report.Label
		folded := 0
		for _, r := range rs {
			s := f.Series[r.idx]
			if len(kept) < n && r.value != Other {
				kept = append(kept, s)
				continue
			}
			folded++
			if otherLabels == nil {
				otherLabels = slices.Clone(s.Labels)
				for i := range otherLabels {
					if otherLabels[i].Name == label {
						otherLabels[i].Value = Other
					}
				}
			}
			for _, p := range s.Points {
				other[p.T] += p.V
			}
		}
		out = append(out, Folded{Family: f.Name, Label: label, Kept: len(kept), Values: folded})
		o := report.Series{Labels: otherLabels}
		for t, v := range other {
			o.Points = append(o.Points, report.Point{T: t, V: v})
		}
		slices.SortFunc(o.Points, func(x, y report.Point) int { return cmp.Compare(x.T, y.T) })
		kept = append(kept, o)
		slices.SortFunc(kept, func(x, y report.Series) int { return compareLabels(x.Labels, y.Labels) })
		f.Series = kept
	}
	return out
}

// trafficLabel is the label of f's series whose value comes from the
// traffic, or "" if none does.
func trafficLabel(f *report.Family) string {
	if len(f.Series) == 0 {
		return ""
	}
	for _, l := range f.Series[0].Labels {
		if slices.Contains(trafficLabels, l.Name) {
			return l.Name
		}
	}
	return ""
}

func labelValue(ls []report.Label, name string) string {
	for _, l := range ls {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

func compareLabels(x, y []report.Label) int {
	for i := 0; i < len(x) && i < len(y); i++ {
		if c := strings.Compare(x[i].Name, y[i].Name); c != 0 {
			return c
		}
		if c := strings.Compare(x[i].Value, y[i].Value); c != 0 {
			return c
		}
	}
	return len(x) - len(y)
}
