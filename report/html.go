package report

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// The HTML report's style sheet and its hover script, inlined into every
// page: the file needs no network to open.
var (
	//go:embed html_assets/report.css
	htmlCSS string
	//go:embed html_assets/report.js
	htmlJS string
)

// partCSS styles the --split-by parts; it is added only to pages that
// have parts.
const partCSS = `section.part{border-top:3px solid var(--grid);margin-top:28px}section.part>h2{border:0;font-size:18px}
section.part h3{font-size:16px;border-bottom:1px solid var(--grid);padding-bottom:3px;margin:18px 0 8px}section.part h4{font-size:15px;margin:0 0 4px}
`

// Chart geometry, in SVG user units (the SVG scales to the page's width).
const (
	chartW, chartH = 960, 210
	plotL, plotR   = 64, 12
	plotT, plotB   = 10, 26
)

// WriteHTML writes r as one self-contained HTML page for a post-mortem:
// findings first, then one chart per measure over capture time (findings
// marked as bands on each), breakdowns, top lists, inputs, integrity and
// the command line. Charts are inline SVG drawn here; a small inline
// script adds values on hover. Nothing is loaded from the network.
func WriteHTML(w io.Writer, r *Report, o PostMortemOptions) error {
	if r == nil {
		return errors.New("report: nil report")
	}
	s, err := newStory(r, o)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	h := &htmlWriter{w: bw, s: s}
	h.page()
	if h.err != nil {
		return h.err
	}
	return bw.Flush()
}

type htmlWriter struct {
	w      *bufio.Writer
	s      *story
	err    error
	id     string      // prefix of the ids of a part's elements ("part-1-"); "" for the whole
	charts []chartData // the charts drawn, for the hover data
}

func (h *htmlWriter) p(format string, a ...any) {
	if h.err == nil {
		_, h.err = fmt.Fprintf(h.w, format, a...)
	}
}

func (h *htmlWriter) raw(s string) {
	if h.err == nil {
		_, h.err = h.w.WriteString(s)
	}
}

var esc = html.EscapeString

func (h *htmlWriter) page() {
	s, r := h.s, h.s.r
	title := pageTitle(r)
	h.p("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	h.p("<meta name=\"generator\" content=\"%s %s\">\n<title>%s</title>\n<style>\n%s</style>\n", esc(toolName(r)), esc(r.Tool.Version), esc(title), htmlCSS)
	if len(r.Parts) > 0 {
		h.p("<style>\n%s</style>\n", partCSS)
	}
	h.p("</head>\n<body>\n")
	h.header(title)
	writeSections(h, 2)
	h.parts()
	h.p("<footer>Made by %s %s (%s)", esc(toolName(r)), esc(r.Tool.Version), esc(r.Schema))
	if len(s.o.Command) > 0 {
		h.p(" with <code>%s</code>", esc(commandLine(s.o.Command)))
	}
	h.p(". Times are capture time, UTC.</footer>\n")
	h.data()
	h.p("<script>\n%s</script>\n</body>\n</html>\n", htmlJS)
}

func toolName(r *Report) string {
	if r.Tool.Name == "" {
		return "visor"
	}
	return r.Tool.Name
}

func (h *htmlWriter) header(title string) {
	s, r := h.s, h.s.r
	h.p("<header>\n<h1>%s</h1>\n", esc(title))
	h.meta()
	if len(s.o.Command) > 0 {
		h.p("<p class=\"cmd\"><code>%s</code></p>\n", esc(commandLine(s.o.Command)))
	}
	h.p("<p class=\"meta\">%s %s</p>\n</header>\n", esc(toolName(r)), esc(r.Tool.Version))
}

// meta is the line under a report's or a part's title: the capture's
// span, the buckets, the charts' resolution and the findings.
func (h *htmlWriter) meta() {
	s := h.s
	span := s.captureText()
	if span == "" {
		span = "no packet times"
	}
	h.p("<p class=\"meta\">%s · %s · %s · %s</p>\n", esc(span), esc(s.bucketsText()), esc(s.resolution()), s.findingsCount())
}

