package assert

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/visor-dns/visor/report"
)

// sample is a report with two buckets: the first has responses, SERVFAIL
// and a finding; the second only queries.
func sample() *report.Report {
	b1 := report.Section{}
	b1.DNS.Queries, b1.DNS.Responses = 10, 10
	b1.DNS.Rcodes = map[string]uint64{"NOERROR": 8, "SERVFAIL": 2}
	b1.DNS.Qtypes = map[string]uint64{"A": 10}
	b2 := report.Section{}
	b2.DNS.Queries = 5
	b2.DNS.Qtypes = map[string]uint64{"AAAA": 5}
	sum := report.Section{}
	sum.DNS.Queries, sum.DNS.Responses = 15, 10
	sum.DNS.Rcodes = map[string]uint64{"NOERROR": 8, "SERVFAIL": 2}
	sum.DNS.Qtypes = map[string]uint64{"A": 10, "AAAA": 5}
	sum.DNS.Xacts.Out.LatencyUS.P99 = 1234.5
	return &report.Report{
		Schema:        report.Schema,
		Inputs:        []report.Input{{Path: "a.pcap", Packets: 25}},
		Integrity:     map[string]uint64{"tcp_gap": 1},
		BucketSeconds: 60,
		Summary:       sum,
		Buckets: []report.Bucket{
			{Start: report.MustParseTimestamp("2024-03-01T12:00:00.000000000Z"), End: report.MustParseTimestamp("2024-03-01T12:01:00.000000000Z"), Section: b1},
			{Start: report.MustParseTimestamp("2024-03-01T12:01:00.000000000Z"), End: report.MustParseTimestamp("2024-03-01T12:02:00.000000000Z"), Section: b2},
		},
		Findings: []report.Finding{{Kind: "random_subdomain", Severity: "high",
			Start: report.MustParseTimestamp("2024-03-01T12:00:10.000000000Z"), Peak: report.MustParseTimestamp("2024-03-01T12:00:20.000000000Z"), End: report.MustParseTimestamp("2024-03-01T12:00:30.000000000Z"),
			Evidence: map[string]any{"zone": "example.com"}}},
	}
}

func TestEvaluate(t *testing.T) {
	env, err := NewEnv(sample())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		expr      string
		perBucket bool
		passed    bool
		failing   int // failing buckets
	}{
		{expr: "dns.rcodes.SERVFAIL / dns.responses <= 0.2", passed: true},
		{expr: "dns.xacts.out.latency_us.p99 < 250000", passed: true},
		{expr: "dns.queries - dns.responses == 5 && dns.queries * 2 == 30", passed: true},
		// 0/0 is NaN: every comparison with it is false, so the bucket
		// without responses fails either way.
		{expr: "dns.rcodes.SERVFAIL / dns.responses < 1", perBucket: true, passed: false, failing: 1},
		{expr: "dns.rcodes.SERVFAIL / dns.responses >= 1", perBucket: true, passed: false, failing: 2},
		{expr: "dns.responses == 0 || dns.rcodes.SERVFAIL / dns.responses < 1", perBucket: true, passed: true},
		// x/0 with x > 0 is +Inf.
		{expr: "dns.queries / dns.rcodes.NOTIMP > 1e300", passed: true},
		// Absent rcodes, qtypes and integrity reasons count 0, in every bucket.
		{expr: "dns.rcodes.NOTIMP == 0 && dns.qtypes.MX == 0 && dns.qtypes.TYPE65280 == 0", perBucket: true, passed: true},
		{expr: "dns.rcodes.SERVFAIL == 0", perBucket: true, passed: false, failing: 1},
		{expr: "dns.qtypes.A > 0", perBucket: true, passed: false, failing: 1},
		{expr: "integrity.tcp_gap == 1 && integrity.timestamps_backwards == 0", passed: true},
		// Fields the JSON leaves out when zero (omitempty) are still fields.
		{expr: "dns.dot == 0 && dns.doh == 0 && inputs[0].identity == \"\"", passed: true},
		{expr: "inputs[0].packets == 25 && bucket_seconds == 60 && len(inputs) == 1", passed: true},
		// Findings in a bucket are those overlapping it.
		{expr: "len(findings) == 0", passed: false},
		{expr: "len(findings) == 0", perBucket: true, passed: false, failing: 1},
		{expr: "all(findings, .severity != \"high\")", passed: false},
		{expr: "none(findings, .kind == \"random_subdomain\" && .evidence.zone == \"example.com\")", passed: false},
		{expr: "let r = dns.rcodes.SERVFAIL / dns.responses; r < 0.5", passed: true},
		{expr: "dns[\"rcodes\"][\"SERVFAIL\"] == 2", passed: true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			ch, err := Compile(Assertion{Expr: tt.expr, PerBucket: tt.perBucket}, env)
			if err != nil {
				t.Fatal(err)
			}
			r, err := ch.Evaluate(env)
			if err != nil {
				t.Fatal(err)
			}
			if r.Passed != tt.passed || len(r.Failing) != tt.failing {
				t.Errorf("passed %v with %d failing buckets, want %v and %d; values %v, failing %v",
					r.Passed, len(r.Failing), tt.passed, tt.failing, r.Values, r.Failing)
			}
		})
	}
}

