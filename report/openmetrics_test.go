package report

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// omReport has three buckets, a gap between the second and third, an rcode
// that first appears in the second bucket and names that need escaping.
func omReport() *Report {
	const t0 = int64(1709294400) * 1e9 // 2024-03-01T12:00:00Z
	ts := func(sec int64) Timestamp { return Timestamp(t0 + sec*1e9) }
	sec := func(q, nx, servfail uint64, names ...TopItem) Section {
		var s Section
		s.Net.Packets, s.Net.Bytes, s.Net.IPv4, s.Net.UDP, s.Net.UnknownDir = 2*q, 200*q, 2*q, 2*q, 2*q
		s.Net.Rates.PPS = Quantiles{P50: float64(q) / 10, P90: 1, P95: 2, P99: 3.5}
		s.Net.Cardinality.SrcIPs = 3
		s.DNS.Messages, s.DNS.Queries, s.DNS.Responses = 2*q, q, q
		s.DNS.UDP, s.DNS.IPv4 = 2*q, 2*q
		s.DNS.Rcodes = map[string]uint64{"NOERROR": q - nx - servfail, "NXDOMAIN": nx}
		if servfail > 0 {
			s.DNS.Rcodes["SERVFAIL"] = servfail
		}
		s.DNS.Qtypes = map[string]uint64{"A": q}
		s.DNS.Top.QName = names
		s.DNS.Xacts.Total, s.DNS.Xacts.Out.Count = q, q
		s.DNS.Xacts.Out.LatencyUS = Quantiles{P50: 1500, P90: 2500, P95: 40000, P99: 250000}
		return s
	}
	return &Report{
		Schema: Schema, BucketSeconds: 60,
		Buckets: []Bucket{
			{Start: ts(0), End: ts(60), Section: sec(10, 2, 0, TopItem{Name: "www.example.net", Estimate: 6})},
			{Start: ts(60), End: ts(120), Section: sec(20, 5, 1, TopItem{Name: `we"ird\032name.example`, Estimate: 9},
				TopItem{Name: "www.example.net", Estimate: 4}, TopItem{Name: "third.example", Estimate: 1})},
			{Start: ts(300), End: ts(360), Section: sec(4, 0, 0)},
		},
	}
}

func writeOM(t *testing.T, r *Report, labels []string, top int) ([]Family, []byte) {
	t.Helper()
	extra, err := ParseLabels(labels)
	if err != nil {
		t.Fatal(err)
	}
	fams, err := Families(r, extra, top)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteOpenMetrics(&buf, fams); err != nil {
		t.Fatal(err)
	}
	return fams, buf.Bytes()
}

func TestWriteOpenMetricsGolden(t *testing.T) {
	_, got := writeOM(t, omReport(), []string{"capture=lab-1", "instance=resolver:53"}, 2)
	golden(t, "openmetrics_sample.golden", got)
	_, got = writeOM(t, &Report{Schema: Schema}, nil, 10)
	golden(t, "openmetrics_empty.golden", got)
}

// find returns the family and the series with these labels (name=value pairs).
func find(t *testing.T, fams []Family, name string, kv ...string) Series {
	t.Helper()
	for _, f := range fams {
		if f.Name != name {
			continue
		}
	next:
		for _, s := range f.Series {
			for i := 0; i < len(kv); i += 2 {
				if !slices.Contains(s.Labels, Label{kv[i], kv[i+1]}) {
					continue next
				}
			}
			return s
		}
	}
	t.Fatalf("no series %s%v", name, kv)
	return Series{}
}

