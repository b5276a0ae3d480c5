package sketch

import (
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

const (
	// quantilesAccuracy is the relative accuracy of Quantiles.
	quantilesAccuracy = 0.01
	// quantilesMaxBins bounds the bins of Quantiles' store (8 bytes each).
	// At 1% accuracy 2048 bins span a ratio of about 4·10^17 between the
	// smallest and largest value before the lowest bins collapse.
	quantilesMaxBins = 2048
)

// Quantiles estimates quantiles with DDSketch
// (github.com/DataDog/sketches-go/ddsketch), relative accuracy 1%.
//
// It uses the cubically interpolated index mapping (the library's fastest:
// no logarithm per value, 1% more bins than the logarithmic mapping for the
// same accuracy) and a dense store of at most 2048 bins that collapses its
// lowest bins when the range of values would need more, so memory stays
// under 16 KiB of bins. The 1% guarantee holds for every quantile as long as
// the largest and smallest non-zero values are within a ratio of about
// 4·10^17; past that it is lost for the lowest quantiles only.
// Zero is counted exactly.
//
// Values are meant to be ≥ 0 (latencies, rates): negative values count as 0,
// NaN is ignored, and values above the largest the mapping can index
// (about 1.26e308) are clamped to it.
type Quantiles struct {
	sk       *ddsketch.DDSketch
	count    uint64
	sum      float64
	maxValue float64 // the largest value the mapping indexes
}

// NewQuantiles returns an empty Quantiles.
func NewQuantiles() *Quantiles {
	m, err := mapping.NewCubicallyInterpolatedMapping(quantilesAccuracy)
	if err != nil {
		panic("sketch: " + err.Error()) // constant, valid arguments
	}
	sk := ddsketch.NewDDSketch(m, store.NewCollapsingLowestDenseStore(quantilesMaxBins), store.NewCollapsingLowestDenseStore(quantilesMaxBins))
	return &Quantiles{sk: sk, maxValue: sk.MaxIndexableValue()}
}

// Add adds one value.
func (q *Quantiles) Add(v float64) { q.AddN(v, 1) }

// AddN adds n occurrences of v.
func (q *Quantiles) AddN(v float64, n uint64) {
	if n == 0 || math.IsNaN(v) {
		return
	}
	if v < 0 {
		v = 0
	} else if v > q.maxValue {
		v = q.maxValue
	}
	if q.sk.AddWithCount(v, float64(n)) != nil {
		return
	}
	q.count += n
	q.sum += v * float64(n)
}

// Merge adds o's values to q. o is not modified.
func (q *Quantiles) Merge(o *Quantiles) {
	if o == nil || o.count == 0 {
		return
	}
	if o == q {
		o = q.Clone()
	}
	// Both sketches share the same mapping; MergeWith only fails when the
	// mappings differ.
	if err := q.sk.MergeWith(o.sk); err != nil {
		panic("sketch: " + err.Error())
	}
	q.count += o.count
	q.sum += o.sum
}

// Quantile returns the estimated value at quantile p (clamped to [0, 1]):
// the value of rank ⌊p·(Count−1)⌋ in sorted order, within 1% relative error.
// It returns 0 when q is empty.
func (q *Quantiles) Quantile(p float64) float64 {
	if q.count == 0 || math.IsNaN(p) {
		return 0
	}
	p = min(max(p, 0), 1)
	v, err := q.sk.GetValueAtQuantile(p)
	if err != nil {
		return 0
	}
	return v
}

// Count returns the number of values added.
func (q *Quantiles) Count() uint64 { return q.count }

// Sum returns the exact sum of the values added (after clamping), so callers
// can report a mean.
func (q *Quantiles) Sum() float64 { return q.sum }

// Reset empties q, keeping its allocated memory for reuse.
func (q *Quantiles) Reset() {
	q.sk.Clear()
	q.count = 0
	q.sum = 0
}

// Clone returns a deep copy of q.
func (q *Quantiles) Clone() *Quantiles {
	return &Quantiles{sk: q.sk.Copy(), count: q.count, sum: q.sum, maxValue: q.maxValue}
}
