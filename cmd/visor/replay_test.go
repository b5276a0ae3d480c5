package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visor-dns/visor/replay/replaytest"
)

const labPcap = "../../testdata/lab-eth.pcap"

// TestReplayMatchesReport replays a lab capture into an in-process receiver
// and checks every bucket's cumulative queries, responses and rcodes, at the
// bucket's end in ms, against the JSON report.
func TestReplayMatchesReport(t *testing.T) {
	rep := analyzeJSON(t, "--bucket", "1s", labPcap)
	if len(rep.Buckets) < 3 {
		t.Fatalf("want several buckets, got %d", len(rep.Buckets))
	}
	for _, proto := range []string{"1", "2"} {
		t.Run("protocol"+proto, func(t *testing.T) {
			rcv := replaytest.NewReceiver()
			defer rcv.Close()
			r := runVisor("replay", "--url", rcv.WriteURL(), "--protocol", proto, "--bucket", "1s", "--batch-samples", "50",
				"--label", "capture=lab", "--header", "X-Scope-OrgID=t1", labPcap)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			got := map[string]float64{}
			var last int64
			for _, s := range rcv.Samples() {
				if s.T < last-1000 { // concurrent requests of one bucket may interleave
					t.Errorf("sample at %d arrived after one at %d", s.T, last)
				}
				last = max(last, s.T)
				got[fmt.Sprintf("%s@%d", s.Series, s.T)] = s.V
			}
			var q, resp uint64
			rc := map[string]uint64{}
			for _, b := range rep.Buckets {
				at := b.End.Time().UnixMilli()
				q += b.DNS.Queries
				resp += b.DNS.Responses
				for k, v := range b.DNS.Rcodes {
					rc[k] += v
				}
				check := func(series string, want uint64) {
					if g, ok := got[fmt.Sprintf("%s@%d", series, at)]; !ok || g != float64(want) {
						t.Errorf("%s at %s: %v (present %v), want %d", series, b.End, g, ok, want)
					}
				}
				check(`{__name__="visor_dns_queries_total",capture="lab"}`, q)
				check(`{__name__="visor_dns_responses_total",capture="lab"}`, resp)
				for _, k := range []string{"NOERROR", "NXDOMAIN", "REFUSED", "SERVFAIL"} {
					check(fmt.Sprintf(`{__name__="visor_dns_rcode_total",capture="lab",rcode=%q}`, k), rc[k])
				}
			}
			if q != 1214 || rc["NXDOMAIN"] != 594 {
				t.Errorf("lab-eth.pcap: %d queries and %d NXDOMAIN, want 1214 and 594", q, rc["NXDOMAIN"])
			}
			if h := rcv.Requests()[0].Header.Get("X-Scope-OrgID"); h != "t1" {
				t.Errorf("X-Scope-OrgID %q", h)
			}
			if !strings.Contains(r.stderr, " samples sent, ") || !strings.Contains(r.stderr, " 0 samples rejected, 0 samples unknown") {
				t.Errorf("no summary line: %s", r.stderr)
			}
		})
	}
}

func TestReplayFaultsAndUsage(t *testing.T) {
	rcv400 := replaytest.NewReceiver(replaytest.Fault{Status: 400, Body: "out of bounds"})
	defer rcv400.Close()
	rcv503 := replaytest.NewReceiver(replaytest.Fault{Status: 503, Body: "busy"})
	defer rcv503.Close()
	down := replaytest.NewReceiver()
	downURL := down.WriteURL()
	down.Close()
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	os.WriteFile(tok, []byte("s3cret\n"), 0o600)
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{"400 shown, not retried", []string{"--url", rcv400.WriteURL()}, 2, `400 Bad Request: "out of bounds"`, ""},
		{"503 retried", []string{"--url", rcv503.WriteURL(), "--retry-backoff", "10ms"}, 0, "1 retries, 0 samples rejected", ""},
		{"receiver down", []string{"--url", downURL, "--retry-backoff", "10ms", "--retries", "2"}, 2, "gave up after 2 retries", ""},
		{"dry run", []string{"--dry-run", "--bucket", "1s"}, 0, "", "series, "},
		{"no url", nil, 2, "needs --url", ""},
		{"bad url", []string{"--url", "ftp://x"}, 2, "not an http", ""},
		{"bad protocol", []string{"--url", "http://x", "--protocol", "3"}, 2, "--protocol", ""},
		{"bad label", []string{"--url", "http://x", "--label", "rcode=x"}, 2, "use the label", ""},
		{"format", []string{"--url", "http://x", "--format", "json"}, 2, "analyze --format", ""},
		{"user without password", []string{"--url", "http://x", "--basic-user", "u"}, 2, passwordEnv, ""},
		{"bearer and basic", []string{"--url", "http://x", "--basic-user", "u", "--bearer-token-file", tok}, 2, "exclude", ""},
		{"bad header", []string{"--url", "http://x", "--header", "nope"}, 2, "not K=V", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runVisor(append(append([]string{"replay"}, c.args...), labPcap)...)
			if r.code != c.code || !strings.Contains(r.stderr, c.stderr) || !strings.Contains(r.stdout, c.stdout) {
				t.Errorf("exit %d, want %d\nstderr: %s\nstdout: %s", r.code, c.code, r.stderr, r.stdout)
			}
		})
	}
}

// TestAnalyzeOpenMetrics checks the analyze side: the file ends in # EOF and
// its last queries sample is the report's total.
func TestAnalyzeOpenMetrics(t *testing.T) {
	r := runVisor("analyze", "--format", "openmetrics", "--label", "capture=lab", labPcap)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.HasSuffix(r.stdout, "\n# EOF\n") || !strings.Contains(r.stdout, `visor_dns_queries_total{capture="lab"} 1214.0 `) {
		t.Errorf("unexpected OpenMetrics:\n%.2000s", r.stdout)
	}
	if r := runVisor("analyze", "--format", "openmetrics", "--label", "__x=1", labPcap); r.code != 2 {
		t.Errorf("--label __x: exit %d", r.code)
	}
}