// parts writes the list of the --split-by parts, then each part's
// sections, its charts on the whole's time axis.
func (h *htmlWriter) parts() {
	whole := h.s
	ps, err := whole.parts()
	if err != nil {
		h.err = err
		return
	}
	if len(ps) == 0 {
		return
	}
	h.p("<section id=\"parts\">\n<h2>%s</h2>\n<ul>\n", esc(partsTitle(whole.r)))
	for _, p := range ps {
		h.p("<li><a href=\"#%s\">%s</a>: %s</li>\n", p.Anchor, esc(p.Title), esc(p.partLine()))
	}
	h.p("</ul>\n</section>\n")
	for _, p := range ps {
		h.s, h.id = p.s, p.Anchor+"-"
		h.p("<section class=\"part\" id=\"%s\">\n<h2>%s</h2>\n", p.Anchor, esc(p.Title))
		h.meta()
		writeSections(h, 3)
		h.p("</section>\n")
	}
	h.s, h.id = whole, ""
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (h *htmlWriter) findings(level int) {
	s := h.s
	h.p("<section id=\"%sfindings\">\n<h%d>Findings (%d)</h%d>\n", h.id, level, len(s.findings), level)
	if len(s.findings) == 0 {
		h.p("<p>%s</p>\n", noFindingText)
	}
	day := s.multiDay()
	for i, f := range s.findings {
		h.p("<article class=\"finding sev-%s\" id=\"%sfinding-%d\" data-kind=\"%s\" data-start=\"%d\" data-peak=\"%d\" data-end=\"%d\">\n",
			esc(cssWord(f.Severity)), h.id, i, esc(f.Kind), f.Start/1e6, f.Peak/1e6, f.End/1e6)
		h.p("<h%d><span class=\"sev\">%s</span> %s", level+1, esc(strings.ToUpper(orDash(f.Severity))), esc(orDash(f.Kind)))
		if f.Target != "" {
			h.p(" <span class=\"target\">%s</span>", esc(f.Target))
		}
		span, peak := f.spanText(day)
		h.p("</h%d>\n<p class=\"when\">%s", level+1, esc(span))
		if peak != "" {
			h.p(", %s", esc(peak))
		}
		h.p("</p>\n<p>%s</p>\n", esc(f.Summary))
		if f.Why != "" {
			h.p("<p class=\"why\"><b>Why:</b> %s</p>\n", esc(f.Why))
		}
		if f.Confidence != "" {
			h.p("<p class=\"meta\">Confidence %s</p>\n", esc(f.Confidence))
		}
		if len(f.Explains) > 0 {
			h.p("<p><b>Explains:</b> %s</p>\n", esc(strings.Join(f.Explains, ", ")))
		}
		if len(f.Next) > 0 {
			h.p("<p><b>Next:</b></p>\n<ul>\n")
			for _, n := range f.Next {
				h.p("<li>%s</li>\n", esc(n))
			}
			h.p("</ul>\n")
		}
		if len(f.Evidence) > 0 {
			h.p("<details><summary>Evidence</summary>\n<dl>\n")
			for _, kv := range f.Evidence {
				h.p("<dt>%s</dt><dd>%s</dd>\n", esc(kv[0]), esc(kv[1]))
			}
			h.p("</dl>\n</details>\n")
		}
		h.p("</article>\n")
	}
	h.p("</section>\n")
}

// cssWord keeps the letters of s for a class name.
func cssWord(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return -1
	}, s)
}

