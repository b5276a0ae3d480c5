package replay

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/visor-dns/visor/replay/replaytest"
	"github.com/visor-dns/visor/report"
)

// testFamilies: 3 buckets at 60 s steps, a counter, a labelled counter whose
// second label value starts in bucket 2, and a gauge with a gap.
func testFamilies() []report.Family {
	const t0 = int64(1709294400000)
	pts := func(vs ...float64) []report.Point {
		var ps []report.Point
		for i, v := range vs {
			ps = append(ps, report.Point{T: t0 + int64(i)*60000, V: v})
		}
		return ps
	}
	cap := report.Label{Name: "capture", Value: "x"}
	return []report.Family{
		{Name: "visor_dns_queries_total", Type: report.Counter, Help: "q", Series: []report.Series{{Labels: []report.Label{cap}, Points: pts(0, 10, 30, 34)}}},
		{Name: "visor_dns_rcode_total", Type: report.Counter, Help: "r", Series: []report.Series{
			{Labels: []report.Label{cap, {Name: "rcode", Value: "NOERROR"}}, Points: pts(0, 8, 25, 29)},
			{Labels: []report.Label{cap, {Name: "rcode", Value: "SERVFAIL"}}, Points: pts(0, 0, 1, 1)},
		}},
		{Name: "visor_net_pps", Type: report.Gauge, Help: "p", Series: []report.Series{
			{Labels: []report.Label{cap, {Name: "quantile", Value: "0.5"}}, Points: []report.Point{{T: t0 + 60000, V: 1.5}, {T: t0 + 180000, V: 2}}},
		}},
	}
}

