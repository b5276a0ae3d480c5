//go:build lab

package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/visor-dns/visor/internal/lab"
)

// htmlProbe runs in the page after the report's own script and writes what
// the browser drew into <pre id="visor-probe">: every chart's points (from
// its paths' geometry), its finding bands' screen edges and where the
// points' time axis puts the findings' start and end, and whether hovering
// a chart shows a value. The errors seen (script errors, console.error)
// are collected from the first line of <head>.
const htmlProbeHead = `<script>window.__errors=[];window.addEventListener("error",function(e){__errors.push(String(e.message))});` +
	`(function(){var ce=console.error;console.error=function(){__errors.push(Array.prototype.join.call(arguments," "));ce.apply(console,arguments)}})();</script>`

const htmlProbeTail = `<script>
(function () {
  var data = JSON.parse(document.getElementById("visor-data").textContent);
  var out = {errors: window.__errors, charts: [], findings: [], unsplit: 0};
  document.querySelectorAll("figure.chart").forEach(function (f) {
    if (getComputedStyle(f).breakInside === "avoid") out.unsplit++;
  });
  document.querySelectorAll("article.finding").forEach(function (a) {
    out.findings.push({kind: a.dataset.kind, start: +a.dataset.start, end: +a.dataset.end});
  });
  document.querySelectorAll("svg[data-chart]").forEach(function (svg) {
    var m = svg.getScreenCTM();
    var c = {id: svg.dataset.chart, points: +svg.dataset.points, lines: {}, bands: [], box: svg.getBoundingClientRect().width};
    var xs = [];
    svg.querySelectorAll("path.line").forEach(function (p) {
      var pts = (p.getAttribute("d").match(/[ML][0-9.]+ [0-9.]+/g) || []);
      c.lines[p.dataset.series] = pts.length;
      if (xs.length === 0) pts.forEach(function (s) { xs.push(+s.slice(1).split(" ")[0]); });
    });
    // The time axis as the points draw it: each point sits mid-bucket.
    var t0 = data.t[0] + data.per / 2, t1 = data.t[data.t.length - 1] + data.per / 2;
    var x0 = xs[0], x1 = xs[xs.length - 1];
    function screenX(t) { var ux = x0 + (t - t0) / (t1 - t0) * (x1 - x0); return m.a * ux + m.e; }
    svg.querySelectorAll("rect.band").forEach(function (r) {
      var b = r.getBoundingClientRect();
      c.bands.push({left: b.left, right: b.right, wantLeft: screenX(+r.dataset.start), wantRight: screenX(+r.dataset.end),
        start: +r.dataset.start, end: +r.dataset.end});
    });
    // Hover the middle of the plot: the tooltip must show a value.
    var sb = svg.getBoundingClientRect();
    svg.dispatchEvent(new MouseEvent("mousemove", {clientX: sb.left + sb.width / 2, clientY: sb.top + sb.height / 2, bubbles: true}));
    var tip = svg.parentNode.querySelector(".tip");
    c.tip = tip && tip.style.display !== "none" ? tip.textContent : "";
    out.charts.push(c);
  });
  var pre = document.createElement("pre");
  pre.id = "visor-probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>`

type htmlProbe struct {
	Errors []string `json:"errors"`
	Charts []struct {
		ID     string         `json:"id"`
		Points int            `json:"points"`
		Lines  map[string]int `json:"lines"`
		Box    float64        `json:"box"`
		Tip    string         `json:"tip"`
		Bands  []struct {
			Left, Right, WantLeft, WantRight float64
			Start, End                       int64
		} `json:"bands"`
	} `json:"charts"`
	Findings []struct {
		Kind       string `json:"kind"`
		Start, End int64
	} `json:"findings"`
	Unsplit int `json:"unsplit"` // charts that page breaks must not split
}