func (h *htmlWriter) checks(level int) {
	cs := h.s.o.Checks
	if len(cs) == 0 {
		return
	}
	passed := h.s.checksPassed()
	h.p("<section id=\"checks\">\n<h%d>Assertions (%d of %d passed)</h%d>\n<table>\n<thead><tr><th>result</th><th>assertion</th><th>detail</th></tr></thead>\n<tbody>\n", level, passed, len(cs), level)
	for i := range cs {
		c := &cs[i]
		res, cls := "PASS", "pass"
		if !c.Passed {
			res, cls = "FAIL", "fail"
		}
		h.p("<tr class=\"%s\"><td>%s</td><td><code>%s</code></td><td>%s</td></tr>\n", cls, res, esc(c.title()), esc(c.Detail))
	}
	h.p("</tbody>\n</table>\n</section>\n")
}

func (h *htmlWriter) timeline(level int) {
	s := h.s
	h.p("<section id=\"%scharts\">\n<h%d>Over time</h%d>\n", h.id, level, level)
	if len(s.times) == 0 {
		h.p("<p>%s</p>\n</section>\n", noBucketText)
		return
	}
	h.p("<p class=\"meta\">%s; shaded: findings, from start to end.</p>\n", esc(s.resolution()))
	for i := range s.charts {
		h.chart(&s.charts[i])
	}
	h.p("</section>\n")
}

// x places a capture time on the plot.
func (s *story) x(ns int64) float64 {
	pw := float64(chartW - plotL - plotR)
	return plotL + float64(ns-s.first)/float64(s.end-s.first)*pw
}