func fastConfig(url string) Config {
	return Config{URL: url, Concurrency: 4, Retries: 3, Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
}

func TestPlanOrder(t *testing.T) {
	p := NewPlan(testFamilies(), 3)
	if p.Samples != 14 || len(p.Series) != 4 || len(p.Batches) != 5 {
		t.Fatalf("plan: %d samples, %d series, %d batches", p.Samples, len(p.Series), len(p.Batches))
	}
	var last int64
	for _, b := range p.Batches {
		for _, s := range b.Samples {
			if s.T < last {
				t.Fatalf("sample at %d after %d", s.T, last)
			}
			last = s.T
		}
	}
	if l := p.Series[0].Labels; l[0].Name != "__name__" || l[1].Name != "capture" {
		t.Errorf("labels not sorted with __name__: %v", l)
	}
	// A wave never holds two batches with a common series.
	for _, w := range p.waves() {
		seen := map[int]int{}
		for _, bi := range w {
			for _, s := range p.Batches[bi].Samples {
				if prev, ok := seen[s.Series]; ok && prev != bi {
					t.Errorf("wave %v: series %d in batches %d and %d", w, s.Series, prev, bi)
				}
				seen[s.Series] = bi
			}
		}
	}
}

func TestSend(t *testing.T) {
	for _, proto := range []int{1, 2} {
		for _, batch := range []int{1, 3, 2000} {
			t.Run(fmt.Sprintf("v%d-batch%d", proto, batch), func(t *testing.T) {
				rcv := replaytest.NewReceiver()
				defer rcv.Close()
				cfg := fastConfig(rcv.WriteURL())
				cfg.Protocol = proto
				st, err := Send(context.Background(), cfg, NewPlan(testFamilies(), batch))
				if err != nil {
					t.Fatal(err)
				}
				if st.Sent != 14 || st.Rejected != 0 || st.Retries != 0 || st.Series != 4 {
					t.Errorf("stats %+v", st)
				}
				got := rcv.Samples()
				if len(got) != 14 {
					t.Fatalf("received %d samples", len(got))
				}
				last := map[string]int64{}
				byKey := map[string]float64{}
				for _, s := range got {
					if s.T <= last[s.Series] {
						t.Errorf("%s: sample at %d after %d", s.Series, s.T, last[s.Series])
					}
					last[s.Series] = s.T
					byKey[s.Series+"@"+time.UnixMilli(s.T).UTC().Format("15:04")] = s.V
				}
				for k, v := range map[string]float64{
					`{__name__="visor_dns_queries_total",capture="x"}@12:00`:                0,
					`{__name__="visor_dns_queries_total",capture="x"}@12:03`:                34,
					`{__name__="visor_dns_rcode_total",capture="x",rcode="SERVFAIL"}@12:02`: 1,
					`{__name__="visor_net_pps",capture="x",quantile="0.5"}@12:01`:           1.5,
					`{__name__="visor_dns_rcode_total",capture="x",rcode="NOERROR"}@12:03`:  29,
					`{__name__="visor_dns_rcode_total",capture="x",rcode="SERVFAIL"}@12:00`: 0,
					`{__name__="visor_net_pps",capture="x",quantile="0.5"}@12:03`:           2,
					`{__name__="visor_dns_queries_total",capture="x"}@12:01`:                10,
					`{__name__="visor_dns_rcode_total",capture="x",rcode="NOERROR"}@12:01`:  8,
					`{__name__="visor_dns_rcode_total",capture="x",rcode="SERVFAIL"}@12:03`: 1,
					`{__name__="visor_dns_queries_total",capture="x"}@12:02`:                30,
					`{__name__="visor_dns_rcode_total",capture="x",rcode="NOERROR"}@12:02`:  25,
					`{__name__="visor_dns_rcode_total",capture="x",rcode="NOERROR"}@12:00`:  0,
					`{__name__="visor_dns_rcode_total",capture="x",rcode="SERVFAIL"}@12:01`: 0,
				} {
					if g, ok := byKey[k]; !ok || g != v {
						t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
					}
				}
				reqs := rcv.Requests()
				if want := map[int]string{1: "0.1.0", 2: "2.0.0"}[proto]; reqs[0].Header.Get("X-Prometheus-Remote-Write-Version") != want {
					t.Errorf("version header %q", reqs[0].Header.Get("X-Prometheus-Remote-Write-Version"))
				}
				meta := map[string]string{}
				for _, q := range reqs {
					for k, v := range q.Meta {
						meta[k] = v
					}
				}
				if meta["visor_dns_queries_total"] != "counter" || meta["visor_net_pps"] != "gauge" {
					t.Errorf("metadata %v", meta)
				}
			})
		}
	}
}

func TestSendFaults(t *testing.T) {
	for _, c := range []struct {
		name    string
		faults  []replaytest.Fault
		err     string
		retries int
		sent    int
		minWait time.Duration
		maxWait time.Duration // MaxBackoff, if not fastConfig's
	}{
		{name: "503 then ok", faults: []replaytest.Fault{{Status: 503, Body: "busy"}}, retries: 1, sent: 14},
		{name: "429 retry-after", faults: []replaytest.Fault{{Status: 429, Body: "slow down", Header: map[string]string{"Retry-After": "1"}}},
			retries: 1, sent: 14, minWait: time.Second, maxWait: 2 * time.Second},
		{name: "dropped connection", faults: []replaytest.Fault{{Drop: true}}, retries: 1, sent: 14},
		{name: "400 not retried", faults: []replaytest.Fault{{Status: 400, Body: "out of bounds"}}, err: `400 Bad Request: "out of bounds"`},
		{name: "503 forever", faults: []replaytest.Fault{{Status: 503}, {Status: 503}, {Status: 503}, {Status: 503}},
			err: "gave up after 3 retries", retries: 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			rcv := replaytest.NewReceiver(c.faults...)
			defer rcv.Close()
			cfg := fastConfig(rcv.WriteURL())
			if c.maxWait > 0 {
				cfg.MaxBackoff = c.maxWait
			}
			begin := time.Now()
			st, err := Send(context.Background(), cfg, NewPlan(testFamilies(), 2000))
			if (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
				t.Fatalf("error %v, want %q", err, c.err)
			}
			if st.Retries != c.retries || st.Sent != c.sent || (c.err != "" && st.Rejected != 14) {
				t.Errorf("stats %+v", st)
			}
			if time.Since(begin) < c.minWait {
				t.Errorf("took %v, Retry-After asked for %v", time.Since(begin), c.minWait)
			}
			if c.err == "" && len(rcv.Samples()) != 14 {
				t.Errorf("received %d samples", len(rcv.Samples()))
			}
		})
	}
}

