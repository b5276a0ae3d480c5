package main

import (
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The -update flag may be declared by another test file of this package
// (package-level vars are set before init runs); declare it only if not.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// checkGolden compares got with testdata/check/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "check", name)
	if updateGolden() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/visor -run TestCheck -update creates it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test ./cmd/visor -run TestCheck -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

const labEth = "../../testdata/lab-eth.pcap"

// TestCheck runs visor check on lab-eth.pcap (1214 queries, 1214 responses;
// NOERROR 584, NXDOMAIN 594, REFUSED 27, SERVFAIL 9; four 1 s buckets, the
// first with 2 SERVFAIL in 40 responses).
func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		golden string // stdout; "" when stdout must be empty
		stderr string // a substring stderr must hold
	}{
		{name: "pass", code: 0, golden: "pass.txt", args: []string{
			"--assert", "dns.rcodes.SERVFAIL / dns.responses < 0.01",
			"--assert", "dns.queries == 1214 && dns.responses == 1214",
			"--assert", `all(findings, .kind == "random_subdomain" && .evidence.zone == "victim.example")`,
		}},
		{name: "fail", code: 1, golden: "fail.txt", stderr: "visor: check: 2 of 3 assertions failed", args: []string{
			"--assert", "dns.rcodes.SERVFAIL / dns.responses < 0.005",
			"--assert", "dns.rcodes.NXDOMAIN < 500",
			"--assert", "dns.rcodes.REFUSED == 27",
		}},
		{name: "fail json", code: 1, golden: "fail.json", args: []string{"--format", "json",
			"--assert", "dns.rcodes.SERVFAIL / dns.responses < 0.005",
			"--assert", "dns.rcodes.REFUSED == 27",
		}},
		// True over the run (9/1214), false in the first second (2/40).
		{name: "whole run passes with buckets", code: 0, golden: "bucket-summary.txt", args: []string{
			"--bucket", "1s", "--assert", "dns.rcodes.SERVFAIL / dns.responses < 0.03",
		}},
		{name: "per bucket fail", code: 1, golden: "per-bucket.txt", args: []string{
			"--bucket", "1s", "--per-bucket",
			"--assert", "dns.rcodes.SERVFAIL / dns.responses < 0.03",
			"--assert", "dns.responses > 0",
		}},
		{name: "per bucket fail json", code: 1, golden: "per-bucket.json", args: []string{
			"--bucket", "1s", "--per-bucket", "--format", "json",
			"--assert", "dns.rcodes.SERVFAIL / dns.responses < 0.03",
		}},
		{name: "missing rcode and qtype count 0", code: 0, golden: "missing-zero.txt", args: []string{
			"--assert", "dns.rcodes.NOTIMP == 0",
			"--assert", "dns.qtypes.CAA + dns.qtypes[\"TYPE65280\"] == 0",
			"--assert", "integrity.tcp_gap == 0",
			"--bucket", "1s", "--per-bucket", // and in every bucket, where fewer rcodes are listed
		}},
		{name: "rules", code: 1, golden: "rules.txt", args: []string{
			"--bucket", "1s", "--rules", "testdata/check/rules.yaml",
		}},
		{name: "unknown field", code: 2, stderr: "unknown field dns.respones", args: []string{
			"--assert", "dns.queries > 0", "--assert", "dns.rcodes.SERVFAIL / dns.respones < 0.01",
		}},
		{name: "unknown root", code: 2, stderr: "unknown field summary", args: []string{
			"--assert", "summary.dns.queries > 0",
		}},
		{name: "misspelt rcode", code: 2, stderr: "unknown field dns.rcodes.SERVFIAL", args: []string{
			"--assert", "dns.rcodes.SERVFIAL == 0",
		}},
		{name: "syntax error", code: 2, stderr: "unexpected token", args: []string{
			"--assert", "dns.queries >",
		}},
		{name: "not a boolean", code: 2, stderr: "dns.queries", args: []string{
			"--assert", "dns.queries",
		}},
		{name: "no assertion", code: 2, stderr: "at least one --assert", args: nil},
		{name: "openmetrics", code: 2, stderr: "table, json, html or markdown", args: []string{
			"--format", "openmetrics", "--assert", "dns.queries > 0",
		}},
		{name: "rules file unknown key", code: 2, stderr: "expresion", args: []string{
			"--rules", "testdata/check/bad-key.yaml",
		}},
		{name: "rules file missing", code: 2, stderr: "nope.yaml", args: []string{
			"--rules", "testdata/check/nope.yaml",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runVisor(append(append([]string{"check"}, tt.args...), labEth)...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", r.code, tt.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q does not say %q", r.stderr, tt.stderr)
			}
			if tt.golden == "" {
				if r.stdout != "" {
					t.Errorf("stdout should be empty, got:\n%s", r.stdout)
				}
				return
			}
			checkGolden(t, tt.golden, r.stdout)
		})
	}
}

func TestCheckUnreadableInput(t *testing.T) {
	r := runVisor("check", "--assert", "dns.queries > 0", filepath.Join(t.TempDir(), "missing.pcap"))
	if r.code != 2 || !strings.Contains(r.stderr, "missing.pcap") {
		t.Errorf("exit %d, stderr %q; want 2 naming the file", r.code, r.stderr)
	}
}

// TestCheckJUnit writes the rules' results as JUnit XML and -o JSON, and
// reads both back.
func TestCheckJUnit(t *testing.T) {
	dir := t.TempDir()
	junitPath, outPath := filepath.Join(dir, "junit.xml"), filepath.Join(dir, "result.json")
	r := runVisor("check", "--bucket", "1s", "--rules", "testdata/check/rules.yaml",
		"--junit", junitPath, "--format", "json", "-o", outPath, labEth)
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("exit %d (want 1), stdout %q (want empty); stderr: %s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(junitPath)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "rules.junit.xml", string(b))
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Suites   []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
				SystemOut string `xml:"system-out"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("JUnit XML does not parse: %v", err)
	}
	if doc.Tests != 5 || doc.Failures != 1 || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 5 {
		t.Fatalf("tests=%d failures=%d suites=%d, want 5 tests, 1 failure, one suite of 5", doc.Tests, doc.Failures, len(doc.Suites))
	}
	cases := doc.Suites[0].Cases
	if c := cases[0]; c.Name != "servfail-ratio" || c.Failure != nil ||
		!strings.Contains(c.SystemOut, "dns.rcodes.SERVFAIL=9, dns.responses=1214 → 0.007414") {
		t.Errorf("case 0: %+v", c)
	}
	if c := cases[1]; c.Name != "servfail-ratio-every-second" || c.Failure == nil ||
		!strings.Contains(c.Failure.Message, "2026-11-27T05:59:53.000000000Z–2026-11-27T05:59:54.000000000Z") ||
		!strings.Contains(c.Failure.Message, "dns.rcodes.SERVFAIL=2, dns.responses=40 → 0.05") {
		t.Errorf("case 1 should fail naming the first bucket and its values: %+v", c.Failure)
	}

	var res struct {
		Schema     string `json:"schema"`
		Passed     bool   `json:"passed"`
		Assertions []struct {
			Name   string         `json:"name"`
			Passed bool           `json:"passed"`
			Values map[string]any `json:"values"`
		} `json:"assertions"`
	}
	b, err = os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Schema != "visor.check/v1" || res.Passed || len(res.Assertions) != 5 ||
		res.Assertions[0].Values["dns.rcodes.SERVFAIL"] != 9.0 {
		t.Errorf("result document: %s", b)
	}
}
