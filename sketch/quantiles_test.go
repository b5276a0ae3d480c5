package sketch

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

var testPs = []float64{0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1}

// exactQuantile is the value of rank ⌊p·(n−1)⌋, the rank DDSketch reports.
func exactQuantile(sorted []float64, p float64) float64 {
	return sorted[int(p*float64(len(sorted)-1))]
}

func withinRel(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)+1e-12
}

func genValues(name string, n int, r *rand.Rand) []float64 {
	v := make([]float64, n)
	for i := range v {
		switch name {
		case "uniform":
			v[i] = r.Float64() * 1000
		case "lognormal latency":
			v[i] = math.Exp(5 + 1.5*r.NormFloat64()) // microseconds, heavy tail
		case "exponential":
			v[i] = r.ExpFloat64() * 250
		case "integers with zeros":
			v[i] = float64(r.IntN(20)) // 5% zeros
		case "constant":
			v[i] = 42
		case "wide range":
			v[i] = math.Pow(10, -3+12*r.Float64()) // 1e-3 .. 1e9
		case "pareto":
			v[i] = 1 / math.Pow(1-r.Float64(), 1/1.2)
		}
	}
	return v
}

var distributions = []string{"uniform", "lognormal latency", "exponential", "integers with zeros", "constant", "wide range", "pareto"}

func TestQuantilesAccuracy(t *testing.T) {
	for i, dist := range distributions {
		t.Run(dist, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(i), 99))
			vals := genValues(dist, 100_000, r)
			q := NewQuantiles()
			var sum float64
			for _, v := range vals {
				q.Add(v)
				sum += v
			}
			sorted := slices.Clone(vals)
			slices.Sort(sorted)
			if q.Count() != uint64(len(vals)) {
				t.Errorf("Count()=%d, want %d", q.Count(), len(vals))
			}
			if !withinRel(q.Sum(), sum, 1e-9) {
				t.Errorf("Sum()=%g, want %g", q.Sum(), sum)
			}
			for _, p := range testPs {
				got, want := q.Quantile(p), exactQuantile(sorted, p)
				if !withinRel(got, want, 0.01) {
					t.Errorf("Quantile(%g)=%g, exact %g (relative error %.4f)", p, got, want, math.Abs(got-want)/want)
				}
			}
		})
	}
}

func TestQuantilesMerge(t *testing.T) {
	for i, dist := range distributions {
		t.Run(dist, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(i), 7))
			vals := genValues(dist, 60_000, r)
			single := NewQuantiles()
			shards := []*Quantiles{NewQuantiles(), NewQuantiles(), NewQuantiles()}
			for j, v := range vals {
				single.Add(v)
				// Uneven split: shard 0 gets the first third only.
				if j < len(vals)/3 {
					shards[0].Add(v)
				} else {
					shards[1+j%2].Add(v)
				}
			}
			merged := NewQuantiles()
			for _, s := range shards {
				merged.Merge(s)
			}
			other := shards[2].Clone()
			other.Merge(shards[0])
			other.Merge(shards[1])
			sorted := slices.Clone(vals)
			slices.Sort(sorted)
			if merged.Count() != single.Count() || other.Count() != single.Count() {
				t.Errorf("Count: merged %d, other order %d, single %d", merged.Count(), other.Count(), single.Count())
			}
			for _, p := range testPs {
				m, o, s := merged.Quantile(p), other.Quantile(p), single.Quantile(p)
				if m != s || o != s {
					t.Errorf("Quantile(%g): merged %g, other order %g, single %g", p, m, o, s)
				}
				if want := exactQuantile(sorted, p); !withinRel(m, want, 0.01) {
					t.Errorf("merged Quantile(%g)=%g, exact %g", p, m, want)
				}
			}
		})
	}
	t.Run("self", func(t *testing.T) {
		q := NewQuantiles()
		q.Add(1)
		q.Add(100)
		q.Merge(q)
		if q.Count() != 4 || q.Sum() != 202 {
			t.Errorf("self merge: Count()=%d Sum()=%g, want 4 and 202", q.Count(), q.Sum())
		}
	})
}