func (h *htmlWriter) chart(c *storyChart) {
	s := h.s
	ph := float64(chartH - plotT - plotB)
	// The largest value drawn: of a stack, the sums.
	top := 0.0
	stack := make([]float64, len(s.times))
	for si, ser := range c.Series {
		stacked := c.Stacked && si < len(c.Series)-1
		for i, v := range ser.V {
			if math.IsNaN(v) {
				continue
			}
			if stacked {
				stack[i] += v
				top = max(top, stack[i])
			} else {
				top = max(top, v)
			}
		}
	}
	step, ymax := niceScale(top)
	if c.Unit == "B/s" { // steps round in KiB, MiB, ...
		unit := 1.0
		for top/unit >= 1024 {
			unit *= 1024
		}
		step, ymax = niceScale(top / unit)
		step, ymax = step*unit, ymax*unit
	}
	y := func(v float64) float64 { return plotT + ph - v/ymax*ph }
	id := h.id + c.ID
	h.p("<figure class=\"chart\" id=\"chart-%s\">\n<figcaption>%s", esc(id), esc(c.Title))
	if c.Note != "" {
		h.p(" <small>(%s)</small>", esc(c.Note))
	}
	h.p("</figcaption>\n")
	h.p("<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\" data-chart=\"%s\" data-t0=\"%d\" data-t1=\"%d\" data-x0=\"%d\" data-x1=\"%d\" data-points=\"%d\">\n",
		chartW, chartH, esc(c.Title), esc(id), s.first/1e6, s.end/1e6, plotL, chartW-plotR, len(s.times))
	// Grid and y labels.
	h.p("<g class=\"grid\">")
	for v := 0.0; v <= ymax*1.0000001; v += step {
		yy := y(v)
		h.p("<line x1=\"%d\" x2=\"%d\" y1=\"%s\" y2=\"%s\"/><text x=\"%d\" y=\"%s\" class=\"yl\">%s</text>",
			plotL, chartW-plotR, f1(yy), f1(yy), plotL-6, f1(yy+4), esc(axisValue(v, c.Unit, step)))
	}
	h.p("</g>\n")
	h.xAxis()
	// Findings under the data.
	for i, f := range s.findings {
		if f.Start == 0 || f.End == 0 || f.End < s.first || f.Start > s.end {
			continue
		}
		x0, x1 := s.x(max(f.Start, s.first)), s.x(min(f.End, s.end))
		h.p("<rect class=\"band sev-%s\" data-finding=\"%d\" data-start=\"%d\" data-end=\"%d\" x=\"%s\" y=\"%d\" width=\"%s\" height=\"%s\"><title>%s</title></rect>",
			esc(cssWord(f.Severity)), i, f.Start/1e6, f.End/1e6, f2(x0), plotT, f2(max(x1-x0, 0)), f1(ph), esc(bandTitle(&f, s.multiDay())))
		if f.Peak >= s.first && f.Peak <= s.end {
			px := s.x(f.Peak)
			h.p("<line class=\"peak\" x1=\"%s\" x2=\"%s\" y1=\"%d\" y2=\"%s\"/>", f2(px), f2(px), plotT, f1(plotT+ph))
		}
		h.raw("\n")
	}
	// Series: a stack's areas first, then lines.
	half := s.colNS / 2
	clear(stack)
	for si, ser := range c.Series {
		if c.Stacked && si < len(c.Series)-1 {
			var upper, lower strings.Builder
			n := 0
			for i, v := range ser.V {
				if math.IsNaN(v) {
					continue
				}
				x := s.x(s.times[i] + half)
				cmd := "L"
				if n == 0 {
					cmd = "M"
				}
				fmt.Fprintf(&upper, "%s%s %s", cmd, f1(x), f1(y(stack[i]+v)))
				lower.WriteString("L" + f1(x) + " " + f1(y(stack[i])) + "\x00")
				stack[i] += v
				n++
			}
			lows := strings.Split(strings.TrimSuffix(lower.String(), "\x00"), "\x00")
			var d strings.Builder
			d.WriteString(upper.String())
			for j := len(lows) - 1; j >= 0; j-- {
				d.WriteString(lows[j])
			}
			if n > 0 {
				d.WriteString("Z")
			}
			h.p("<path class=\"area c%d\" data-series=\"%s\" data-n=\"%d\" d=\"%s\"/>\n", si%8, esc(ser.Name), n, d.String())
			continue
		}
		var d strings.Builder
		n, prev := 0, -2
		for i, v := range ser.V {
			if math.IsNaN(v) {
				continue
			}
			cmd := "L"
			// A gap of more than one point (no bucket there) breaks the line.
			if n == 0 || (s.times[i]-s.times[prev]) > s.colNS {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%s %s", cmd, f1(s.x(s.times[i]+half)), f1(y(v)))
			n++
			prev = i
		}
		cls := fmt.Sprintf("line c%d", si%8)
		if c.Stacked {
			cls = "line total"
		}
		h.p("<path class=\"%s\" data-series=\"%s\" data-n=\"%d\" d=\"%s\"/>\n", cls, esc(ser.Name), n, d.String())
	}
	h.p("<line class=\"cursor\" x1=\"0\" x2=\"0\" y1=\"%d\" y2=\"%s\" visibility=\"hidden\"/>\n", plotT, f1(plotT+ph))
	h.p("</svg>\n<ul class=\"legend\">")
	cd := chartData{ID: id, Unit: c.Unit}
	for _, ser := range c.Series {
		cd.Names = append(cd.Names, ser.Name)
		v := make([]any, len(ser.V))
		for i, x := range ser.V {
			v[i] = sig4(x)
		}
		cd.V = append(cd.V, v)
	}
	h.charts = append(h.charts, cd)
	for si, ser := range c.Series {
		cls := fmt.Sprintf("c%d", si%8)
		if c.Stacked && si == len(c.Series)-1 {
			cls = "total"
		}
		h.p("<li><i class=\"%s\"></i>%s</li>", cls, esc(ser.Name))
	}
	h.p("</ul>\n</figure>\n")
}

func bandTitle(f *storyFinding, day bool) string {
	t := f.Kind
	if f.Target != "" {
		t += " " + f.Target
	}
	return fmt.Sprintf("%s (%s): %s → %s UTC", t, f.Severity, clockOf(f.Start, day), clockOf(f.End, day))
}

// xAxis draws the time ticks of a chart, at a round step.
func (h *htmlWriter) xAxis() {
	s := h.s
	span := s.end - s.first
	steps := []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour}
	step := int64(steps[len(steps)-1])
	for _, d := range steps {
		if span/int64(d) <= 8 {
			step = int64(d)
			break
		}
	}
	for span/step > 8 {
		step *= 2
	}
	layout := "15:04:05"
	if step%int64(time.Minute) == 0 {
		layout = "15:04"
	}
	h.p("<g class=\"xaxis\">")
	prevDay := ""
	for t := (s.first + step - 1) / step * step; t <= s.end; t += step {
		x := s.x(t)
		tm := time.Unix(0, t).UTC()
		label := tm.Format(layout)
		if d := tm.Format("01-02"); s.multiDay() && d != prevDay {
			label = d + " " + label
			prevDay = d
		}
		h.p("<line x1=\"%s\" x2=\"%s\" y1=\"%d\" y2=\"%d\"/><text x=\"%s\" y=\"%d\">%s</text>", f1(x), f1(x), chartH-plotB, chartH-plotB+4, f1(x), chartH-plotB+17, esc(label))
	}
	h.p("</g>\n")
}