func TestFamilies(t *testing.T) {
	r := omReport()
	fams, _ := writeOM(t, r, []string{"capture=x"}, 2)
	const t0 = int64(1709294400000)
	ends := []int64{t0, t0 + 60000, t0 + 120000, t0 + 360000}
	points := func(vs ...float64) []Point {
		var ps []Point
		for i, v := range vs {
			ps = append(ps, Point{ends[i], v})
		}
		return ps
	}
	for _, c := range []struct {
		name string
		kv   []string
		want []Point
	}{
		{"visor_dns_queries_total", nil, points(0, 10, 30, 34)},
		{"visor_dns_responses_total", nil, points(0, 10, 30, 34)},
		{"visor_net_packets_total", nil, points(0, 20, 60, 68)},
		{"visor_dns_rcode_total", []string{"rcode", "NXDOMAIN"}, points(0, 2, 7, 7)},
		// SERVFAIL first appears in the second bucket: 0 until then, kept after.
		{"visor_dns_rcode_total", []string{"rcode", "SERVFAIL"}, points(0, 0, 1, 1)},
		{"visor_dns_qtype_total", []string{"qtype", "A"}, points(0, 10, 30, 34)},
		{"visor_dns_xacts_total", []string{"direction", "out"}, points(0, 10, 30, 34)},
		{"visor_dns_xacts_total", []string{"direction", "in"}, points(0, 0, 0, 0)},
		{"visor_net_pps", []string{"quantile", "0.5"}, []Point{{ends[1], 1}, {ends[2], 2}, {ends[3], 0.4}}},
		{"visor_dns_xact_latency_seconds", []string{"direction", "out", "quantile", "0.99"}, []Point{{ends[1], 0.25}, {ends[2], 0.25}, {ends[3], 0.25}}},
		// top 2: third.example is cut; a gauge has points only where it ranked.
		{"visor_dns_top_qname_messages", []string{"qname", "www.example.net"}, []Point{{ends[1], 6}, {ends[2], 4}}},
		{"visor_dns_top_qname_messages", []string{"qname", `we"ird\032name.example`}, []Point{{ends[2], 9}}},
	} {
		t.Run(c.name+strings.Join(c.kv, "="), func(t *testing.T) {
			s := find(t, fams, c.name, c.kv...)
			if !slices.Equal(s.Points, c.want) {
				t.Errorf("points %v, want %v", s.Points, c.want)
			}
		})
	}
	for _, f := range fams {
		for _, s := range f.Series {
			if len(s.Points) == 0 {
				t.Errorf("%s%v has no points", f.Name, s.Labels)
			}
			if s.Labels[0] != (Label{"capture", "x"}) && !slices.Contains(s.Labels, Label{"capture", "x"}) {
				t.Errorf("%s%v lacks the --label", f.Name, s.Labels)
			}
			if third := slices.ContainsFunc(s.Labels, func(l Label) bool { return l.Value == "third.example" }); third {
				t.Errorf("%s has a series beyond --top 2", f.Name)
			}
		}
	}
}

var (
	metricName = regexp.MustCompile(`^visor_[a-z0-9_]+$`)
	labelNames = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

func TestFamiliesShape(t *testing.T) {
	fams, _ := writeOM(t, sampleReport(), []string{"zone=a", "capture=b"}, 10)
	seen := map[string]bool{}
	for _, f := range fams {
		if !metricName.MatchString(f.Name) || seen[f.Name] {
			t.Errorf("bad or repeated family name %q", f.Name)
		}
		seen[f.Name] = true
		if (f.Type == Counter) != strings.HasSuffix(f.Name, "_total") {
			t.Errorf("%s: type %s; counters and only counters end in _total", f.Name, f.Type)
		}
		ids := map[string]bool{}
		for _, s := range f.Series {
			var id []string
			for i, l := range s.Labels {
				if !labelNames.MatchString(l.Name) || strings.HasPrefix(l.Name, "__") {
					t.Errorf("%s: bad label name %q", f.Name, l.Name)
				}
				if i > 0 && s.Labels[i-1].Name >= l.Name {
					t.Errorf("%s: labels not sorted: %v", f.Name, s.Labels)
				}
				id = append(id, l.Name+"="+l.Value)
			}
			if k := strings.Join(id, ","); ids[k] {
				t.Errorf("%s: series %s twice", f.Name, k)
			} else {
				ids[k] = true
			}
			for i := 1; i < len(s.Points); i++ {
				if s.Points[i].T <= s.Points[i-1].T || (f.Type == Counter && s.Points[i].V < s.Points[i-1].V) {
					t.Errorf("%s%v: points out of order or counter going down: %v", f.Name, s.Labels, s.Points)
				}
			}
		}
	}
	for _, must := range []string{"visor_net_packets_total", "visor_dns_queries_total", "visor_dns_responses_total",
		"visor_dns_rcode_total", "visor_dns_qtype_total"} {
		if !seen[must] {
			t.Errorf("no family %s", must)
		}
	}
}

func TestParseLabels(t *testing.T) {
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"capture=a", "instance=b=c", "empty="}, ""},
		{[]string{"nokv"}, "not k=v"},
		{[]string{"=v"}, "not k=v"},
		{[]string{"1x=v"}, "not a valid label name"},
		{[]string{"a-b=v"}, "not a valid label name"},
		{[]string{"__name__=v"}, "not a valid label name"},
		{[]string{"rcode=v"}, "use the label"},
		{[]string{"a=1", "a=2"}, "twice"},
	} {
		t.Run(strings.Join(c.args, ","), func(t *testing.T) {
			_, err := ParseLabels(c.args)
			if (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
				t.Errorf("error %v, want %q", err, c.err)
			}
		})
	}
}