func TestSendStopsAfterFailure(t *testing.T) {
	rcv := replaytest.NewReceiver(replaytest.Fault{Status: 400, Body: "no"})
	defer rcv.Close()
	cfg := fastConfig(rcv.WriteURL())
	cfg.Concurrency = 1
	st, err := Send(context.Background(), cfg, NewPlan(testFamilies(), 3))
	if err == nil || st.Requests != 1 || st.Rejected != 3 || st.Unsent != 11 || rcv.Attempts() != 1 {
		t.Errorf("err %v, stats %+v, attempts %d", err, st, rcv.Attempts())
	}
}

func TestAuth(t *testing.T) {
	rcv := replaytest.NewReceiver()
	defer rcv.Close()
	for _, c := range []struct {
		auth Auth
		want map[string]string
	}{
		{Auth{BasicUser: "u", BasicPassword: "p", Headers: http.Header{"X-Scope-Orgid": {"t1"}}},
			map[string]string{"Authorization": "Basic dTpw", "X-Scope-Orgid": "t1"}},
		{Auth{BearerToken: "tok"}, map[string]string{"Authorization": "Bearer tok"}},
	} {
		client, err := NewHTTPClient(c.auth, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		cfg := fastConfig(rcv.WriteURL())
		cfg.Client = client
		if _, err := Send(context.Background(), cfg, NewPlan(testFamilies(), 2000)); err != nil {
			t.Fatal(err)
		}
		reqs := rcv.Requests()
		h := reqs[len(reqs)-1].Header
		for k, v := range c.want {
			if h.Get(k) != v {
				t.Errorf("%s: %q, want %q", k, h.Get(k), v)
			}
		}
	}
	if _, err := NewHTTPClient(Auth{CAFile: "/nonexistent"}, time.Second); err == nil {
		t.Error("a missing CA file was accepted")
	}
}

// wideFamilies: n series with one sample each at one time, so batches of
// them share no series and fall into one wave.
func wideFamilies(n int) []report.Family {
	f := report.Family{Name: "visor_dns_top_qname_messages", Type: report.Gauge, Help: "t"}
	for i := range n {
		f.Series = append(f.Series, report.Series{Labels: []report.Label{{Name: "qname", Value: fmt.Sprintf("n%03d.example", i)}},
			Points: []report.Point{{T: 1709294460000, V: float64(i)}}})
	}
	return []report.Family{f}
}

// Issue 16 defect 4: a receiver's error body is read up to a bound and
// printed escaped, not read whole with its terminal escapes passed raw.
func TestSendErrorBodyBounded(t *testing.T) {
	const chunk = "\x1b[2J\x1b]0;pwned\a" + "0123456789abcdef0123456789abcdef0123456789abcdef"
	const repeat = 1 << 20 // 64 MiB
	rcv := replaytest.NewReceiver(replaytest.Fault{Status: 400, Body: chunk, BodyRepeat: repeat})
	defer rcv.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Send(context.Background(), fastConfig(rcv.WriteURL()), NewPlan(testFamilies(), 2000))
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if len(msg) > 6*maxErrorBody || strings.ContainsAny(msg, "\x1b\a") || !strings.Contains(msg, `\x1b[2J`) ||
		!strings.Contains(msg, "400 Bad Request") || !strings.Contains(msg, "bytes shown") {
		t.Errorf("error of %d bytes: %.300q", len(msg), msg)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("allocated %d MiB for a %d MiB error body", alloc>>20, len(chunk)*repeat>>20)
	}
}

// Issue 16 defect 4: Retry-After: 86400 waits at most the retry budget's
// longest wait, and says so.
func TestSendRetryAfterCapped(t *testing.T) {
	rcv := replaytest.NewReceiver(replaytest.Fault{Status: 429, Header: map[string]string{"Retry-After": "86400"}})
	defer rcv.Close()
	cfg := fastConfig(rcv.WriteURL())
	var notes []string
	cfg.Notify = func(s string) { notes = append(notes, s) }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	begin := time.Now()
	st, err := Send(ctx, cfg, NewPlan(testFamilies(), 2000))
	if err != nil || st.Sent != 14 || time.Since(begin) > 2*time.Second {
		t.Fatalf("err %v, stats %+v after %v", err, st, time.Since(begin))
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "asked to wait 24h0m0s") || !strings.Contains(notes[0], "capped at 20ms") {
		t.Errorf("notes %q", notes)
	}
}

// Issue 16 defect 4: remote write 2.0's written-count headers are the counts
// reported; a partial write fails the replay.
func TestSendPartialWriteV2(t *testing.T) {
	const hs, hh = "X-Prometheus-Remote-Write-Samples-Written", "X-Prometheus-Remote-Write-Histograms-Written"
	for _, c := range []struct {
		name                    string
		fault                   replaytest.Fault
		err                     string
		sent, rejected, unknown int
		unsent                  int
	}{
		{"10 of 14", replaytest.Fault{Status: 200, Header: map[string]string{hs: "10"}}, "wrote 10 of 14 samples", 10, 4, 0, 0},
		{"samples and histograms", replaytest.Fault{Status: 204, Header: map[string]string{hs: "10", hh: "4"}}, "", 14, 0, 0, 0},
		{"400 after writing some", replaytest.Fault{Status: 400, Body: "bad", Header: map[string]string{hs: "3"}}, "wrote 3 of 14 samples", 3, 11, 0, 0},
		{"no written header", replaytest.Fault{Status: 204}, "without X-Prometheus-Remote-Write-Samples-Written", 0, 0, 14, 0},
		{"bad written header", replaytest.Fault{Status: 204, Header: map[string]string{hs: "ten"}}, `"ten", not a count`, 0, 0, 14, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			rcv := replaytest.NewReceiver(c.fault)
			defer rcv.Close()
			cfg := fastConfig(rcv.WriteURL())
			cfg.Protocol = 2
			st, err := Send(context.Background(), cfg, NewPlan(testFamilies(), 2000))
			if (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
				t.Errorf("error %v, want %q", err, c.err)
			}
			if st.Sent != c.sent || st.Rejected != c.rejected || st.Unknown != c.unknown || st.Unsent != c.unsent {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// Issue 16 defect 4: a request with no answer in time is "unknown", not
// rejected: this receiver kept it.
func TestSendTimeoutUnknown(t *testing.T) {
	rcv := replaytest.NewReceiver(replaytest.Fault{Delay: 400 * time.Millisecond, Keep: true},
		replaytest.Fault{Delay: 400 * time.Millisecond, Keep: true})
	defer rcv.Close()
	cfg := fastConfig(rcv.WriteURL())
	cfg.Retries = 1
	cfg.Client = &http.Client{Timeout: 100 * time.Millisecond}
	st, err := Send(context.Background(), cfg, NewPlan(testFamilies(), 2000))
	if err == nil || !strings.Contains(err.Error(), "no answer") || st.Unknown != 14 || st.Rejected != 0 || st.Sent != 0 {
		t.Errorf("err %v, stats %+v", err, st)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(rcv.Samples()); n == 0 {
		t.Errorf("the receiver did not keep the late request (%d samples): the test proves nothing", n)
	}
}

// Issue 16 defect 4: no request starts after a permanent failure, whatever
// the concurrency: only the requests already in flight finish. Every request
// takes 30 ms, so with concurrency c the failure is known when the first c
// end: fewer than 2c requests in all.
func TestSendNoRequestAfterPermanentFailure(t *testing.T) {
	for _, conc := range []int{1, 2, 4} {
		t.Run(fmt.Sprint(conc), func(t *testing.T) {
			rcv := replaytest.NewReceiver(replaytest.Fault{Status: 400, Body: "no"})
			defer rcv.Close()
			rcv.Delay = 30 * time.Millisecond
			cfg := fastConfig(rcv.WriteURL())
			cfg.Concurrency = conc
			p := NewPlan(wideFamilies(40), 2)
			if len(p.waves()) != 1 {
				t.Fatalf("%d waves, want 1", len(p.waves()))
			}
			st, err := Send(context.Background(), cfg, p)
			if err == nil || rcv.Attempts() >= 2*conc || (conc == 1 && rcv.Attempts() != 1) || st.Requests != rcv.Attempts() || st.Rejected != 2 ||
				st.Sent+st.Rejected+st.Unsent != 40 {
				t.Errorf("err %v, stats %+v, attempts %d", err, st, rcv.Attempts())
			}
		})
	}
}

// Issue 16 defect 4: a password in the URL never appears in an error.
func TestSendRedactsURL(t *testing.T) {
	rcv := replaytest.NewReceiver(replaytest.Fault{Status: 400, Body: "no"})
	defer rcv.Close()
	down := replaytest.NewReceiver()
	downURL := down.WriteURL()
	down.Close()
	for _, u := range []string{rcv.WriteURL(), downURL} {
		withPW := strings.Replace(u, "http://", "http://user:s3cret@", 1)
		cfg := fastConfig(withPW)
		cfg.Retries = 1
		_, err := Send(context.Background(), cfg, NewPlan(testFamilies(), 2000))
		if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "user:xxxxx@") {
			t.Errorf("%v", err)
		}
	}
	for in, want := range map[string]string{
		"http://u:pw@h:1/x":         "http://u:xxxxx@h:1/x",
		"http://u@h/x":              "http://u@h/x",
		"http://u:p%zz@h/x":         "http://u:xxxxx@h/x",
		"http://u:p@w@[::1/x":       "http://u:xxxxx@[::1/x",
		"https://h/x?a=b@c":         "https://h/x?a=b@c",
		"not a url u:pw@x":          "not a url u:pw@x",
		"http://u:pw@h:1/x?t=a:b@c": "http://u:xxxxx@h:1/x?t=a:b@c",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// Issue 16 defect 9: a family labelled by names from the traffic keeps at
// most n of them over the run; the rest are summed into __other__.
func TestCapSeries(t *testing.T) {
	const t0 = int64(1709294400000)
	capture := report.Label{Name: "capture", Value: "x"}
	top := report.Family{Name: "visor_dns_top_qname_messages", Type: report.Gauge}
	// Bucket i's top list holds a.example (10) and a new name n<i> (i+1): 50 buckets.
	for i := range 50 {
		top.Series = append(top.Series, report.Series{Labels: []report.Label{capture, {Name: "qname", Value: fmt.Sprintf("n%02d", i)}},
			Points: []report.Point{{T: t0 + int64(i)*1000, V: float64(i + 1)}}})
	}
	var aPts []report.Point
	for i := range 50 {
		aPts = append(aPts, report.Point{T: t0 + int64(i)*1000, V: 10})
	}
	top.Series = append(top.Series,
		report.Series{Labels: []report.Label{capture, {Name: "qname", Value: "a.example"}}, Points: aPts},
		report.Series{Labels: []report.Label{capture, {Name: "qname", Value: Other}}, Points: []report.Point{{T: t0, V: 7}}})
	fams := append(testFamilies(), top)
	before := NewPlan(fams, 1000).Samples
	total := func(f report.Family) (sum float64) {
		for _, s := range f.Series {
			for _, p := range s.Points {
				sum += p.V
			}
		}
		return sum
	}
	want := total(top)
	folded := CapSeries(fams, 3)
	if len(folded) != 1 || folded[0] != (Folded{Family: top.Name, Label: "qname", Kept: 3, Values: 49}) {
		t.Fatalf("folded %+v", folded)
	}
	got := fams[len(fams)-1]
	var names []string
	for _, s := range got.Series {
		names = append(names, labelValue(s.Labels, "qname"))
	}
	if strings.Join(names, " ") != "__other__ a.example n48 n49" {
		t.Errorf("series %v", names)
	}
	if total(got) != want {
		t.Errorf("sum %v after folding, %v before", total(got), want)
	}
	// __other__ at t0: n00 (1) and the captured __other__ (7).
	if o := got.Series[0]; o.Points[0] != (report.Point{T: t0, V: 8}) || len(o.Points) != 48 || o.Labels[0] != capture {
		t.Errorf("__other__ %+v", o)
	}
	if p := NewPlan(fams, 1000); p.Samples >= before || len(p.Series) != 4+4 {
		t.Errorf("plan: %d samples (%d before), %d series", p.Samples, before, len(p.Series))
	}
	// Families without a label from the traffic (quantile) or within the cap are left alone.
	if f := CapSeries(testFamilies(), 2); f != nil {
		t.Errorf("folded %+v", f)
	}
	if f := CapSeries(testFamilies(), 1); len(f) != 1 || f[0].Family != "visor_dns_rcode_total" {
		t.Errorf("folded %+v", f)
	}
}
