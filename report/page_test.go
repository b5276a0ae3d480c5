package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// partsReport is the sample split in two inputs: a.pcap has the first
// bucket and the finding, b.pcap the second bucket.
func partsReport() *Report {
	r := withWhy(sampleReport())
	in := r.Inputs[0]
	a, b := in, in
	a.Path, b.Path = "a.pcap", "b.pcap"
	a.LastTS, b.FirstTS = r.Buckets[0].End-1, r.Buckets[1].Start
	r.Inputs = []Input{a, b}
	r.Parts = []Part{
		{By: "input", Key: "a.pcap", Inputs: []Input{a}, Integrity: map[string]uint64{"dns_malformed": 6},
			Summary: r.Buckets[0].Section, Buckets: r.Buckets[:1], Findings: r.Findings},
		{By: "input", Key: "b.pcap", Inputs: []Input{b}, Integrity: map[string]uint64{},
			Summary: r.Buckets[1].Section, Buckets: r.Buckets[1:]},
	}
	return r
}

var idRE = regexp.MustCompile(` id="([^"]+)"`)

func TestWriteHTMLParts(t *testing.T) {
	r := partsReport()
	var b bytes.Buffer
	if err := WriteHTML(&b, r, PostMortemOptions{Top: 5}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	seen := map[string]bool{}
	for _, m := range idRE.FindAllStringSubmatch(page, -1) {
		if seen[m[1]] {
			t.Errorf("id %q twice", m[1])
		}
		seen[m[1]] = true
	}
	for _, id := range []string{"parts", "part-1", "part-2", "part-1-findings", "part-1-finding-0", "part-2-findings",
		"part-1-charts", "chart-part-2-dns", "part-2-tops", "part-2-inputs", "part-2-integrity"} {
		if !seen[id] {
			t.Errorf("no element with id %q", id)
		}
	}
	if seen["part-2-finding-0"] || seen["part-1-checks"] {
		t.Error("a part shows what is not its own")
	}
	// The parts' charts are on the whole's time axis: same points, same
	// plot edges; b.pcap draws only its bucket.
	charts := parseCharts(t, page)
	byID := map[string]htmlChart{}
	for _, c := range charts {
		byID[c.id] = c
	}
	if len(charts) != 3*7 {
		t.Fatalf("%d charts, want 21 (7 for the whole and each part)", len(charts))
	}
	for _, id := range []string{"packets", "dns", "latency-in", "distinct"} {
		w, p1, p2 := byID[id], byID["part-1-"+id], byID["part-2-"+id]
		for _, p := range []htmlChart{p1, p2} {
			if p.t0 != w.t0 || p.t1 != w.t1 || p.points != w.points {
				t.Errorf("chart %s: t0 %v t1 %v points %d, want the whole's %v %v %d", p.id, p.t0, p.t1, p.points, w.t0, w.t1, w.points)
			}
		}
	}
	w, p2 := byID["packets"].lines["packets/s"], byID["part-2-packets"].lines["packets/s"]
	if len(w) != 2 || len(p2) != 1 || p2[0] != w[1] {
		t.Errorf("packets/s points: whole %v, b.pcap %v; want b.pcap at the whole's second point", w, p2)
	}
	if n := len(byID["part-1-packets"].bands); n != 1 {
		t.Errorf("a.pcap's chart has %d finding bands, want 1", n)
	}
	if n := len(byID["part-2-packets"].bands); n != 0 {
		t.Errorf("b.pcap's chart has %d finding bands, want 0", n)
	}
	// The hover data has every chart drawn.
	m := regexp.MustCompile(`<script type="application/json" id="visor-data">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no hover data")
	}
	var d struct {
		T      []int64 `json:"t"`
		Charts []struct {
			ID string  `json:"id"`
			V  [][]any `json:"v"`
		} `json:"charts"`
	}
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Charts) != len(charts) {
		t.Errorf("hover data of %d charts, %d drawn", len(d.Charts), len(charts))
	}
	for _, c := range d.Charts {
		if _, ok := byID[c.ID]; !ok {
			t.Errorf("hover data of chart %q, not drawn", c.ID)
		}
		for _, v := range c.V {
			if len(v) != len(d.T) {
				t.Errorf("chart %s: %d values, %d times", c.ID, len(v), len(d.T))
			}
		}
	}
	if !strings.Contains(page, "section.part{") {
		t.Error("no style for the parts")
	}
	// Without parts, the page has no trace of them.
	r.Parts = nil
	b.Reset()
	if err := WriteHTML(&b, r, PostMortemOptions{Top: 5}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "part-") || strings.Contains(b.String(), "section.part") {
		t.Error("a page without parts mentions them")
	}
}

func TestWriteMarkdownParts(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, partsReport(), PostMortemOptions{Top: 3}); err != nil {
		t.Fatal(err)
	}
	golden(t, "markdown_parts.golden", b.Bytes())
	md := b.String()
	i, j, k := strings.Index(md, "\n## Parts (2, by input)"), strings.Index(md, "\n## input a.pcap"), strings.Index(md, "\n## input b.pcap")
	if i < 0 || j < i || k < j {
		t.Fatalf("parts at %d, a.pcap at %d, b.pcap at %d", i, j, k)
	}
	a, bp := md[j:k], md[k:]
	if !strings.Contains(a, "\n### Findings (1)") || !strings.Contains(a, "\n#### HIGH random") {
		t.Error("a.pcap's section lacks its finding")
	}
	if !strings.Contains(bp, "\n### Findings (0)") || !strings.Contains(bp, "\n### Over time") || !strings.Contains(bp, "\n### Integrity") {
		t.Error("b.pcap's section lacks a section")
	}
}