// TestOpenMetricsRoundTrip parses the file back with expfmt's OpenMetrics 1.0
// parser (a strict ABNF one) and compares every sample with the families and
// the report's own counts.
func TestOpenMetricsRoundTrip(t *testing.T) {
	for name, r := range map[string]*Report{"om": omReport(), "sample": sampleReport()} {
		t.Run(name, func(t *testing.T) {
			fams, text := writeOM(t, r, []string{"capture=rt"}, 3)
			if !bytes.HasSuffix(text, []byte("\n# EOF\n")) {
				t.Fatal("no final # EOF")
			}
			type key struct {
				name, labels string
				t            int64
			}
			want := map[key]float64{}
			for _, f := range fams {
				for _, s := range f.Series {
					var ls []string
					for _, l := range s.Labels {
						ls = append(ls, l.Name+"="+l.Value)
					}
					for _, p := range s.Points {
						want[key{f.Name, strings.Join(ls, ","), p.T}] = p.V
					}
				}
			}
			got := map[key]float64{}
			dec := expfmt.NewDecoder(bytes.NewReader(text), expfmt.NewFormat(expfmt.TypeOpenMetrics))
			var families []string
			for {
				var mf dto.MetricFamily
				err := dec.Decode(&mf)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				name := mf.GetName()
				families = append(families, name)
				for _, m := range mf.Metric {
					var ls []string
					for _, l := range m.Label {
						ls = append(ls, l.GetName()+"="+l.GetValue())
					}
					v := m.GetGauge().GetValue()
					if mf.GetType() == dto.MetricType_COUNTER {
						v = m.GetCounter().GetValue()
					}
					if m.TimestampMs == nil {
						t.Fatalf("%s: sample without timestamp", name)
					}
					got[key{name, strings.Join(ls, ","), m.GetTimestampMs()}] = v
				}
			}
			if len(got) != len(want) {
				t.Errorf("parsed %d samples, wrote %d", len(got), len(want))
			}
			for k, v := range want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("%v: parsed %v (present %v), want %v", k, g, ok, v)
				}
			}
			if len(slices.Compact(slices.Sorted(slices.Values(families)))) != len(families) {
				t.Errorf("a family is not contiguous: %v", families)
			}
			// The last sample of each cumulative counter is the sum over the buckets.
			var q, nx uint64
			for _, b := range r.Buckets {
				q += b.DNS.Queries
				nx += b.DNS.Rcodes["NXDOMAIN"]
			}
			last := r.Buckets[len(r.Buckets)-1].End
			end := mustMillis(t, last)
			if got[key{"visor_dns_queries_total", "capture=rt", end}] != float64(q) ||
				got[key{"visor_dns_rcode_total", "capture=rt,rcode=NXDOMAIN", end}] != float64(nx) {
				t.Errorf("last queries/NXDOMAIN differ from the report's sums %d/%d", q, nx)
			}
		})
	}
}

func mustMillis(t *testing.T, s Timestamp) int64 {
	t.Helper()
	fams, err := Families(&Report{Buckets: []Bucket{{Start: s, End: s}}}, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	return fams[0].Series[0].Points[1].T
}

// TestOpenMetricsPromtool backfills the file with promtool when it is
// installed (package prometheus); scripts/replay-test.sh always runs it.
func TestOpenMetricsPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed")
	}
	_, text := writeOM(t, omReport(), []string{"capture=lab"}, 10)
	dir := t.TempDir()
	file := filepath.Join(dir, "in.om")
	if err := os.WriteFile(file, text, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", file, filepath.Join(dir, "blocks")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool refused the file: %v\n%s", err, out)
	}
}
