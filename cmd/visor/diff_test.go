package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visor-dns/visor/diff"
	"github.com/visor-dns/visor/engine"
)

// writeSummary analyses capture into a summary file in a temporary
// directory, with the analysis flags' defaults, and returns its path.
func writeSummary(t *testing.T, capture string) string {
	t.Helper()
	cfg := &engine.Config{Inputs: []string{capture}, Top: 10, Bucket: time.Minute, DNSPorts: []uint16{53, 5353, 5355},
		XactTimeout: 5 * time.Second, Slow: 500 * time.Millisecond, Progress: "never", Version: "test"}
	s, err := engine.AnalyzeSummary(context.Background(), cfg, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	path := filepath.Join(t.TempDir(), filepath.Base(capture)+".vsum")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := s.Write(f); err != nil {
		t.Fatal(err)
	}
	return path
}

// A summary side is read as a summary (its magic), and a capture against
// its own summary changes nothing.
func TestDiffSummary(t *testing.T) {
	sum := writeSummary(t, labEth)
	r := runVisor("diff", "--format", "json", labEth, sum)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if err := diff.Validate([]byte(r.stdout)); err != nil {
		t.Fatal(err)
	}
	var d diff.Diff
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatal(err)
	}
	if d.After.Kind != "summary" || d.After.Top != 10 || len(d.Counters) == 0 {
		t.Fatalf("after: kind %q, top %d, %d counters", d.After.Kind, d.After.Top, len(d.Counters))
	}
	for _, c := range d.Changes() {
		t.Error(c)
	}
	if len(d.Findings.Both) == 0 || len(d.Findings.OnlyAfter)+len(d.Findings.OnlyBefore) != 0 {
		t.Errorf("findings %+v", d.Findings)
	}
}

// visor diff on a capture and on the JSON report of the same capture
// finds nothing changed; the JSON validates against the diff's schema.
func TestDiffCaptureAgainstItsReport(t *testing.T) {
	rep := filepath.Join(t.TempDir(), "lab.json")
	if r := runVisor("analyze", "--format", "json", "-o", rep, labEth); r.code != 0 {
		t.Fatalf("analyze: exit %d: %s", r.code, r.stderr)
	}
	r := runVisor("diff", "--format", "json", rep, labEth)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if err := diff.Validate([]byte(r.stdout)); err != nil {
		t.Fatal(err)
	}
	var d diff.Diff
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatal(err)
	}
	if d.Before.Kind != "report" || d.After.Kind != "capture" {
		t.Errorf("kinds %q and %q", d.Before.Kind, d.After.Kind)
	}
	if len(d.Counters) == 0 {
		t.Fatal("no counters")
	}
	for _, c := range d.Counters {
		if c.Delta != 0 {
			t.Errorf("%s: %d -> %d", c.Name, c.Before, c.After)
		}
	}
	for _, td := range d.Tops {
		if len(td.Appeared)+len(td.Vanished)+len(td.Changed) != 0 {
			t.Errorf("%s changed: %+v", td.List, td)
		}
	}
	if len(d.Findings.Both) == 0 || len(d.Findings.OnlyAfter)+len(d.Findings.OnlyBefore) != 0 {
		t.Errorf("findings %+v", d.Findings)
	}
}

// Every format is written, the table within 80 columns, to -o as well.
func TestDiffFormats(t *testing.T) {
	before, after := "../../testdata/attack-ordinary.pcap", "../../testdata/attack-random-subdomain.pcap"
	for _, tt := range []struct{ format, says string }{
		{"table", "+ random_subdomain victim.example"},
		{"markdown", "| + | random_subdomain | victim.example |"},
		{"json", `"subject": "victim.example"`},
	} {
		t.Run(tt.format, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "diff."+tt.format)
			r := runVisor("diff", "--ascii", "--format", tt.format, "-o", out, before, after)
			if r.code != 0 || r.stdout != "" {
				t.Fatalf("exit %d, stdout %q: %s", r.code, r.stdout, r.stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tt.says) {
				t.Errorf("does not say %q:\n%s", tt.says, b)
			}
			if tt.format != "table" {
				return
			}
			for _, l := range strings.Split(string(b), "\n") {
				if len(l) > 80 {
					t.Errorf("line of %d columns: %q", len(l), l)
				}
			}
		})
	}
}

func TestDiffUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		says string
	}{
		{[]string{labEth}, "two inputs"},
		{[]string{labEth, labEth, labEth}, "two inputs"},
		{[]string{"--format", "openmetrics", labEth, labEth}, "table, json or markdown"},
		{[]string{labEth, filepath.Join(t.TempDir(), "missing.pcap")}, "missing.pcap"},
		{[]string{labEth, "../../testdata/lab-eth.pcap.truth.json"}, "not a visor JSON report"},
		{[]string{"-", "-"}, "at most one side from stdin"},
	} {
		r := runVisor(append([]string{"diff"}, tt.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tt.says) {
			t.Errorf("%v: exit %d, stderr %q; want 2 saying %q", tt.args, r.code, r.stderr, tt.says)
		}
	}
}