func TestValues(t *testing.T) {
	env, err := NewEnv(sample())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ expr, want string }{
		{"dns.rcodes.SERVFAIL / dns.responses < 0.01", "dns.rcodes.SERVFAIL=2, dns.responses=10 → 0.2"},
		{"dns.rcodes.NOTIMP == 0", "dns.rcodes.NOTIMP=0"},
		{"len(findings) == 0", "findings=[random_subdomain] → 1"},
		{"dns.xacts.out.latency_us.p99 < 1000", "dns.xacts.out.latency_us.p99=1234.5"},
		{"dns.queries / dns.rcodes.NOTIMP < 1 && dns.rcodes.NOTIMP / dns.rcodes.NOTIMP < 1",
			"dns.queries=15, dns.rcodes.NOTIMP=0 → dns.queries / dns.rcodes.NOTIMP = +Inf, dns.rcodes.NOTIMP / dns.rcodes.NOTIMP = NaN"},
	}
	for _, tt := range tests {
		ch, err := Compile(Assertion{Expr: tt.expr}, env)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ch.Evaluate(env)
		if err != nil {
			t.Fatal(err)
		}
		if got := FormatValues(r.Values); got != tt.want {
			t.Errorf("%s: values %q, want %q", tt.expr, got, tt.want)
		}
	}
	// The JSON document holds non-finite values as strings.
	rs, err := Run(env, []Assertion{{Name: "inf", Expr: "dns.queries / dns.rcodes.NOTIMP < 1"}})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, rs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"dns.queries / dns.rcodes.NOTIMP": "+Inf"`) || !json.Valid(b.Bytes()) {
		t.Errorf("JSON result:\n%s", b.String())
	}
}

func TestCompileErrors(t *testing.T) {
	env, err := NewEnv(sample())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ expr, want string }{
		{"dns.respones > 0", "unknown field dns.respones"},
		{"dns.xacts.out.latency_us.p100 < 1", "unknown field dns.xacts.out.latency_us.p100"},
		{"net.packets > 0 && dnss.queries > 0", "unknown field dnss"},
		{"dns.rcodes.SERVFIAL == 0", "unknown field dns.rcodes.SERVFIAL"},
		{"dns.qtypes.AAAAA == 0", "unknown field dns.qtypes.AAAAA"},
		{"dns.queries.count > 0", "unknown field dns.queries.count"},
		{"summary.dns.queries > 0", "unknown field summary"},
		{"dns.queries >", "unexpected token"},
		{"", "empty expression"},
	}
	for _, tt := range tests {
		_, err := Compile(Assertion{Expr: tt.expr}, env)
		var ae *Error
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want an *Error saying %q", tt.expr, err, tt.want)
		}
	}
}

func TestEvaluateError(t *testing.T) {
	env, err := NewEnv(sample())
	if err != nil {
		t.Fatal(err)
	}
	ch, err := Compile(Assertion{Expr: "findings[0].kind == \"x\"", PerBucket: true}, env)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ch.Evaluate(env)
	var ae *Error
	if !errors.As(err, &ae) || ae.Bucket != "2024-03-01T12:01:00.000000000Z–2024-03-01T12:02:00.000000000Z" {
		t.Errorf("error %v, want one naming the second bucket", err)
	}
}

func TestParseRules(t *testing.T) {
	as, err := ParseRules([]byte(`
- name: servfail
  expr: dns.rcodes.SERVFAIL / dns.responses < 0.01
  description: few SERVFAIL
  per_bucket: true
- expr: dns.queries > 0
- name: dashed
  expr: dns.queries > 1
  per-bucket: true
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Assertion{
		{Name: "servfail", Expr: "dns.rcodes.SERVFAIL / dns.responses < 0.01", Description: "few SERVFAIL", PerBucket: true},
		{Name: "dns.queries > 0", Expr: "dns.queries > 0"},
		{Name: "dashed", Expr: "dns.queries > 1", PerBucket: true},
	}
	if len(as) != len(want) {
		t.Fatalf("got %d rules, want %d", len(as), len(want))
	}
	for i := range want {
		if as[i] != want[i] {
			t.Errorf("rule %d: %+v, want %+v", i, as[i], want[i])
		}
	}
	for _, bad := range []string{"", "[]", "- name: x\n", "- expr: a\n  exp: b\n", "- {name: a, expr: b}\n- {name: a, expr: c}\n", "name: x\nexpr: y\n"} {
		if _, err := ParseRules([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