func TestQuantilesEdgeCases(t *testing.T) {
	tests := []struct {
		name  string
		add   func(q *Quantiles)
		count uint64
		p     float64
		want  float64
	}{
		{"empty", func(q *Quantiles) {}, 0, 0.5, 0},
		{"empty p=1", func(q *Quantiles) {}, 0, 1, 0},
		{"only zeros", func(q *Quantiles) { q.AddN(0, 10) }, 10, 0.99, 0},
		{"negative counts as zero", func(q *Quantiles) { q.Add(-5); q.Add(10) }, 2, 0, 0},
		{"NaN ignored", func(q *Quantiles) { q.Add(math.NaN()); q.Add(10) }, 1, 0, 10},
		{"AddN zero ignored", func(q *Quantiles) { q.AddN(3, 0); q.Add(10) }, 1, 0.5, 10},
		{"p clamped above", func(q *Quantiles) { q.Add(1); q.Add(1000) }, 2, 7, 1000},
		{"p clamped below", func(q *Quantiles) { q.Add(1); q.Add(1000) }, 2, -1, 1},
		{"AddN weights", func(q *Quantiles) { q.AddN(1, 98); q.AddN(500, 2) }, 100, 0.99, 500},
		{"AddN weights below", func(q *Quantiles) { q.AddN(1, 98); q.AddN(500, 2) }, 100, 0.98, 1},
		{"infinity clamped", func(q *Quantiles) { q.Add(math.Inf(1)) }, 1, 1, math.Inf(1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := NewQuantiles()
			tc.add(q)
			if q.Count() != tc.count {
				t.Errorf("Count()=%d, want %d", q.Count(), tc.count)
			}
			got := q.Quantile(tc.p)
			if math.IsInf(tc.want, 1) {
				if got < 1e300 || math.IsInf(got, 0) {
					t.Errorf("Quantile(%g)=%g, want a huge finite value", tc.p, got)
				}
				return
			}
			if !withinRel(got, tc.want, 0.01) {
				t.Errorf("Quantile(%g)=%g, want %g", tc.p, got, tc.want)
			}
		})
	}
}

func TestQuantilesResetAndClone(t *testing.T) {
	q := NewQuantiles()
	for i := 1; i <= 1000; i++ {
		q.Add(float64(i))
	}
	clone := q.Clone()
	q.Reset()
	if q.Count() != 0 || q.Quantile(0.5) != 0 || q.Sum() != 0 {
		t.Fatalf("after Reset: Count()=%d Quantile(0.5)=%g Sum()=%g", q.Count(), q.Quantile(0.5), q.Sum())
	}
	q.Add(7)
	q.Add(9)
	if got := q.Quantile(1); !withinRel(got, 9, 0.01) {
		t.Errorf("reuse after Reset: Quantile(1)=%g, want 9", got)
	}
	if got := clone.Quantile(0.5); !withinRel(got, 500, 0.01) || clone.Count() != 1000 {
		t.Errorf("clone: Quantile(0.5)=%g Count()=%d, want 500 and 1000", got, clone.Count())
	}
}

func TestQuantilesBoundedMemory(t *testing.T) {
	// A range far wider than 2048 bins at 1% can cover: the lowest bins
	// collapse, the high quantiles stay accurate, memory stays bounded.
	q := NewQuantiles()
	var vals []float64
	for e := -200; e <= 200; e++ {
		for m := 1.0; m < 10; m += 0.5 {
			v := m * math.Pow(10, float64(e))
			vals = append(vals, v)
			q.Add(v)
		}
	}
	slices.Sort(vals)
	st := q.sk.GetPositiveValueStore()
	lo, err1 := st.MinIndex()
	hi, err2 := st.MaxIndex()
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if span := hi - lo + 1; span > quantilesMaxBins {
		t.Errorf("store spans %d bins, more than %d", span, quantilesMaxBins)
	}
	// 401 decades at 1% need ~46000 bins; 2048 bins keep the top ~17.8
	// decades (the top ~4.4% of these values) exact to 1%.
	for _, p := range []float64{0.96, 0.99, 0.999, 1} {
		if got, want := q.Quantile(p), exactQuantile(vals, p); !withinRel(got, want, 0.01) {
			t.Errorf("Quantile(%g)=%g, exact %g", p, got, want)
		}
	}
	if got, want := q.Quantile(0), vals[0]; got < want*1e100 {
		t.Errorf("Quantile(0)=%g: expected the lowest bins to have collapsed far above %g", got, want)
	}
}

func TestQuantilesZeroAlloc(t *testing.T) {
	q := NewQuantiles()
	r := rand.New(rand.NewPCG(1, 2))
	vals := genValues("lognormal latency", 4096, r)
	for _, v := range vals {
		q.Add(v)
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		q.Add(vals[i%len(vals)])
		i++
	})
	if allocs != 0 {
		t.Errorf("Add: %v allocs/op, want 0", allocs)
	}
}
