package report

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Sparkline levels, lowest first; a column with nothing is a space.
var (
	sparkUnicode = []rune("▁▂▃▄▅▆▇█")
	sparkASCII   = []rune("_.-~=+*#")
)

// timelineColumn sums the buckets drawn in one column.
type timelineColumn struct {
	seen                bool
	seconds             float64
	packets, queries    uint64
	responses, nx, serv uint64
	p99                 float64 // the largest p99 latency (µs) of its buckets
	names               uint64  // the largest distinct-name count of its buckets
}

// timeline writes, under the findings, one sparkline per measure over the
// buckets (several buckets a column when they are more than the width
// holds), the findings' spans on the same axis, and the axis in capture
// time.
func (t *tableWriter) timeline(r *Report) {
	sec := int64(r.BucketSeconds * 1e9)
	if sec <= 0 || r.NumBuckets() == 0 {
		return
	}
	var first, last int64 // bucket starts
	r.EachBucket(func(b *Bucket) error {
		if s := int64(b.Start); s != 0 {
			if first == 0 || s < first {
				first = s
			}
			last = max(last, s)
		}
		return nil
	})
	if first == 0 {
		return
	}
	capFirst, capLast := captureSpan(r)
	const label, value = 18, 14
	room := max(t.o.Width-label-value-2, 10)
	slots := int((last-first)/sec) + 1
	per := (slots + room - 1) / room // buckets a column
	cols := make([]timelineColumn, (slots+per-1)/per)
	colNS := int64(per) * sec
	r.EachBucket(func(b *Bucket) error {
		s := int64(b.Start)
		c := &cols[min(int((s-first)/colNS), len(cols)-1)]
		// A capture's first and last buckets are partly empty: their rates
		// are over the part the capture covers.
		lo, hi := s, s+sec
		if capFirst != 0 && capLast > capFirst {
			lo, hi = max(lo, capFirst), min(hi, capLast)
		}
		c.seen = true
		c.seconds += max(float64(hi-lo)/1e9, 1)
		d := &b.DNS
		c.packets += b.Net.Packets
		c.queries += d.Queries
		c.responses += d.Responses
		c.nx += d.Rcodes["NXDOMAIN"]
		c.serv += d.Rcodes["SERVFAIL"]
		for _, x := range []*XactDir{&d.Xacts.In, &d.Xacts.Out, &d.Xacts.Unknown} {
			if x.Count > 0 {
				c.p99 = max(c.p99, x.LatencyUS.P99)
			}
		}
		c.names = max(c.names, d.Cardinality.QName)
		return nil
	})
	perCol := func(f func(c *timelineColumn) (float64, bool)) []float64 {
		v := make([]float64, len(cols))
		for i := range cols {
			if x, ok := f(&cols[i]); ok && cols[i].seen {
				v[i] = x
			} else {
				v[i] = math.NaN()
			}
		}
		return v
	}
	perSec := func(n func(c *timelineColumn) uint64) []float64 {
		return perCol(func(c *timelineColumn) (float64, bool) { return float64(n(c)) / c.seconds, c.seconds > 0 })
	}
	ofResponses := func(n func(c *timelineColumn) uint64) []float64 {
		return perCol(func(c *timelineColumn) (float64, bool) {
			return float64(n(c)) / float64(c.responses), c.responses > 0
		})
	}
	t.lines(wrap(fmt.Sprintf("TIMELINE (%s a column, %s)", duration(time.Duration(colNS)), t.resolution(per, slots)), "", t.o.Width))
	rows := []struct {
		name string
		v    []float64
		top  func(float64) string
	}{
		{"packets/s", perSec(func(c *timelineColumn) uint64 { return c.packets }), func(f float64) string { return "peak " + rate(f) }},
		{"queries/s", perSec(func(c *timelineColumn) uint64 { return c.queries }), func(f float64) string { return "peak " + rate(f) }},
		{"NXDOMAIN", ofResponses(func(c *timelineColumn) uint64 { return c.nx }), func(f float64) string { return "max " + pct(f) }},
		{"SERVFAIL", ofResponses(func(c *timelineColumn) uint64 { return c.serv }), func(f float64) string { return "max " + pct(f) }},
		{"p99 latency", perCol(func(c *timelineColumn) (float64, bool) { return c.p99, c.p99 > 0 }), func(f float64) string { return "max " + latency(f) }},
		{"distinct names", perCol(func(c *timelineColumn) (float64, bool) { return float64(c.names), true }), func(f float64) string { return "max " + count(uint64(f)) }},
	}
	for _, row := range rows {
		spark, top := t.spark(row.v)
		t.line(strings.TrimRight(pad(row.name, label)+pad(spark, len(cols))+"  "+row.top(top), " "))
	}
	for _, f := range r.Findings {
		s, e := int64(f.Start), int64(f.End)
		mark := []rune(strings.Repeat(" ", len(cols)))
		for i := range mark {
			cs, ce := first+int64(i)*colNS, first+int64(i+1)*colNS
			if ce > s && cs <= e {
				mark[i] = t.spanRune()
			}
		}
		if p := int64(f.Peak); p >= first {
			if i := int((p - first) / colNS); i < len(mark) {
				mark[i] = t.peakRune()
			}
		}
		t.line(strings.TrimRight(pad(shorten(f.Kind, label-1), label)+string(mark), " "))
	}
	t.line(t.axis(first, colNS, len(cols), label))
	t.line("")
}

