package assert

import (
	"strings"
	"testing"

	"github.com/visor-dns/visor/report"
)

// baseline is a smaller, calmer run than sample: fewer queries, one
// SERVFAIL, no REFUSED listed.
func baseline() *report.Report {
	s := report.Section{}
	s.DNS.Queries, s.DNS.Responses = 12, 12
	s.DNS.Rcodes = map[string]uint64{"NOERROR": 11, "SERVFAIL": 1}
	s.DNS.Xacts.Out.LatencyUS.P99 = 1000
	return &report.Report{Schema: report.Schema, Integrity: map[string]uint64{}, BucketSeconds: 60, Summary: s}
}

func TestBaseline(t *testing.T) {
	env, err := NewEnv(sample())
	if err != nil {
		t.Fatal(err)
	}
	if err := env.SetBaseline(baseline()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		expr      string
		perBucket bool
		passed    bool
		failing   int
	}{
		{expr: "dns.rcodes.SERVFAIL <= 2 * baseline.dns.rcodes.SERVFAIL", passed: true},
		{expr: "dns.rcodes.SERVFAIL < 2 * baseline.dns.rcodes.SERVFAIL", passed: false},
		{expr: "dns.queries > baseline.dns.queries", passed: true},
		// A count the baseline does not list is 0 there, as in the run.
		{expr: "baseline.dns.rcodes.REFUSED == 0 && baseline.dns.qtypes.CAA == 0", passed: true},
		{expr: "dns.xacts.out.latency_us.p99 <= 1.1 * baseline.dns.xacts.out.latency_us.p99", passed: false},
		{expr: "len(baseline.findings) == 0 && len(findings) == 1", passed: true},
		// Every bucket compares with the baseline's whole run: 2 and 0
		// SERVFAIL against 1.
		{expr: "dns.rcodes.SERVFAIL <= baseline.dns.rcodes.SERVFAIL", perBucket: true, passed: false, failing: 1},
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
				t.Errorf("passed %v with %d failing buckets, want %v and %d; values %v", r.Passed, len(r.Failing), tt.passed, tt.failing, r.Values)
			}
		})
	}
	// The values shown name the baseline's fields.
	ch, _ := Compile(Assertion{Expr: "dns.rcodes.SERVFAIL <= 2 * baseline.dns.rcodes.SERVFAIL + 10"}, env)
	r, _ := ch.Evaluate(env)
	if got := FormatValues(r.Values); got != "dns.rcodes.SERVFAIL=2, baseline.dns.rcodes.SERVFAIL=1 → 12" {
		t.Errorf("values %q", got)
	}
}

func TestBaselineUnknownFields(t *testing.T) {
	env, err := NewEnv(sample())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ expr, says string }{
		{"baseline.dns.queries > 0", "no baseline was given"},
	} {
		if _, err := Compile(Assertion{Expr: tt.expr}, env); err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: %v, want %q", tt.expr, err, tt.says)
		}
	}
	if err := env.SetBaseline(baseline()); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ expr, says string }{
		{"baseline.dns.respones > 0", "unknown field baseline.dns.respones"},
		{"baseline.dns.rcodes.SERVFIAL > 0", "unknown field baseline.dns.rcodes.SERVFIAL"},
		{"baseline.summary.dns.queries > 0", "unknown field baseline.summary"},
	} {
		if _, err := Compile(Assertion{Expr: tt.expr}, env); err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: %v, want %q", tt.expr, err, tt.says)
		}
	}
}