// TestReplayIssue16 holds issue 16's replay reproductions (defect 4 and the
// series cap of defect 9), end to end through the command.
func TestReplayIssue16(t *testing.T) {
	const hs = "X-Prometheus-Remote-Write-Samples-Written"
	withPW := func(u string) string { return strings.Replace(u, "http://", "http://user:s3cret@", 1) }
	for _, c := range []struct {
		name   string
		faults []replaytest.Fault
		args   []string
		code   int
		stderr []string
		check  func(t *testing.T, rcv *replaytest.Receiver)
	}{
		{name: "password redacted", faults: []replaytest.Fault{{Status: 400, Body: "no"}}, args: []string{"--url", "URLPW"}, code: 2,
			stderr: []string{"to http://user:xxxxx@127.0.0.1:", `400 Bad Request: "no"`}},
		{name: "password redacted in a parse error", args: []string{"--url", "http://user:s3cret@[::1/api/v1/write"}, code: 2,
			stderr: []string{`"http://user:xxxxx@[::1/api/v1/write" is not an http`}},
		{name: "error body bounded and escaped", faults: []replaytest.Fault{{Status: 400, Body: "\x1b]0;owned\a" + strings.Repeat("x", 1000), BodyRepeat: 10000}},
			args: []string{"--url", "URL"}, code: 2, stderr: []string{`"\x1b]0;owned\a`, "(first 4096 bytes shown, more followed)"},
			check: func(t *testing.T, _ *replaytest.Receiver) {}},
		{name: "retry-after capped", faults: []replaytest.Fault{{Status: 429, Header: map[string]string{"Retry-After": "86400"}}},
			args: []string{"--url", "URL", "--retry-backoff", "10ms", "--retry-max-wait", "50ms"}, code: 0,
			stderr: []string{"receiver asked to wait 24h0m0s (Retry-After); capped at 50ms by the retry budget (--retry-max-wait)",
				"283 samples sent, 1 requests, 1 retries"}},
		{name: "partial write", faults: []replaytest.Fault{{Status: 200, Header: map[string]string{hs: "10"}}},
			args: []string{"--url", "URL", "--protocol", "2"}, code: 2,
			stderr: []string{"wrote 10 of 283 samples", "10 samples sent, 1 requests, 0 retries, 273 samples rejected, 0 samples unknown; FAILED"}},
		{name: "timeout is unknown", faults: []replaytest.Fault{{Delay: 400 * time.Millisecond, Keep: true}, {Delay: 400 * time.Millisecond, Keep: true}},
			args: []string{"--url", "URL", "--timeout", "100ms", "--retries", "1", "--retry-backoff", "10ms"}, code: 2,
			stderr: []string{"no answer (the receiver may have kept the request)", "0 samples rejected, 283 samples unknown; FAILED"}},
		{name: "no request after a permanent failure", faults: []replaytest.Fault{{Status: 400, Body: "no"}},
			args: []string{"--url", "URL", "--concurrency", "1", "--batch-samples", "10"}, code: 2,
			stderr: []string{"10 samples rejected, 0 samples unknown, 273 samples not sent; FAILED"},
			check: func(t *testing.T, rcv *replaytest.Receiver) {
				if rcv.Attempts() != 1 {
					t.Errorf("%d requests after a 400", rcv.Attempts())
				}
			}},
		{name: "top-series", args: []string{"--url", "URL", "--bucket", "1s", "--top-series", "3"}, code: 0,
			stderr: []string{"visor: --top-series 3: visor_dns_top_qname_messages: ", `values beyond the 3 largest summed into qname="__other__"`},
			check: func(t *testing.T, rcv *replaytest.Receiver) {
				values := map[string]map[string]bool{}
				for _, s := range rcv.Samples() {
					for _, l := range s.Labels {
						if l[0] == "__name__" && strings.Contains(l[1], "_top_") {
							if values[l[1]] == nil {
								values[l[1]] = map[string]bool{}
							}
							values[l[1]][s.Series] = true
						}
					}
				}
				if len(values) == 0 {
					t.Fatal("no top-list series received")
				}
				for f, v := range values {
					if len(v) > 4 {
						t.Errorf("%s: %d series, want at most 3 + __other__", f, len(v))
					}
				}
				if len(values["visor_dns_top_qname_messages"]) != 4 {
					t.Errorf("visor_dns_top_qname_messages: %v", values["visor_dns_top_qname_messages"])
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rcv := replaytest.NewReceiver(c.faults...)
			defer rcv.Close()
			args := []string{"replay"}
			for _, a := range c.args {
				a = strings.ReplaceAll(a, "URLPW", withPW(rcv.WriteURL()))
				args = append(args, strings.ReplaceAll(a, "URL", rcv.WriteURL()))
			}
			begin := time.Now()
			r := runVisor(append(args, labPcap)...)
			if r.code != c.code || strings.Contains(r.stderr, "s3cret") || strings.ContainsAny(r.stderr, "\x1b\a") || len(r.stderr) > 20000 {
				t.Errorf("exit %d, want %d; stderr (%d bytes): %.3000s", r.code, c.code, len(r.stderr), r.stderr)
			}
			for _, want := range c.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%.3000s", want, r.stderr)
				}
			}
			if d := time.Since(begin); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
			if c.check != nil {
				c.check(t, rcv)
			}
		})
	}
}
