package report

import "github.com/visor-dns/visor/sketch"

// TopItems renders a top-N list of t, naming each key with name (or as is).
func TopItems(t *sketch.TopK, n int, name func(string) string) []TopItem {
	items := t.Top(n)
	out := make([]TopItem, len(items))
	for i, it := range items {
		nm := it.Name
		if name != nil {
			nm = name(nm)
		}
		out[i] = TopItem{Name: nm, Estimate: it.Estimate, Error: it.Error}
	}
	return out
}

// QuantilesOf renders the contract's quantiles of q.
func QuantilesOf(q *sketch.Quantiles) Quantiles {
	return Quantiles{P50: q.Quantile(0.5), P90: q.Quantile(0.9), P95: q.Quantile(0.95), P99: q.Quantile(0.99)}
}
