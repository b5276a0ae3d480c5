package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestFindingsFamily: a finding is 1 from its first bucket's start to its
// last bucket's end and 0 one bucket later; findings with the same kind,
// severity and target share a series.
func TestFindingsFamily(t *testing.T) {
	const t0 = int64(1709294400) * 1e9 // 2024-03-01T12:00:00Z, a multiple of 10 s
	ts := func(sec float64) Timestamp { return Timestamp(t0 + int64(sec*1e9)) }
	r := &Report{Schema: Schema, BucketSeconds: 10}
	for i := range 12 {
		r.Buckets = append(r.Buckets, Bucket{Start: ts(float64(10 * i)), End: ts(float64(10*i + 10))})
	}
	r.Findings = []Finding{
		{Kind: "random_subdomain", Severity: "high", Start: ts(12.5), Peak: ts(20), End: ts(31), Evidence: map[string]any{"zone": "victim.example"}},
		{Kind: "random_subdomain", Severity: "high", Start: ts(70), Peak: ts(70), End: ts(70), Evidence: map[string]any{"zone": "victim.example"}},
		{Kind: "syn_flood", Severity: "medium", Start: ts(40), Peak: ts(45), End: ts(50), Evidence: map[string]any{"target": "192.0.2.1"}},
	}
	fams, err := Families(r, []Label{{"capture", "x"}}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fams {
		if f.Name != FindingFamilyName {
			continue
		}
		for _, s := range f.Series {
			var pts []string
			for _, p := range s.Points {
				pts = append(pts, fmt.Sprintf("%d=%v", (p.T-t0/1e6)/1000, p.V))
			}
			got = append(got, fmt.Sprintf("%s%v %s", f.Name, s.Labels, strings.Join(pts, " ")))
		}
	}
	want := []string{
		"visor_finding_active[{capture x} {kind random_subdomain} {severity high} {target victim.example}] 10=1 20=1 30=1 40=1 50=0 70=1 80=1 90=0",
		"visor_finding_active[{capture x} {kind syn_flood} {severity medium} {target 192.0.2.1}] 40=1 50=1 60=0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The streaming writer writes the same families.
	var a, b bytes.Buffer
	if err := WriteOpenMetrics(&a, fams); err != nil {
		t.Fatal(err)
	}
	if err := WriteOpenMetricsReport(&b, r, []Label{{"capture", "x"}}, 10); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("WriteOpenMetricsReport differs from WriteOpenMetrics(Families):\n%s\n---\n%s", b.String(), a.String())
	}
	if !strings.Contains(b.String(), `visor_finding_active{capture="x",kind="syn_flood",severity="medium",target="192.0.2.1"} 1.0 1.70929444e+09`) {
		t.Errorf("OpenMetrics lacks the syn_flood sample:\n%s", b.String())
	}
	if from, to := GrafanaRange(r); from != t0/1e6 || to != t0/1e6+120000 {
		t.Errorf("GrafanaRange = %d, %d; want %d, %d", from, to, t0/1e6, t0/1e6+120000)
	}
	if _, err := ParseLabels([]string{"kind=x"}); err == nil {
		t.Error("--label kind=x accepted: the findings series use kind")
	}
}
