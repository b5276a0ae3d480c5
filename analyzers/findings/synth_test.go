package findings

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/decode"
	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/sketch"
)

// Synthetic traffic for the detectors' unit tests: DNS messages and TCP
// segments in capture-time order, fed to several shard states and merged
// per bucket as the pipeline does.

// t0 is the synthetic captures' first second (2026-01-01T00:00:03Z: not
// on a window's edge).
const t0 = int64(1767225603) * 1e9

type event struct {
	ts       int64
	src, dst netip.Addr
	// DNS: a message (name set)
	name     string
	qtype    uint16
	response bool
	rcode    uint8
	tcp      bool
	// TCP segment (name empty): flags
	flags uint8
}

type traffic []event

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// ask adds a query from src to dst at ts and its answer 1 ms later.
func (t *traffic) ask(ts int64, src, dst netip.Addr, name string, qtype uint16, rcode uint8) {
	*t = append(*t, event{ts: ts, src: src, dst: dst, name: name, qtype: qtype},
		event{ts: ts + 1e6, src: dst, dst: src, name: name, qtype: qtype, response: true, rcode: rcode})
}

func (t *traffic) segment(ts int64, src, dst netip.Addr, flags uint8) {
	*t = append(*t, event{ts: ts, src: src, dst: dst, flags: flags})
}

// ordinary adds qps ordinary queries a second for secs seconds from 20
// clients, for a few host names under each of zones.
func (t *traffic) ordinary(r *rand.Rand, from int64, secs, qps int, zones ...string) {
	hosts := []string{"www", "mail", "api", "cdn", "static", "login", "images", "news"}
	srv := addr("198.51.100.1")
	for i := 0; i < secs*qps; i++ {
		ts := from + int64(i)*1e9/int64(qps)
		c := netip.AddrFrom4([4]byte{198, 51, 100, byte(100 + r.IntN(20))})
		name := hosts[r.IntN(len(hosts))] + "." + zones[r.IntN(len(zones))]
		t.ask(ts, c, srv, name, 1, 0)
	}
}

// randLabel returns a random [a-z0-9] label of n characters.
func randLabel(r *rand.Rand, n int) string {
	const set = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

func (t traffic) sorted() traffic {
	slices.SortStableFunc(t, func(a, b event) int { return int(a.ts - b.ts) })
	return t
}

func wire(e *event) []byte {
	flags := uint16(0x0100)
	if e.response {
		flags = 0x8180 | uint16(e.rcode)
	}
	b := []byte{0, 1, byte(flags >> 8), byte(flags), 0, 1, 0, 0, 0, 0, 0, 0}
	for _, l := range splitLabels(e.name) {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0, byte(e.qtype>>8), byte(e.qtype), 0, 1)
}

// detect runs the events through shards states, merged per bucket of
// width ns, and returns the findings.
func detect(tb testing.TB, evs traffic, width int64, shards int, th *Thresholds) []report.Finding {
	tb.Helper()
	states := make([]*State, shards)
	for i := range states {
		states[i] = NewState()
	}
	acc := NewState()
	d := NewDetector(th)
	var v decode.DNS
	var m visor.Message
	var f visor.Frame
	bucket := floorDiv(evs[0].ts, width) * width
	closeBucket := func() {
		for _, s := range states {
			acc.Merge(s)
			s.Reset()
		}
		d.AddBucket(bucket, bucket+width, acc, nil)
		acc.Reset()
	}
	for i := range evs {
		e := &evs[i]
		for e.ts >= bucket+width {
			closeBucket()
			bucket += width
		}
		// a flow's messages meet on one shard
		lo, hi := e.src, e.dst
		if hi.Less(lo) {
			lo, hi = hi, lo
		}
		s := states[int(sketch.Hash([]byte(lo.String()+hi.String()))%uint64(shards))]
		if e.name == "" {
			f = visor.Frame{TS: e.ts, Src: e.src, Dst: e.dst, IPVersion: 4, Proto: visor.TransportTCP, TCPFlags: e.flags}
			s.ObserveFrame(&f, visor.DirUnknown)
			continue
		}
		b := wire(e)
		if !decode.ParseDNS(b, &v) {
			tb.Fatalf("cannot parse %q", e.name)
		}
		m = visor.Message{TS: e.ts, IPVersion: 4, Transport: visor.TransportUDP, Src: e.src, Dst: e.dst, WireLen: len(b), Data: b}
		if e.tcp {
			m.Transport = visor.TransportTCP
		}
		s.ObserveDNS(&m, &v, sketch.Hash(v.QName()), visor.DirUnknown)
	}
	closeBucket()
	return d.Findings()
}

// key is what a finding is about.
func key(f report.Finding) string {
	for _, k := range []string{"zone", "target", "source", "prefix"} {
		if v, ok := f.Evidence[k].(string); ok {
			return v
		}
	}
	return ""
}

func kinds(fs []report.Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Kind+"("+key(f)+")")
	}
	return fmt.Sprint(out)
}

// one checks that fs is exactly one finding of kind about k, starting
// within 2 s of launch, and returns it.
func one(t *testing.T, fs []report.Finding, kind, k string, launch int64) report.Finding {
	t.Helper()
	if len(fs) != 1 || fs[0].Kind != kind || key(fs[0]) != k {
		t.Fatalf("findings %s, want exactly %s(%s)", kinds(fs), kind, k)
	}
	if d := int64(fs[0].Start) - launch; d < -2e9 || d > 2e9 {
		t.Errorf("start %s is %.3f s from the launch", fs[0].Start, float64(d)/1e9)
	}
	if !(fs[0].Start <= fs[0].Peak && fs[0].Peak <= fs[0].End) {
		t.Errorf("start %s, peak %s, end %s out of order", fs[0].Start, fs[0].Peak, fs[0].End)
	}
	return fs[0]
}

// sameAtEveryBucket checks that the findings do not depend on the bucket
// width nor on the number of shards.
func sameAtEveryBucket(t *testing.T, evs traffic) []report.Finding {
	t.Helper()
	want := detect(t, evs, 1e9, 1, nil)
	wj, _ := json.Marshal(want)
	for _, w := range []int64{7e9, 10e9, 60e9, 300e9} {
		for _, shards := range []int{1, 3} {
			got := detect(t, evs, w, shards, nil)
			if gj, _ := json.Marshal(got); string(gj) != string(wj) {
				t.Errorf("bucket %d s, %d shards:\n%s\nwant (1 s, 1 shard):\n%s", w/1e9, shards, gj, wj)
			}
		}
	}
	if len(want) > 0 {
		first, last := evs[0].ts, evs[len(evs)-1].ts
		for _, f := range want {
			if int64(f.Start) < first || int64(f.End) > last {
				t.Errorf("%s: %s..%s outside the capture %s..%s", f.Kind, f.Start, f.End, report.Timestamp(first), report.Timestamp(last))
			}
		}
	}
	return want
}

func num(f report.Finding, k string) float64 {
	v, _ := f.Evidence[k].(float64)
	return v
}