// niceScale returns a round grid step and the axis maximum (a multiple of
// it) for values up to top.
func niceScale(top float64) (step, ymax float64) {
	if top <= 0 || math.IsNaN(top) || math.IsInf(top, 0) {
		return 1, 1
	}
	raw := top / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	return step, math.Ceil(top/step-1e-9) * step
}

// axisValue labels a grid line.
func axisValue(v float64, unit string, step float64) string {
	prec := 0
	if step < 1 {
		prec = int(math.Ceil(-math.Log10(step)))
	}
	var s string
	switch unit {
	case "B/s":
		s = spaced(bytesIEC(uint64(v))) + "/s"
		s = strings.Replace(s, ".0 ", " ", 1)
	case "%":
		s = decimal(v, prec) + " %"
	case "ms":
		s = decimal(v, prec) + " ms"
	case "/s":
		s = decimal(v, prec) + "/s"
	default:
		s = decimal(v, prec)
	}
	return s
}

// valueText renders one value of a chart in its unit, for people.
func valueText(v float64, unit string) string {
	var s string
	switch unit {
	case "/s":
		s = rate(v) + "/s"
	case "B/s":
		s = bytesIEC(uint64(math.Round(v))) + "/s"
	case "%":
		s = decimal(v, 1) + " %"
	case "ms":
		s = latency(v * 1e3)
	default:
		s = decimal(math.Round(v), 0)
	}
	return spaced(s)
}

func f1(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }
func f2(v float64) string { return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) }

// sig4 rounds v to 4 significant digits for the hover data.
func sig4(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	if v == 0 {
		return 0
	}
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
}

// chartData is one chart's values for the hover script.
type chartData struct {
	ID    string   `json:"id"`
	Unit  string   `json:"unit"`
	Names []string `json:"names"`
	V     [][]any  `json:"v"`
}

// data embeds the charts' values for the hover script (the parts' charts
// share the whole's time axis).
func (h *htmlWriter) data() {
	s := h.s
	d := struct {
		T      []int64     `json:"t"`
		Per    int64       `json:"per"`
		Charts []chartData `json:"charts"`
	}{T: make([]int64, len(s.times)), Per: s.colNS / 1e6, Charts: append([]chartData{}, h.charts...)}
	for i, t := range s.times {
		d.T[i] = t / 1e6
	}
	j, err := json.Marshal(d)
	if err != nil {
		h.err = err
		return
	}
	// In a script element only "</" could end it early.
	h.p("<script type=\"application/json\" id=\"visor-data\">%s</script>\n", strings.ReplaceAll(string(j), "</", `<\/`))
}

func (h *htmlWriter) breakdowns(level int) {
	rcodes, qtypes := h.s.breakdowns()
	d := &h.s.r.Summary.DNS
	h.p("<section id=\"%sbreakdowns\">\n<h%d>%s</h%d>\n<div class=\"pair\">\n", h.id, level, breakdownsTitle, level)
	h.countTable("Response codes", "of responses", rcodes, d.Responses)
	h.countTable("Query types", "of queries", qtypes, d.Queries)
	h.p("</div>\n</section>\n")
}

