package analyzers

import (
	"github.com/visor-dns/visor/analyzers/net"
	"github.com/visor-dns/visor/sketch"
)

// rate counts packets per second of capture time; each closed second (and
// each empty second between two packets) is one sample of the quantiles.
//
// With edges set (a run that writes a summary), a bucket's first and last
// seconds are kept apart (edge) instead of sampled: the run of the next or
// previous piece of the capture may hold the rest of those seconds, and a
// merge joins them (net.State.SettleRates).
type rate struct {
	q     *sketch.Quantiles
	sec   int64
	count uint64
	have  bool
	edges bool
	edge  net.RateEdge // the open bucket's edges, with edges
	first bool         // edge.FirstSec is set
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
		r.sample(r.sec, r.count)
		if gap := sec - r.sec - 1; gap > 0 {
			r.q.AddN(0, uint64(gap))
		}
		r.sec, r.count = sec, 0
	}
	r.count++
}

// sample adds a closed second's count: to the quantiles, or as the
// bucket's first edge.
func (r *rate) sample(sec int64, n uint64) {
	if r.edges && !r.first {
		r.edge.FirstSec, r.edge.FirstCount, r.first = sec, n, true
		return
	}
	r.q.Add(float64(n))
}

// flush closes the open second; the next tick starts afresh. With edges,
// the open second is the bucket's last edge (or its only one).
func (r *rate) flush() {
	if r.have && r.count > 0 {
		switch {
		case !r.edges:
			r.q.Add(float64(r.count))
		case !r.first:
			r.edge = net.RateEdge{FirstSec: r.sec, FirstCount: r.count, LastSec: r.sec, LastCount: r.count}
			r.first = true
		default:
			r.edge.LastSec, r.edge.LastCount = r.sec, r.count
		}
	}
	r.have, r.count = false, 0
}

// takeEdge returns the closed bucket's edges (none: Count 0) and starts
// the next bucket's.
func (r *rate) takeEdge() net.RateEdge {
	e := r.edge
	if !r.first {
		e = net.RateEdge{}
	}
	r.edge, r.first = net.RateEdge{}, false
	return e
}
