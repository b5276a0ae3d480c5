package analyzers

import (
	"slices"
	"testing"

	"github.com/visor-dns/visor/report"
)

func TestPerSecond(t *testing.T) {
	const s = int64(1e9)
	for _, c := range []struct {
		name   string
		bucket int64
		ts     []int64
		base   int64
		counts []uint32
	}{
		{"one second", 60 * s, []int64{10 * s, 10*s + 1, 11*s - 1}, 10, []uint32{3}},
		{"gap", 60 * s, []int64{10 * s, 13*s + 5}, 10, []uint32{1, 0, 0, 1}},
		{"backwards clamps to the first slot", 60 * s, []int64{10 * s, 9 * s, 11 * s}, 10, []uint32{2, 1}},
		{"past the bucket clamps to the last slot", 2 * s, []int64{0, 5 * s}, 0, []uint32{1, 0, 1}},
		{"before 1970", 60 * s, []int64{-1, -s}, -1, []uint32{2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := NewPerSecond(c.bucket)
			for _, ts := range c.ts {
				p.add(ts)
			}
			if p.Base != c.base || !slices.Equal(p.Counts, c.counts) {
				t.Errorf("base %d counts %v, want %d %v", p.Base, p.Counts, c.base, c.counts)
			}
		})
	}
}

// TestPerSecondMerge: any split of the events merges into the counts of
// the whole, in any order, and survives its binary form.
func TestPerSecondMerge(t *testing.T) {
	const s = int64(1e9)
	ts := []int64{5 * s, 5 * s, 6 * s, 9 * s, 9*s + 1, 12 * s}
	whole := NewPerSecond(60 * s)
	for _, x := range ts {
		whole.add(x)
	}
	for _, split := range [][]int{{0, 2}, {3, 5}, {1, 4}} {
		a, b := NewPerSecond(60*s), NewPerSecond(60*s)
		for i, x := range ts {
			if i >= split[0] && i <= split[1] {
				a.add(x)
			} else {
				b.add(x)
			}
		}
		for _, order := range [][2]*PerSecond{{a, b}, {b, a}} {
			m := &PerSecond{}
			var bin []byte
			for _, p := range order {
				bin, _ = p.AppendBinary(bin[:0])
				var q PerSecond
				if err := q.UnmarshalBinary(bin); err != nil {
					t.Fatal(err)
				}
				m.Merge(&q)
			}
			if m.Base != whole.Base || !slices.Equal(m.Counts, whole.Counts) || m.Peak() != 2 {
				t.Errorf("split %v: merged %d %v peak %d, want %d %v peak 2", split, m.Base, m.Counts, m.Peak(), whole.Base, whole.Counts)
			}
		}
	}
	var q PerSecond
	if err := q.UnmarshalBinary([]byte{0x12, 0x05, 0xff, 0xff, 0xff, 0xff, 0x7f}); err == nil {
		t.Errorf("a count past 32 bits is accepted: %v", q.Counts)
	}
}

// TestRates: buckets shorter than a second share their second (the peak
// is the second's sum); a mean is over the seconds from the first packet's
// to the last's.
func TestRates(t *testing.T) {
	const s = int64(1e9)
	var r Rates
	mk := func(base int64, c ...uint32) *PerSecond { return &PerSecond{Base: base, Counts: c} }
	// three 500 ms buckets: [10, 10.5) 3 packets, [10.5, 11) 4, [11, 11.5) 2
	bs := []struct {
		start int64
		pps   *PerSecond
		pkts  uint64
	}{{10 * s, mk(10, 3), 3}, {10*s + s/2, mk(10, 4), 4}, {11 * s, mk(11, 2), 2}}
	var sum report.Section
	for i, b := range bs {
		var sec report.Section
		sec.Net.Packets = b.pkts
		r.Bucket(&sec, b.start, b.start+s/2, b.pps, mk(10, 1), i == len(bs)-1)
		if sec.Net.Rates.PPSPeak != uint64(b.pps.Counts[0]) || sec.Net.Rates.PPSMean != float64(b.pkts) {
			t.Errorf("bucket %d: %+v", i, sec.Net.Rates)
		}
		sum.Net.Packets += b.pkts
	}
	sum.DNS.Queries = 3
	r.Summary(&sum)
	if sum.Net.Rates.PPSPeak != 7 || sum.Net.Rates.PPSMean != 4.5 || sum.DNS.Rates.QPSPeak != 3 || sum.DNS.Rates.QPSMean != 1.5 {
		t.Errorf("summary rates %+v %+v; want peak 7 (10.x s), mean 9/2, queries peak 3 (one a bucket, all in 10.x s), mean 3/2", sum.Net.Rates, sum.DNS.Rates)
	}
	for _, c := range []struct{ lo, hi, want int64 }{{0, 1, 1}, {0, s, 1}, {0, s + 1, 2}, {s / 2, 3*s + 1, 4}, {5, 5, 1}, {-s / 2, s / 2, 2}} {
		if got := Seconds(c.lo, c.hi); got != float64(c.want) {
			t.Errorf("Seconds(%d, %d) = %v, want %d", c.lo, c.hi, got, c.want)
		}
	}
}