func (h *htmlWriter) countTable(title, of string, l []TopItem, total uint64) {
	h.p("<table class=\"counts\">\n<caption>%s</caption>\n<thead><tr><th>name</th><th>count</th><th>%s</th><th></th></tr></thead>\n<tbody>\n", esc(title), esc(of))
	if len(l) == 0 {
		h.p("<tr><td colspan=\"4\">none</td></tr>\n")
	}
	for _, it := range l {
		w := 0.0
		if total > 0 {
			w = 100 * float64(it.Estimate) / float64(total)
		}
		h.p("<tr><td>%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"bar\"><i style=\"width:%s%%\"></i></td></tr>\n",
			esc(it.Name), count(it.Estimate), esc(spaced(share(it.Estimate, total))), f1(w))
	}
	h.p("</tbody>\n</table>\n")
}

func (h *htmlWriter) tops(level int) {
	h.p("<section id=\"%stops\">\n<h%d>%s</h%d>\n<p class=\"meta\">%s</p>\n<div class=\"tops\">\n", h.id, level, topsTitle, level, estimateText)
	for _, t := range h.s.tops() {
		h.p("<table class=\"top\">\n<caption>%s</caption>\n<thead><tr><th>#</th><th>name</th><th>%s</th></tr></thead>\n<tbody>\n", esc(t.Title), esc(t.Of))
		if len(t.Items) == 0 {
			h.p("<tr><td colspan=\"3\">none</td></tr>\n")
		}
		for i, it := range t.Items {
			c := topCount(it)
			if it.Error > 0 {
				c = "<span class=\"est\" title=\"estimate\">" + c + "</span>"
			}
			h.p("<tr><td class=\"n\">%d</td><td class=\"name\">%s</td><td class=\"n\">%s</td></tr>\n", i+1, esc(quoteEmpty(it.Name)), c)
		}
		h.p("</tbody>\n</table>\n")
	}
	h.p("</div>\n</section>\n")
}

func (h *htmlWriter) inputs(level int) {
	h.p("<section id=\"%sinputs\">\n<h%d>Inputs</h%d>\n<table>\n<thead><tr><th>path</th><th>format</th><th>packets</th><th>bytes</th><th>first</th><th>last</th><th>link types</th><th>sha256</th></tr></thead>\n<tbody>\n", h.id, level, level)
	ins := h.s.inputs()
	if len(ins) == 0 {
		h.p("<tr><td colspan=\"8\">none</td></tr>\n")
	}
	for _, in := range ins {
		h.p("<tr><td class=\"name\">%s</td><td>%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td>%s</td><td>%s</td><td>%s</td><td class=\"hash\">%s</td></tr>\n",
			esc(in.Path), esc(in.Format), in.Packets, esc(in.Bytes), in.First, in.Last, esc(in.Links), esc(in.SHA256))
	}
	h.p("</tbody>\n</table>\n</section>\n")
}

func (h *htmlWriter) integrity(level int) {
	problems, normal := integrityLines(h.s.r.Integrity)
	h.p("<section id=\"%sintegrity\">\n<h%d>Integrity</h%d>\n", h.id, level, level)
	if len(problems) == 0 {
		h.p("<p class=\"ok\">%s</p>\n", integrityOKText)
	} else {
		h.p("<p class=\"bad\">%s</p>\n<ul>\n", integrityBad)
		for _, p := range problems {
			h.p("<li>%s</li>\n", esc(p))
		}
		h.p("</ul>\n")
	}
	if len(normal) > 0 {
		h.p("<p>%s</p>\n<ul>\n", edgesText)
		for _, p := range normal {
			h.p("<li>%s</li>\n", esc(p))
		}
		h.p("</ul>\n")
	}
	h.p("</section>\n")
}
