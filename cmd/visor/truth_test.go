package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/visor-dns/visor/internal/truth"
	"github.com/visor-dns/visor/report"
)

// truthFiles are the testdata captures that carry tshark truth (a fresh
// lab run's are checked by internal/lab/scenarios).
func truthFiles(t *testing.T) []string {
	out, err := filepath.Glob("../../testdata/*.truth.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no *.truth.json files in testdata/: the captures are missing")
	}
	return out
}

// analyzeJSON runs `visor analyze --format json` in process and returns the
// validated report.
func analyzeJSON(t *testing.T, args ...string) *report.Report {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"analyze", "--format", "json"}, args...), nil, &out, &errb)
	if code != 0 {
		t.Fatalf("visor analyze %v: exit %d: %s", args, code, errb.String())
	}
	if err := report.Validate(out.Bytes()); err != nil {
		t.Fatalf("report does not validate against the schema: %v", err)
	}
	var r report.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// TestDNSCountsEqualTshark: visor's DNS counts of every testdata capture
// equal tshark's (scripts/truth wrote them; the lab tier recomputes them).
func TestDNSCountsEqualTshark(t *testing.T) {
	for _, tf := range truthFiles(t) {
		capPath := strings.TrimSuffix(tf, ".truth.json")
		t.Run(filepath.Base(capPath), func(t *testing.T) {
			var want truth.Capture
			readJSON(t, tf, &want)
			for _, d := range want.Diff(analyzeJSON(t, capPath)) {
				t.Error(d)
			}
		})
	}
}

func sameMap(t *testing.T, name string, got, want map[string]uint64) {
	t.Helper()
	for _, d := range truth.MapDiff(name, got, want) {
		t.Error(d)
	}
}

// TestSameTrafficThreeWays checks that one traffic captured as Ethernet
// pcap, SLL2 nanosecond pcap and pcapng gives the same DNS report.
func TestSameTrafficThreeWays(t *testing.T) {
	for _, d := range []string{"../../testdata"} {
		t.Run(d, func(t *testing.T) {
			var ref *report.DNS
			for _, name := range []string{"lab-eth.pcap", "lab-sll2.pcap", "lab.pcapng"} {
				r := analyzeJSON(t, filepath.Join(d, name))
				got := r.Summary.DNS
				got.Xacts = report.Xacts{Total: got.Xacts.Total, TimedOut: got.Xacts.TimedOut}
				if ref == nil {
					ref = &got
					if got.Messages == 0 {
						t.Fatalf("%s: no DNS messages", name)
					}
					continue
				}
				a, _ := json.Marshal(ref)
				b, _ := json.Marshal(got)
				if string(a) != string(b) {
					t.Errorf("%s differs from lab-eth.pcap:\n%s\n%s", name, a, b)
				}
			}
		})
	}
}

// readJSON decodes the JSON file at path into v.
func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
