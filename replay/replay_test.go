package replay

import (
	"context"
	"fmt"
	"net/http"
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
	}{
		{name: "503 then ok", faults: []replaytest.Fault{{Status: 503, Body: "busy"}}, retries: 1, sent: 14},
		{name: "429 retry-after", faults: []replaytest.Fault{{Status: 429, Body: "slow down", Header: map[string]string{"Retry-After": "1"}}},
			retries: 1, sent: 14, minWait: time.Second},
		{name: "dropped connection", faults: []replaytest.Fault{{Drop: true}}, retries: 1, sent: 14},
		{name: "400 not retried", faults: []replaytest.Fault{{Status: 400, Body: "out of bounds"}}, err: "400 Bad Request: out of bounds"},
		{name: "503 forever", faults: []replaytest.Fault{{Status: 503}, {Status: 503}, {Status: 503}, {Status: 503}},
			err: "gave up after 3 retries", retries: 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			rcv := replaytest.NewReceiver(c.faults...)
			defer rcv.Close()
			cfg := fastConfig(rcv.WriteURL())
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
