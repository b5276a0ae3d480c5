package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDashboardNamesOnlyVisorSeries checks that every expression of the
// Grafana dashboard (panels and annotations) names series (and grouping
// labels) that visor emits, and that every time-series panel steps by the
// bucket. scripts/replay-test.sh runs the queries against Prometheus
// (scripts/dashboard-check.py).
func TestDashboardNamesOnlyVisorSeries(t *testing.T) {
	b, err := os.ReadFile("../../dashboards/visor-dns.json")
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr string `json:"expr"`
	}
	var dash struct {
		Panels []struct {
			Title    string   `json:"title"`
			Type     string   `json:"type"`
			Interval string   `json:"interval"`
			Targets  []target `json:"targets"`
		} `json:"panels"`
		Annotations struct {
			List []struct {
				Name string `json:"name"`
				Expr string `json:"expr"`
				Step string `json:"step"`
			} `json:"list"`
		} `json:"annotations"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	// Series name -> the label names it carries, over a capture with a
	// finding (visor_finding_active) and one with SERVFAIL answers (and slow
	// ones with --slow 1ms).
	labels := map[string]map[string]bool{}
	sample := regexp.MustCompile(`^(visor_[a-z0-9_]+)(\{([^}]*)\})? `)
	labelName := regexp.MustCompile(`([a-z_]+)="`)
	for _, capture := range []string{"attack-random-subdomain.pcap", "lab-eth.pcap"} {
		r := runVisor("analyze", "--format", "openmetrics", "--bucket", "1s", "--slow", "1ms", "--label", "capture=lab", "../../testdata/"+capture)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		for _, line := range strings.Split(r.stdout, "\n") {
			m := sample.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			if labels[m[1]] == nil {
				labels[m[1]] = map[string]bool{}
			}
			for _, l := range labelName.FindAllStringSubmatch(m[3], -1) {
				labels[m[1]][l[1]] = true
			}
		}
	}
	metric := regexp.MustCompile(`visor_[a-z0-9_]+`)
	by := regexp.MustCompile(`by \(([^)]*)\)`)
	exprs := 0
	for _, a := range dash.Annotations.List {
		if a.Expr == "" {
			continue
		}
		if a.Step != "$bucket" {
			t.Errorf("annotation %q steps by %q, not $bucket", a.Name, a.Step)
		}
		dash.Panels = append(dash.Panels, struct {
			Title    string   `json:"title"`
			Type     string   `json:"type"`
			Interval string   `json:"interval"`
			Targets  []target `json:"targets"`
		}{Title: "annotation " + a.Name, Targets: []target{{a.Expr}}})
	}
	for _, p := range dash.Panels {
		if p.Type == "timeseries" && p.Interval != "$bucket" {
			t.Errorf("panel %q: minimum interval %q, want $bucket (a step of the bucket keeps increase() exact)", p.Title, p.Interval)
		}
		for _, tg := range p.Targets {
			exprs++
			if strings.Contains(tg.Expr, "$__rate_interval") {
				t.Errorf("panel %q: %q: $__rate_interval is not a bucket: use $__interval", p.Title, tg.Expr)
			}
			names := metric.FindAllString(tg.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: %q names no visor series", p.Title, tg.Expr)
			}
			for _, n := range names {
				have, ok := labels[n]
				if !ok {
					t.Errorf("panel %q: %s is not a series visor emits", p.Title, n)
					continue
				}
				for _, g := range by.FindAllStringSubmatch(tg.Expr, -1) {
					for _, l := range strings.Split(g[1], ",") {
						if l = strings.TrimSpace(l); !have[l] {
							t.Errorf("panel %q: %s has no label %q", p.Title, n, l)
						}
					}
				}
				if !have["capture"] {
					t.Errorf("%s lacks the --label capture", n)
				}
			}
		}
	}
	if exprs < 10 {
		t.Errorf("only %d expressions in the dashboard", exprs)
	}
}

// TestGrafanaRangePrinted: --format openmetrics says on stderr where the
// capture lies, as the dashboard's URL query: from the first bucket's
// start to the last bucket's end (Unix ms), the bucket and the capture.
func TestGrafanaRangePrinted(t *testing.T) {
	const capture = "../../testdata/attack-random-subdomain.pcap"
	j := runVisor("analyze", "--format", "json", "--bucket", "2s", capture)
	if j.code != 0 {
		t.Fatalf("exit %d: %s", j.code, j.stderr)
	}
	var rep struct {
		Buckets []struct {
			Start, End time.Time
		} `json:"buckets"`
	}
	if err := json.Unmarshal([]byte(j.stdout), &rep); err != nil || len(rep.Buckets) == 0 {
		t.Fatalf("report: %v, %d buckets", err, len(rep.Buckets))
	}
	r := runVisor("analyze", "--format", "openmetrics", "--bucket", "2s", "--label", "capture=inc 42", "-o", filepath.Join(t.TempDir(), "x.om"), capture)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := fmt.Sprintf("visor: grafana: ?from=%d&to=%d&var-bucket=2s&var-capture=inc+42 ",
		rep.Buckets[0].Start.UnixMilli(), rep.Buckets[len(rep.Buckets)-1].End.UnixMilli())
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q lacks %q", r.stderr, want)
	}
}