// chromium starts headless Chromium on url with args, no network (every
// host name fails to resolve), a profile of its own, bounded in time.
func chromium(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
		"--user-data-dir=" + filepath.Join(dir, "profile"), "--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND",
		"--virtual-time-budget=5000"}
	cmd := exec.CommandContext(ctx, "chromium", append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestHTMLReportInChromium renders the HTML report of the attack capture
// (a random-subdomain finding) in headless Chromium with no network: no
// script or console error, every chart with a point per bucket, the
// finding's band on every chart where its start and end fall on the time
// axis the points draw, values on hover; printed on A4 with no chart split
// by a page break; and a PNG screenshot.
func TestHTMLReportInChromium(t *testing.T) {
	lab.RequirePrograms(t, "chromium")
	visor := lab.Visor(t)
	dir := t.TempDir()
	capture := lab.Testdata(t, "attack-random-subdomain.pcap")
	page := filepath.Join(dir, "report.html")
	for _, run := range [][]string{
		{"analyze", "--bucket", "1s", "--format", "html", "-o", page, capture},
		{"analyze", "--bucket", "1s", "--format", "json", "-o", filepath.Join(dir, "report.json"), capture},
	} {
		if out, err := exec.Command(visor, run...).CombinedOutput(); err != nil {
			t.Fatalf("visor %s: %v\n%s", strings.Join(run, " "), err, out)
		}
	}
	var rep struct {
		Buckets  []json.RawMessage `json:"buckets"`
		Findings []struct {
			Kind string `json:"kind"`
			S    string `json:"start"`
			E    string `json:"end"`
		} `json:"findings"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 {
		t.Fatalf("%d findings in the JSON report, want the attack's 1", len(rep.Findings))
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	probe := bytes.Replace(html, []byte("<head>"), []byte("<head>\n"+htmlProbeHead), 1)
	probe = bytes.Replace(probe, []byte("</body>"), []byte(htmlProbeTail+"\n</body>"), 1)
	probePath := filepath.Join(dir, "probe.html")
	if err := os.WriteFile(probePath, probe, 0o644); err != nil {
		t.Fatal(err)
	}
	dom := chromium(t, dir, "--window-size=1200,2000", "--dump-dom", "file://"+probePath)
	m := regexp.MustCompile(`(?s)<pre id="visor-probe">(.*?)</pre>`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("the probe wrote nothing (scripts did not run?):\n%.2000s", dom)
	}
	var got htmlProbe
	if err := json.Unmarshal(unescapeHTML(m[1]), &got); err != nil {
		t.Fatalf("probe output %s: %v", m[1], err)
	}
	if len(got.Errors) > 0 {
		t.Errorf("errors in the page: %q", got.Errors)
	}
	var ids []string
	for _, c := range got.Charts {
		ids = append(ids, c.ID)
	}
	if want := "packets bytes dns failures latency-unknown distinct"; strings.Join(ids, " ") != want {
		t.Errorf("charts %q, want %q", strings.Join(ids, " "), want)
	}
	fs, _ := time.Parse(time.RFC3339Nano, rep.Findings[0].S)
	fe, _ := time.Parse(time.RFC3339Nano, rep.Findings[0].E)
	if len(got.Findings) != 1 || got.Findings[0].Kind != rep.Findings[0].Kind || got.Findings[0].Start != fs.UnixMilli() || got.Findings[0].End != fe.UnixMilli() {
		t.Errorf("findings on the page %+v, want %s %s..%s", got.Findings, rep.Findings[0].Kind, rep.Findings[0].S, rep.Findings[0].E)
	}
	for _, c := range got.Charts {
		if c.Points != len(rep.Buckets) {
			t.Errorf("chart %s: %d points, want %d (buckets)", c.ID, c.Points, len(rep.Buckets))
		}
		for name, n := range c.Lines {
			if n != len(rep.Buckets) {
				t.Errorf("chart %s: line %s draws %d points, want %d", c.ID, name, n, len(rep.Buckets))
			}
		}
		if len(c.Bands) != 1 {
			t.Errorf("chart %s: %d finding bands, want 1", c.ID, len(c.Bands))
			continue
		}
		bd := c.Bands[0]
		if bd.Start != fs.UnixMilli() || bd.End != fe.UnixMilli() {
			t.Errorf("chart %s: band for %d..%d, want the finding's %d..%d", c.ID, bd.Start, bd.End, fs.UnixMilli(), fe.UnixMilli())
		}
		// Within a pixel of where the finding's times fall on the points' axis.
		if math.Abs(bd.Left-bd.WantLeft) > 1 || math.Abs(bd.Right-bd.WantRight) > 1 {
			t.Errorf("chart %s: band drawn from x %.1f to %.1f, the finding's times fall at %.1f and %.1f", c.ID, bd.Left, bd.Right, bd.WantLeft, bd.WantRight)
		}
		if bd.Right-bd.Left < c.Box/10 {
			t.Errorf("chart %s: band %.1f px wide in %.1f", c.ID, bd.Right-bd.Left, c.Box)
		}
		if !strings.Contains(c.Tip, "UTC") {
			t.Errorf("chart %s: hovering shows %q", c.ID, c.Tip)
		}
	}
	if got.Unsplit != len(got.Charts) {
		t.Errorf("%d of %d charts may be split by a page break", len(got.Charts)-got.Unsplit, len(got.Charts))
	}
	// Printed, the page is A4 (595 x 842 points).
	pdf := filepath.Join(dir, "report.pdf")
	chromium(t, dir, "--no-pdf-header-footer", "--print-to-pdf="+pdf, "file://"+page)
	doc, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	boxes := regexp.MustCompile(`/MediaBox\s*\[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]`).FindAllSubmatch(doc, -1)
	if len(boxes) == 0 {
		t.Errorf("the PDF (%d bytes) has no page", len(doc))
	}
	for _, b := range boxes {
		// Chromium's own default is Letter (612 x 792): A4 comes from the page's @page rule.
		w, _ := strconv.ParseFloat(string(b[1]), 64)
		h, _ := strconv.ParseFloat(string(b[2]), 64)
		if math.Abs(w-595.3) > 1 || math.Abs(h-841.9) > 1 {
			t.Errorf("printed page %.1f x %.1f points, want A4 (595.3 x 841.9)", w, h)
		}
	}
	png := filepath.Join(dir, "report.png")
	chromium(t, dir, "--window-size=1200,2400", "--screenshot="+png, "file://"+page)
	shot, err := os.ReadFile(png)
	if err != nil {
		t.Fatal(err)
	}
	if len(shot) < 20000 || !bytes.HasPrefix(shot, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot: %d bytes, not a PNG of a page", len(shot))
	}
	t.Logf("%d charts, %d buckets, page %d bytes, %d A4 pages printed, screenshot %d bytes", len(got.Charts), len(rep.Buckets), len(html), len(boxes), len(shot))
}

// unescapeHTML undoes the escaping --dump-dom applies to text.
func unescapeHTML(b []byte) []byte {
	r := strings.NewReplacer("&quot;", `"`, "&lt;", "<", "&gt;", ">", "&#39;", "'", "&amp;", "&")
	return []byte(r.Replace(string(b)))
}

// TestHTMLPartsInChromium renders the HTML report of the attack capture cut
// in two pieces with --split-by input in headless Chromium: no script or
// console error, every chart of the whole and of each part on the whole's
// time axis (a point per bucket of the whole), values on hover on each,
// and no element id twice.
func TestHTMLPartsInChromium(t *testing.T) {
	lab.RequirePrograms(t, "chromium", "editcap", "capinfos")
	visor := lab.Visor(t)
	dir := t.TempDir()
	capture := lab.Testdata(t, "attack-random-subdomain.pcap")
	out, err := exec.Command("capinfos", "-c", "-M", capture).Output()
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(regexp.MustCompile(`Number of packets:\s*(\d+)`).FindStringSubmatch(string(out))[1]))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("editcap", "-F", "pcap", "-c", strconv.Itoa((n+1)/2), capture, filepath.Join(dir, "piece.pcap")).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v\n%s", err, out)
	}
	pieces, _ := filepath.Glob(filepath.Join(dir, "piece_*.pcap"))
	if len(pieces) != 2 {
		t.Fatalf("editcap made %d pieces, want 2", len(pieces))
	}
	page := filepath.Join(dir, "report.html")
	for _, run := range [][]string{
		append([]string{"analyze", "--bucket", "1s", "--split-by", "input", "--format", "html", "-o", page}, pieces...),
		append([]string{"analyze", "--bucket", "1s", "--format", "json", "-o", filepath.Join(dir, "report.json")}, pieces...),
	} {
		if out, err := exec.Command(visor, run...).CombinedOutput(); err != nil {
			t.Fatalf("visor %s: %v\n%s", strings.Join(run, " "), err, out)
		}
	}
	var rep struct {
		Buckets []json.RawMessage `json:"buckets"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(` id="([^"]+)"`).FindAllSubmatch(html, -1) {
		if ids[string(m[1])] {
			t.Errorf("id %q twice in the page", m[1])
		}
		ids[string(m[1])] = true
	}
	if !ids["part-1"] || !ids["part-2"] || ids["part-3"] {
		t.Errorf("part sections: part-1 %v, part-2 %v, part-3 %v; want the two pieces'", ids["part-1"], ids["part-2"], ids["part-3"])
	}
	probe := bytes.Replace(html, []byte("<head>"), []byte("<head>\n"+htmlProbeHead), 1)
	probe = bytes.Replace(probe, []byte("</body>"), []byte(htmlProbeTail+"\n</body>"), 1)
	probePath := filepath.Join(dir, "probe.html")
	if err := os.WriteFile(probePath, probe, 0o644); err != nil {
		t.Fatal(err)
	}
	dom := chromium(t, dir, "--window-size=1200,2000", "--dump-dom", "file://"+probePath)
	m := regexp.MustCompile(`(?s)<pre id="visor-probe">(.*?)</pre>`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("the probe wrote nothing (scripts did not run?):\n%.2000s", dom)
	}
	var got htmlProbe
	if err := json.Unmarshal(unescapeHTML(m[1]), &got); err != nil {
		t.Fatalf("probe output %s: %v", m[1], err)
	}
	if len(got.Errors) > 0 {
		t.Errorf("errors in the page: %q", got.Errors)
	}
	perPart := map[string]int{}
	for _, c := range got.Charts {
		part := "whole"
		if strings.HasPrefix(c.ID, "part-") {
			part = c.ID[:6]
		}
		perPart[part]++
		if c.Points != len(rep.Buckets) {
			t.Errorf("chart %s: %d points, want the whole's %d buckets", c.ID, c.Points, len(rep.Buckets))
		}
		if !strings.Contains(c.Tip, "UTC") {
			t.Errorf("chart %s: hovering shows %q", c.ID, c.Tip)
		}
	}
	if perPart["whole"] == 0 || perPart["part-1"] == 0 || perPart["part-2"] == 0 {
		t.Errorf("charts by part %v, want some for the whole and each piece", perPart)
	}
	t.Logf("charts %v, %d buckets, page %d bytes", perPart, len(rep.Buckets), len(html))
}
