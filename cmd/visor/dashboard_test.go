package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDashboardNamesOnlyVisorSeries checks that every expression of the
// Grafana dashboard names series (and grouping labels) that visor emits.
func TestDashboardNamesOnlyVisorSeries(t *testing.T) {
	b, err := os.ReadFile("../../dashboards/visor-dns.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	r := runVisor("analyze", "--format", "openmetrics", "--label", "capture=lab", "../../testdata/lab-eth.pcap")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// Series name -> the label names it carries.
	labels := map[string]map[string]bool{}
	sample := regexp.MustCompile(`^(visor_[a-z0-9_]+)(\{([^}]*)\})? `)
	labelName := regexp.MustCompile(`([a-z_]+)="`)
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
	metric := regexp.MustCompile(`visor_[a-z0-9_]+`)
	by := regexp.MustCompile(`by \(([^)]*)\)`)
	exprs := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs++
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
