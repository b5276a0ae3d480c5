package report

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// htmlChart is one chart of an HTML report as the page draws it.
type htmlChart struct {
	id             string
	t0, t1, x0, x1 float64 // time (ms) and x of the plot's edges
	points         int
	lines          map[string][]float64 // series -> x of its points
	areas          map[string]int       // stacked series -> points of its upper edge
	bands          [][2]float64         // each finding band's start and end (ms)
	bandX          [][2]float64         // and its x and width
}

var (
	svgRE   = regexp.MustCompile(`(?s)<svg viewBox="[^"]*" role="img" aria-label="[^"]*" data-chart="([^"]+)" data-t0="(\d+)" data-t1="(\d+)" data-x0="(\d+)" data-x1="(\d+)" data-points="(\d+)">(.*?)</svg>`)
	pathRE  = regexp.MustCompile(`<path class="(line|area)[^"]*" data-series="([^"]*)" data-n="(\d+)" d="([^"]*)"/>`)
	bandRE  = regexp.MustCompile(`<rect class="band[^"]*" data-finding="\d+" data-start="(\d+)" data-end="(\d+)" x="([0-9.]+)" y="[0-9.]+" width="([0-9.]+)"`)
	pointRE = regexp.MustCompile(`[ML]([0-9.]+) ([0-9.]+)`)
)

