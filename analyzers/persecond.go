package analyzers

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/sketch"
)

// PerSecond counts events per second of capture time over one bucket: the
// packets the reader saw (BucketStates.PPS) or the queries the shards
// counted (BucketStates.QPS). It merges second by second, so the busiest
// second of a bucket (the rates' peak) is exact however the shards, the
// files or the machines split the traffic. Slots run from the first
// event's second; an event before it or past the bucket's seconds is
// counted in the nearest slot (timestamps that went backwards, which
// integrity counts).
type PerSecond struct {
	Base   int64    // the second (Unix) of Counts[0]
	Counts []uint32 // events a second from Base

	max    int   // slots at most: the bucket's seconds, plus one
	lo, hi int64 // the open slot's nanoseconds [lo, hi), or hi == lo
	cur    int   // the open slot
}

// NewPerSecond returns an empty count for a bucket of bucketNS.
func NewPerSecond(bucketNS int64) *PerSecond {
	return &PerSecond{max: int((bucketNS+1e9-1)/1e9) + 1}
}

func (p *PerSecond) slot(sec int64) int {
	if len(p.Counts) == 0 {
		p.Base = sec
	}
	i := int(min(max(sec-p.Base, 0), int64(max(p.max, 1)-1)))
	for len(p.Counts) <= i {
		p.Counts = append(p.Counts, 0)
	}
	return i
}

// add counts one event at ts (Unix ns).
func (p *PerSecond) add(ts int64) {
	if ts >= p.lo && ts < p.hi {
		p.Counts[p.cur]++
		return
	}
	sec := floorDiv(ts, 1e9)
	i := p.slot(sec)
	p.Counts[i]++
	p.cur = i
	if p.Base+int64(i) == sec {
		p.lo, p.hi = sec*1e9, (sec+1)*1e9
	} else {
		p.lo, p.hi = 0, 0 // a clamped slot: decide again next time
	}
}

// Merge adds o's counts second by second.
func (p *PerSecond) Merge(o *PerSecond) {
	if o == nil || len(o.Counts) == 0 {
		return
	}
	if len(p.Counts) == 0 {
		p.Base = o.Base
	}
	if o.Base < p.Base { // make room in front
		d := int(p.Base - o.Base)
		p.Counts = append(make([]uint32, d, d+len(p.Counts)), p.Counts...)
		p.Base = o.Base
	}
	off := int(o.Base - p.Base)
	for len(p.Counts) < off+len(o.Counts) {
		p.Counts = append(p.Counts, 0)
	}
	for i, c := range o.Counts {
		p.Counts[off+i] += c
	}
	p.max = max(p.max, len(p.Counts))
	p.lo, p.hi = 0, 0
}

// Reset empties p, keeping its memory.
func (p *PerSecond) Reset() {
	clear(p.Counts)
	p.Counts = p.Counts[:0]
	p.lo, p.hi = 0, 0
}

// Peak is the busiest second's count.
func (p *PerSecond) Peak() uint64 {
	var m uint32
	if p != nil {
		for _, c := range p.Counts {
			m = max(m, c)
		}
	}
	return uint64(m)
}

// Busiest follows the busiest second across buckets given in time order
// (buckets shorter than a second share their second): a report's summary
// peak.
type Busiest struct {
	sec   int64
	count uint64
	peak  uint64
	have  bool
}

// Add takes the next bucket's counts.
func (b *Busiest) Add(p *PerSecond) {
	if p == nil {
		return
	}
	for i, c := range p.Counts {
		sec := p.Base + int64(i)
		if b.have && sec == b.sec {
			b.count += uint64(c)
			continue
		}
		b.peak = max(b.peak, b.count)
		b.sec, b.count, b.have = sec, uint64(c), true
	}
}

// Peak is the busiest second so far.
func (b *Busiest) Peak() uint64 { return max(b.peak, b.count) }

// Seconds is how many seconds of capture time [lo, hi) touches, at least
// one: what a mean rate divides by, the seconds its peak and the pps
// quantiles are taken over.
func Seconds(lo, hi int64) float64 {
	if hi <= lo {
		return 1
	}
	return float64(floorDiv(hi-1, 1e9) - floorDiv(lo, 1e9) + 1)
}

// Rates fills the mean and peak rates of a report's buckets, given in time
// order with their per-second counts, and of its summary. A rate is over
// the seconds of capture time covered: from the first packet's second to
// the last's, within the bucket; the peak is the busiest of them.
type Rates struct {
	first, last int64 // seconds of the first and last packets so far
	have        bool
	pps, qps    Busiest
}

// Bucket fills the rates of the bucket [start, end) whose packets and
// queries a second are pps and qps; last says it is the report's last.
func (r *Rates) Bucket(s *report.Section, start, end int64, pps, qps *PerSecond, last bool) {
	if pps != nil && len(pps.Counts) > 0 {
		if !r.have {
			r.first, r.have = pps.Base, true
		}
		r.last = max(r.last, pps.Base+int64(len(pps.Counts))-1)
	}
	lo, hi := start, end
	if r.have {
		lo = max(start, r.first*1e9)
		if last {
			hi = min(end, (r.last+1)*1e9)
		}
	}
	fillRates(s, lo, hi, pps.Peak(), qps.Peak())
	r.pps.Add(pps)
	r.qps.Add(qps)
}

// Summary fills the rates of the report's summary.
func (r *Rates) Summary(s *report.Section) {
	if r.have {
		fillRates(s, r.first*1e9, (r.last+1)*1e9, r.pps.Peak(), r.qps.Peak())
	}
}

func fillRates(s *report.Section, lo, hi int64, ppsPeak, qpsPeak uint64) {
	secs := Seconds(lo, hi)
	s.Net.Rates.PPSMean = float64(s.Net.Packets) / secs
	s.Net.Rates.PPSPeak = ppsPeak
	s.DNS.Rates.QPSMean = float64(s.DNS.Queries) / secs
	s.DNS.Rates.QPSPeak = qpsPeak
}

// maxPerSecond bounds the slots UnmarshalBinary accepts: 48 days of
// seconds, a bucket longer than any --bucket.
const maxPerSecond = 1 << 22

// AppendBinary appends p as a PerSecond message (visor_summary.proto):
// base = 1, counts = 2 (packed).
func (p *PerSecond) AppendBinary(b []byte) ([]byte, error) {
	if p == nil {
		return b, nil
	}
	b = sketch.AppendUint(b, 1, uint64(p.Base))
	vs := make([]uint64, len(p.Counts))
	for i, c := range p.Counts {
		vs[i] = uint64(c)
	}
	return sketch.AppendPackedUints(b, 2, vs), nil
}

// UnmarshalBinary reads a PerSecond message into p (replacing it),
// refusing more than maxPerSecond slots or a count past 32 bits.
func (p *PerSecond) UnmarshalBinary(b []byte) error {
	p.Reset()
	p.Base = 0
	var vs []uint64
	err := sketch.Fields(b, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) error {
		var err error
		switch {
		case num == 1 && typ == protowire.VarintType:
			p.Base = int64(v)
		case num == 2 && typ == protowire.BytesType:
			vs, err = sketch.PackedUints(vs, val, maxPerSecond)
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v > 1<<32-1 {
			return fmt.Errorf("%w: a count a second of %d", sketch.ErrCorrupt, v)
		}
		p.Counts = append(p.Counts, uint32(v))
	}
	p.max = max(p.max, len(p.Counts))
	return nil
}
