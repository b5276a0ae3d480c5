package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/visor-dns/visor/report"
)

// truth is what scripts/truth computes from tshark for one capture.
type truth struct {
	File    string `json:"file"`
	Packets uint64 `json:"packets"`
	DNS     struct {
		Messages       uint64            `json:"messages"`
		Queries        uint64            `json:"queries"`
		Responses      uint64            `json:"responses"`
		UDP            uint64            `json:"udp"`
		TCP            uint64            `json:"tcp"`
		IPv4           uint64            `json:"ipv4"`
		IPv6           uint64            `json:"ipv6"`
		Nodata         uint64            `json:"nodata"`
		Rcodes         map[string]uint64 `json:"rcodes"`
		Qtypes         map[string]uint64 `json:"qtypes"`
		DistinctQnames uint64            `json:"distinct_qnames"`
		Xacts          uint64            `json:"xacts"`
	} `json:"dns"`
}

// truthDirs are the folders whose captures carry tshark truth: testdata/,
// and a fresh lab run's output when scripts/lab-test.sh sets VISOR_LAB_DIR.
func truthFiles(t *testing.T) []string {
	dirs := []string{"../../testdata"}
	if d := os.Getenv("VISOR_LAB_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	var out []string
	for _, d := range dirs {
		m, err := filepath.Glob(filepath.Join(d, "*.truth.json"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
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

func TestDNSCountsEqualTshark(t *testing.T) {
	for _, tf := range truthFiles(t) {
		capPath := strings.TrimSuffix(tf, ".truth.json")
		t.Run(filepath.Base(capPath), func(t *testing.T) {
			var want truth
			readJSON(t, tf, &want)
			r := analyzeJSON(t, capPath)
			got := r.Summary.DNS
			w := want.DNS
			eq := func(name string, g, w uint64) {
				if g != w {
					t.Errorf("%s: visor %d, tshark %d", name, g, w)
				}
			}
			eq("net.packets", r.Summary.Net.Packets, want.Packets)
			eq("messages", got.Messages, w.Messages)
			eq("queries", got.Queries, w.Queries)
			eq("responses", got.Responses, w.Responses)
			eq("udp", got.UDP, w.UDP)
			eq("tcp", got.TCP, w.TCP)
			eq("ipv4", got.IPv4, w.IPv4)
			eq("ipv6", got.IPv6, w.IPv6)
			eq("nodata", got.Nodata, w.Nodata)
			eq("xacts.total", got.Xacts.Total, w.Xacts)
			sameMap(t, "rcodes", got.Rcodes, w.Rcodes)
			sameMap(t, "qtypes", got.Qtypes, w.Qtypes)
			if d := math.Abs(float64(got.Cardinality.QName) - float64(w.DistinctQnames)); d > 0.02*float64(w.DistinctQnames) {
				t.Errorf("cardinality.qname %d, exact %d: off by more than 2%%", got.Cardinality.QName, w.DistinctQnames)
			}
		})
	}
}

func sameMap(t *testing.T, name string, got, want map[string]uint64) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s[%s]: visor %d, tshark %d", name, k, got[k], w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok && g != 0 {
			t.Errorf("%s[%s]: visor %d, tshark has none", name, k, g)
		}
	}
}

// TestSameTrafficThreeWays checks that one traffic captured as Ethernet
// pcap, SLL2 nanosecond pcap and pcapng gives the same DNS report.
func TestSameTrafficThreeWays(t *testing.T) {
	dirs := []string{"../../testdata"}
	if d := os.Getenv("VISOR_LAB_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
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