func num(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// parseCharts reads the charts back from the page and checks that each
// path says as many points as it draws.
func parseCharts(t *testing.T, page string) []htmlChart {
	t.Helper()
	var out []htmlChart
	for _, m := range svgRE.FindAllStringSubmatch(page, -1) {
		c := htmlChart{id: m[1], t0: num(t, m[2]), t1: num(t, m[3]), x0: num(t, m[4]), x1: num(t, m[5]),
			lines: map[string][]float64{}, areas: map[string]int{}}
		c.points, _ = strconv.Atoi(m[6])
		for _, p := range pathRE.FindAllStringSubmatch(m[7], -1) {
			n, _ := strconv.Atoi(p[3])
			pts := pointRE.FindAllStringSubmatch(p[4], -1)
			if p[1] == "area" {
				if len(pts) != 2*n {
					t.Errorf("chart %s: area %s has %d corners, want 2 x %d", c.id, p[2], len(pts), n)
				}
				c.areas[p[2]] = n
				continue
			}
			if len(pts) != n {
				t.Errorf("chart %s: line %s draws %d points, says %d", c.id, p[2], len(pts), n)
			}
			for _, pt := range pts {
				c.lines[p[2]] = append(c.lines[p[2]], num(t, pt[1]))
			}
		}
		for _, b := range bandRE.FindAllStringSubmatch(m[7], -1) {
			c.bands = append(c.bands, [2]float64{num(t, b[1]), num(t, b[2])})
			c.bandX = append(c.bandX, [2]float64{num(t, b[3]), num(t, b[4])})
		}
		out = append(out, c)
	}
	return out
}

func (c *htmlChart) x(ms float64) float64 { return c.x0 + (ms-c.t0)/(c.t1-c.t0)*(c.x1-c.x0) }

// withWhy gives the sample's finding what a detector adds to it.
func withWhy(r *Report) *Report {
	f := &r.Findings[0]
	f.Why, f.Confidence = "35102 distinct names in 36010 queries under example.com, 97% NXDOMAIN <over 2>", 0.93
	f.Next = []string{"carve its packets: --carve DIR", "look at the top clients"}
	f.Explains = []Explained{{Kind: "nxdomain_flood", Key: "example.com", Count: 1}}
	return r
}

func TestWriteHTMLSample(t *testing.T) {
	r := withWhy(sampleReport())
	var b bytes.Buffer
	if err := WriteHTML(&b, r, PostMortemOptions{Top: 5, Command: []string{"visor", "analyze", "--format", "html", "it's.pcap"}}); err != nil {
		t.Fatal(err)
	}
	golden(t, "html_sample.golden", b.Bytes())
	page := b.String()
	charts := parseCharts(t, page)
	var ids []string
	for _, c := range charts {
		ids = append(ids, c.id)
	}
	if got, want := strings.Join(ids, " "), "packets bytes dns failures latency-in latency-out distinct"; got != want {
		t.Errorf("charts %q, want %q", got, want)
	}
	f := r.Findings[0]
	for _, c := range charts {
		if c.points != 2 {
			t.Errorf("chart %s: %d points, want 2 (buckets)", c.id, c.points)
		}
		for name, xs := range c.lines {
			if len(xs) != 2 {
				t.Errorf("chart %s: line %s has %d points, want 2", c.id, name, len(xs))
			}
			// A point sits in the middle of its bucket.
			for i, x := range xs {
				mid := float64(int64(r.Buckets[i].Start)/1e6) + r.BucketSeconds*500
				if math.Abs(x-c.x(mid)) > 0.06 {
					t.Errorf("chart %s: %s point %d at x %v, want %v", c.id, name, i, x, c.x(mid))
				}
			}
		}
		if len(c.bands) != 1 {
			t.Fatalf("chart %s: %d finding bands, want 1", c.id, len(c.bands))
		}
		s, e := float64(int64(f.Start)/1e6), float64(int64(f.End)/1e6)
		if c.bands[0][0] != s || c.bands[0][1] != e {
			t.Errorf("chart %s: band says %v..%v, finding %v..%v", c.id, c.bands[0][0], c.bands[0][1], s, e)
		}
		if x, w := c.bandX[0][0], c.bandX[0][1]; math.Abs(x-c.x(s)) > 0.006 || math.Abs(x+w-c.x(e)) > 0.012 {
			t.Errorf("chart %s: band from x %v to %v, want %v to %v", c.id, x, x+w, c.x(s), c.x(e))
		}
	}
	for _, want := range []string{
		`<h2>Findings (1)</h2>`, `random_subdomain <span class="target">example.com</span>`,
		`<code>visor analyze --format html &#39;it&#39;\&#39;&#39;s.pcap&#39;</code>`, // the command line, shell-quoted and escaped
		`≈40,022 ±3`, "12 packets cut short by the snap length (snaplen_truncated)",
		`<td class="hash">9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08</td>`,
		`<b>Why:</b> 35102 distinct names in 36010 queries under example.com, 97% NXDOMAIN &lt;over 2&gt;`, "Confidence 93.0 %",
		"<b>Explains:</b> nxdomain_flood example.com (1)", "<li>look at the top clients</li>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	noNetwork(t, page)
}

// noNetwork fails when the page would load anything: every script and
// style is inline.
func noNetwork(t *testing.T, page string) {
	t.Helper()
	for _, re := range []string{`(?i)<link\b`, `(?i)<script[^>]+src=`, `(?i)<img\b`, `(?i)url\(`, `(?i)@import`, `(?i)<iframe`, `(?i)(src|href)="(https?:)?//`} {
		if loc := regexp.MustCompile(re).FindStringIndex(page); loc != nil {
			t.Errorf("page loads something (%s): %q", re, page[loc[0]:min(loc[1]+40, len(page))])
		}
	}
}

func TestWriteHTMLEscapes(t *testing.T) {
	r := sampleReport()
	r.Summary.DNS.Top.QName = []TopItem{{Name: `<script>alert(1)</script>.example`, Estimate: 5}}
	r.Summary.DNS.Rcodes = map[string]uint64{"</script><b>": 1}
	r.Buckets[0].DNS.Rcodes = map[string]uint64{"</script><b>": 1}
	r.Findings[0].Summary = `a "quoted" <b>summary</b> & more`
	var b bytes.Buffer
	if err := WriteHTML(&b, r, PostMortemOptions{}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "</script><b>") || strings.Contains(page, "<b>summary") {
		t.Error("text from the traffic reached the page unescaped")
	}
	if strings.Count(page, "<script") != 2 || strings.Count(page, "</script>") != 2 {
		t.Errorf("%d <script and %d </script>, want 2 each (data and hover)", strings.Count(page, "<script"), strings.Count(page, "</script>"))
	}
}

func TestWriteHTMLEmpty(t *testing.T) {
	var b bytes.Buffer
	r := &Report{Schema: Schema, Tool: Tool{Name: "visor", Version: "dev"}, BucketSeconds: 60}
	if err := WriteHTML(&b, r, PostMortemOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No bucket: nothing to draw.", "No finding", "no packet times"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("empty report's page lacks %q", want)
		}
	}
	if n := len(parseCharts(t, b.String())); n != 0 {
		t.Errorf("%d charts for no bucket", n)
	}
}

// dayReport is a synthetic capture of n buckets of sec seconds: a daily
// wave of traffic, an attack in the middle hour with random names at the
// top of every list, gaps where the capture paused.
func dayReport(n int, sec int64) *Report {
	const t0 = int64(1709251200) * 1e9 // 2024-03-01T00:00:00Z
	r := &Report{Schema: Schema, Tool: Tool{Name: "visor", Version: "test"}, BucketSeconds: float64(sec),
		Inputs: []Input{{Path: "day.pcap", Format: "pcap", FirstTS: Timestamp(t0), LastTS: Timestamp(t0 + int64(n)*sec*1e9 - 1)}}}
	r.Stored = NewBucketStore()
	names := func(i, k int, prefix string) []TopItem {
		l := make([]TopItem, k)
		for j := range l {
			l[j] = TopItem{Name: fmt.Sprintf("%s%x%d.cdn-%d.example.net", prefix, i*7919+j, j, i%13), Estimate: uint64(1000 - j*50), Error: uint64(j % 3)}
		}
		return l
	}
	for i := 0; i < n; i++ {
		if i%97 == 50 { // a gap
			continue
		}
		wave := 1 + math.Sin(float64(i)/float64(n)*2*math.Pi)
		q := uint64(6000*wave) + 100
		attack := i > n/2 && i < n/2+n/24
		if attack {
			q *= 5
		}
		s := Section{}
		s.Net.Packets, s.Net.Bytes = 2*q, 180*q
		s.Net.Cardinality.SrcIPs = uint64(300 + i%50)
		s.DNS.Queries, s.DNS.Responses = q, q-q/50
		s.DNS.Rcodes = map[string]uint64{"NOERROR": q * 8 / 10, "NXDOMAIN": q / 10, "SERVFAIL": q / 20, "REFUSED": q / 100, "FORMERR": 3, "NOTIMP": 1, "BADVERS": 1}
		s.DNS.Qtypes = map[string]uint64{"A": q / 2, "AAAA": q / 3, "HTTPS": q / 10}
		s.DNS.Cardinality.QName = q / 3
		s.DNS.Xacts.In = XactDir{Count: q / 2, LatencyUS: Quantiles{P50: 800, P90: 12000, P95: 30000, P99: 91000 + float64(i%17)*1000}}
		s.DNS.Xacts.Out = XactDir{Count: q / 3, LatencyUS: Quantiles{P50: 20000, P90: 70000, P95: 90000, P99: 250000}}
		s.DNS.Top.QName, s.DNS.Top.NXDomain, s.DNS.Top.Clients = names(i, 10, "q"), names(i, 10, "nx"), names(i, 10, "c")
		st := Timestamp(t0 + int64(i)*sec*1e9)
		r.Stored.Append(&Bucket{Start: st, End: st + Timestamp(sec*1e9), Section: s})
	}
	r.Summary.DNS.Top.QName = names(0, 10, "q")
	r.Findings = []Finding{{Kind: "query_flood", Severity: "high", Summary: "queries five times the baseline",
		Start: Timestamp(t0 + int64(n/2+1)*sec*1e9), Peak: Timestamp(t0 + int64(n/2+5)*sec*1e9), End: Timestamp(t0 + int64(n/2+n/24)*sec*1e9),
		Evidence: map[string]any{"target": "192.0.2.53"}}}
	return r
}

// TestWriteHTMLDaySize: a day of one-minute buckets is one point a
// bucket and stays under 2 MB; six hours of one-second buckets are drawn
// several buckets a point, at most maxStoryPoints a chart.
func TestWriteHTMLDaySize(t *testing.T) {
	for _, tt := range []struct {
		name       string
		n          int
		sec        int64
		wantPoints int
		maxBytes   int
	}{
		{"1440 buckets of 1m", 1440, 60, 1440 - 15, 2 << 20},
		{"21600 buckets of 1s", 21600, 1, 1964, 2 << 20}, // 11 buckets a point
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := dayReport(tt.n, tt.sec)
			defer r.Close()
			var b bytes.Buffer
			if err := WriteHTML(&b, r, PostMortemOptions{Top: 10}); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d buckets: %d bytes", tt.n, b.Len())
			if b.Len() > tt.maxBytes {
				t.Errorf("%d bytes, want at most %d", b.Len(), tt.maxBytes)
			}
			charts := parseCharts(t, b.String())
			if len(charts) != 7 {
				t.Fatalf("%d charts, want 7", len(charts))
			}
			for _, c := range charts {
				if c.points != tt.wantPoints {
					t.Errorf("chart %s: %d points, want %d", c.id, c.points, tt.wantPoints)
				}
				if len(c.bands) != 1 {
					t.Errorf("chart %s: %d bands, want 1", c.id, len(c.bands))
				}
				for name, xs := range c.lines {
					if len(xs) != tt.wantPoints {
						t.Errorf("chart %s: line %s has %d points, want %d", c.id, name, len(xs), tt.wantPoints)
					}
				}
				for name, n := range c.areas {
					if n != tt.wantPoints {
						t.Errorf("chart %s: area %s has %d points, want %d", c.id, name, n, tt.wantPoints)
					}
				}
			}
			// The seven rcodes: the five commonest stacked on their own, the rest as one.
			if got := len(charts[2].areas); got != 6 {
				t.Errorf("%d rcode areas, want 6", got)
			}
		})
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, withWhy(sampleReport()), PostMortemOptions{Top: 5, Command: []string{"visor", "analyze", "--format", "markdown", "x|y.pcap"}}); err != nil {
		t.Fatal(err)
	}
	golden(t, "markdown_sample.golden", b.Bytes())
	md := b.String()
	if i, j := strings.Index(md, "## Findings"), strings.Index(md, "## Over time"); i < 0 || j < i {
		t.Error("findings do not come first")
	}
	b.Reset()
	if err := WriteMarkdown(&b, &Report{Schema: Schema, Tool: Tool{Name: "visor", Version: "dev"}, BucketSeconds: 60}, PostMortemOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "markdown_empty.golden", b.Bytes())
}

func TestWriteMarkdownDay(t *testing.T) {
	r := dayReport(1440, 60)
	defer r.Close()
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r, PostMortemOptions{Top: 10}); err != nil {
		t.Fatal(err)
	}
	// A finding line marks the attack's columns: the middle hour of 60 columns of 24 min.
	var mark string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "query_flood ") {
			mark = strings.TrimSpace(strings.TrimPrefix(l, "query_flood"))
		}
	}
	if n := strings.Count(mark, "━") + strings.Count(mark, "▲"); n < 2 || n > 4 {
		t.Errorf("finding line %q", mark)
	}
	t.Logf("markdown of 1,440 buckets: %d bytes", b.Len())
}
