package analyzers

import "github.com/visor-dns/visor/sketch"

// rate counts packets per second of capture time; each closed second (and
// each empty second between two packets) is one sample of the quantiles.
type rate struct {
	q     *sketch.Quantiles
	sec   int64
	count uint64
	have  bool
}

func newRate() *rate { return &rate{q: sketch.NewQuantiles()} }

func (r *rate) tick(ts int64) {
	if r.have && ts >= r.sec*1e9 && ts-r.sec*1e9 < 1e9 { // the open second: no division
		r.count++
		return
	}
	sec := floorDiv(ts, 1e9)
	if !r.have {
		r.sec, r.have = sec, true
	}
	if sec > r.sec {
		r.q.Add(float64(r.count))
		if gap := sec - r.sec - 1; gap > 0 {
			r.q.AddN(0, uint64(gap))
		}
		r.sec, r.count = sec, 0
	}
	r.count++
}

// flush closes the open second; the next tick starts afresh.
func (r *rate) flush() {
	if r.have && r.count > 0 {
		r.q.Add(float64(r.count))
	}
	r.have, r.count = false, 0
}