// resolution says how the columns were chosen.
func (t *tableWriter) resolution(per, slots int) string {
	switch {
	case slots == 1:
		return "one bucket: a finer --bucket draws the capture's shape"
	case per > 1:
		return fmt.Sprintf("%d buckets a column", per)
	}
	return "one bucket a column"
}

func (t *tableWriter) spanRune() rune {
	if t.o.ASCII {
		return '='
	}
	return '━'
}

func (t *tableWriter) peakRune() rune {
	if t.o.ASCII {
		return '^'
	}
	return '▲'
}

// spark draws v (NaN: no data, a space) scaled to its largest value, and
// returns that value.
func (t *tableWriter) spark(v []float64) (string, float64) {
	levels := sparkUnicode
	if t.o.ASCII {
		levels = sparkASCII
	}
	top := 0.0
	for _, x := range v {
		if !math.IsNaN(x) {
			top = max(top, x)
		}
	}
	var b strings.Builder
	for _, x := range v {
		switch {
		case math.IsNaN(x):
			b.WriteRune(' ')
		case top == 0:
			b.WriteRune(levels[0])
		default:
			b.WriteRune(levels[min(int(x/top*float64(len(levels)-1)+0.5), len(levels)-1)])
		}
	}
	return b.String(), top
}

// axis labels the columns with capture times: the first column's start at
// the left, the end at the right, and the middle when there is room.
func (t *tableWriter) axis(first, colNS int64, n, indent int) string {
	start := t.clock(first, false)
	end := t.clock(first+int64(n)*colNS, false)
	if colNS >= int64(time.Second) && (first%int64(time.Second) == 0) {
		start = strings.TrimSuffix(start, ".000")
		end = strings.TrimSuffix(end, ".000")
	}
	line := []rune(strings.Repeat(" ", max(n, utf8.RuneCountInString(start)+1+utf8.RuneCountInString(end))))
	copy(line, []rune(start))
	copy(line[len(line)-utf8.RuneCountInString(end):], []rune(end))
	if mid := t.clock(first+int64(n/2)*colNS, false); n >= 3*utf8.RuneCountInString(start)+6 {
		mid = strings.TrimSuffix(mid, ".000")
		at := n/2 - utf8.RuneCountInString(mid)/2
		copy(line[at:], []rune(mid))
	}
	return strings.TrimRight(strings.Repeat(" ", indent)+string(line), " ")
}
