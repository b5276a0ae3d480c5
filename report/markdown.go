package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// WriteMarkdown writes r as GitHub-flavoured Markdown for tickets and chat:
// the same story as WriteHTML (findings first, then each measure as a
// sparkline over capture time with the findings' spans under it,
// breakdowns, top lists, inputs, integrity, the command line), as text.
func WriteMarkdown(w io.Writer, r *Report, o PostMortemOptions) error {
	if r == nil {
		return errors.New("report: nil report")
	}
	s, err := newStory(r, o)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	m := &mdWriter{b: &b, s: s}
	m.header()
	writeSections(m, 2)
	if err := m.parts(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\n---\nMade by %s %s (%s). Times are capture time, UTC.\n", toolName(r), mdEsc(r.Tool.Version), r.Schema)
	_, err = w.Write(b.Bytes())
	return err
}

type mdWriter struct {
	b *bytes.Buffer
	s *story
}

func (m *mdWriter) p(format string, a ...any) { fmt.Fprintf(m.b, format, a...) }

// h starts a heading of the level given.
func (m *mdWriter) h(level int) string { return "\n" + strings.Repeat("#", level) + " " }

// mdEsc keeps text from the traffic from being read as Markdown or HTML.
func mdEsc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '#', '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode quotes s as inline code, whatever backticks it holds.
func mdCode(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	return fence + " " + s + " " + fence
}

// mdCell quotes s as inline code in a table cell, which ends at a bare |.
func mdCell(s string) string { return mdCode(strings.ReplaceAll(s, "|", "\\|")) }

func (m *mdWriter) header() {
	s, r := m.s, m.s.r
	m.p("# %s\n\n", mdEsc(pageTitle(r)))
	m.meta()
	if len(s.o.Command) > 0 {
		m.p("**Command:** %s  \n", mdCode(commandLine(s.o.Command)))
	}
	m.p("**Tool:** %s %s\n", toolName(r), mdEsc(r.Tool.Version))
}

// meta is the line under a report's or a part's title: the capture's
// span, the buckets and the findings.
func (m *mdWriter) meta() {
	s := m.s
	span := s.captureText()
	if span == "" {
		span = "no packet times"
	}
	m.p("**Capture:** %s · %s · %s  \n", span, s.bucketsText(), s.findingsCount())
}

// parts writes the list of the --split-by parts, then each part's
// sections, its sparklines on the whole's time axis.
func (m *mdWriter) parts() error {
	whole := m.s
	ps, err := whole.parts()
	if err != nil || len(ps) == 0 {
		return err
	}
	m.p("\n## %s\n\n", mdEsc(partsTitle(whole.r)))
	for _, p := range ps {
		m.p("- %s: %s\n", mdEsc(p.Title), p.partLine())
	}
	for _, p := range ps {
		m.s = p.s
		m.p("\n## %s\n\n", mdEsc(p.Title))
		m.meta()
		writeSections(m, 3)
	}
	m.s = whole
	return nil
}

func (m *mdWriter) findings(level int) {
	s := m.s
	m.p("%sFindings (%d)\n\n", m.h(level), len(s.findings))
	if len(s.findings) == 0 {
		m.p("%s\n", noFindingText)
		return
	}
	day := s.multiDay()
	for _, f := range s.findings {
		m.p("%s%s %s", m.h(level + 1)[1:], strings.ToUpper(orDash(f.Severity)), mdEsc(orDash(f.Kind)))
		if f.Target != "" {
			m.p(" %s", mdCode(f.Target))
		}
		m.p("\n\n")
		if span, peak := f.spanText(day); span != "" {
			m.p("%s", span)
			if peak != "" {
				m.p(", %s", peak)
			}
			m.p("\n\n")
		}
		m.p("%s\n\n", mdEsc(f.Summary))
		if f.Why != "" {
			m.p("**Why:** %s\n\n", mdEsc(f.Why))
		}
		if f.Confidence != "" {
			m.p("Confidence %s\n\n", f.Confidence)
		}
		if len(f.Explains) > 0 {
			m.p("**Explains:** %s\n\n", mdEsc(strings.Join(f.Explains, ", ")))
		}
		if len(f.Next) > 0 {
			m.p("**Next:**\n\n")
			for _, n := range f.Next {
				m.p("- %s\n", mdEsc(n))
			}
			m.p("\n")
		}
		if len(f.Evidence) > 0 {
			m.p("<details><summary>Evidence</summary>\n\n| evidence | value |\n|---|---|\n")
			for _, kv := range f.Evidence {
				m.p("| %s | %s |\n", mdEsc(kv[0]), mdEsc(kv[1]))
			}
			m.p("\n</details>\n\n")
		}
	}
}

func (m *mdWriter) checks(level int) {
	cs := m.s.o.Checks
	if len(cs) == 0 {
		return
	}
	passed := m.s.checksPassed()
	m.p("%sAssertions (%d of %d passed)\n\n| result | assertion | detail |\n|---|---|---|\n", m.h(level), passed, len(cs))
	for i := range cs {
		c := &cs[i]
		res := "✅ PASS"
		if !c.Passed {
			res = "❌ FAIL"
		}
		m.p("| %s | %s | %s |\n", res, mdCell(c.title()), mdEsc(c.Detail))
	}
}

// mdColumns is the width of the Markdown sparklines.
const mdColumns = 60

// timeline draws each series of each chart as a sparkline of at most
// mdColumns columns (several points a column: their largest value), the
// findings' spans on the same axis.
func (m *mdWriter) timeline(level int) {
	s := m.s
	m.p("%sOver time\n\n", m.h(level))
	if len(s.times) == 0 {
		m.p("%s\n", noBucketText)
		return
	}
	slots := int((s.end-s.first)/s.colNS) + 1
	per := max((slots+mdColumns-1)/mdColumns, 1)
	colNS := int64(per) * s.colNS
	cols := int((s.end - s.first + colNS - 1) / colNS)
	m.p("%s a column", spaced(duration(time.Duration(colNS))))
	if colNS > s.bucketNS {
		m.p(" (the largest value of its buckets)")
	}
	m.p("; each line is scaled to its own largest value, shown on the right.\n\n")
	tw := &tableWriter{}
	m.p("```text\n")
	const label = 26
	for _, c := range s.charts {
		for _, ser := range c.Series {
			v := make([]float64, cols)
			for i := range v {
				v[i] = math.NaN()
			}
			for i, t := range s.times {
				if x := ser.V[i]; !math.IsNaN(x) {
					col := min(int((t-s.first)/colNS), cols-1)
					if math.IsNaN(v[col]) || x > v[col] {
						v[col] = x
					}
				}
			}
			spark, top := tw.spark(v)
			name := ser.Name
			switch {
			case c.ID == "dns":
				name += "/s"
			case c.Unit == "%":
				name += " share"
			case strings.HasPrefix(c.ID, "latency-"):
				name = strings.TrimPrefix(c.ID, "latency-") + " " + name + " latency"
			}
			m.p("%s%s  max %s\n", pad(shorten(name, label-1), label), pad(spark, cols), valueText(top, c.Unit))
		}
	}
	for _, f := range s.findings {
		if f.Start == 0 || f.End == 0 {
			continue
		}
		mark := []rune(strings.Repeat(" ", cols))
		for i := range mark {
			cs, ce := s.first+int64(i)*colNS, s.first+int64(i+1)*colNS
			if ce > f.Start && cs <= f.End {
				mark[i] = '━'
			}
		}
		if f.Peak >= s.first {
			if i := int((f.Peak - s.first) / colNS); i < len(mark) {
				mark[i] = '▲'
			}
		}
		m.p("%s%s\n", pad(shorten(f.Kind, label-1), label), strings.TrimRight(string(mark), " "))
	}
	start := clockOf(s.first, false)
	end := clockOf(s.first+int64(cols)*colNS, false)
	gap := max(cols-len(start)-len(end), 1)
	m.p("%s%s%s%s\n```\n", strings.Repeat(" ", label), start, strings.Repeat(" ", gap), end)
}

func (m *mdWriter) breakdowns(level int) {
	rcodes, qtypes := m.s.breakdowns()
	d := &m.s.r.Summary.DNS
	m.p("%s%s\n\n", m.h(level), breakdownsTitle)
	m.countTable("rcode", "of responses", rcodes, d.Responses)
	m.p("\n")
	m.countTable("qtype", "of queries", qtypes, d.Queries)
}

func (m *mdWriter) countTable(name, of string, l []TopItem, total uint64) {
	m.p("| %s | count | %s |\n|---|---:|---:|\n", name, of)
	if len(l) == 0 {
		m.p("| none | | |\n")
	}
	for _, it := range l {
		m.p("| %s | %s | %s |\n", mdEsc(it.Name), count(it.Estimate), spaced(share(it.Estimate, total)))
	}
}

func (m *mdWriter) tops(level int) {
	m.p("%s%s\n\n%s\n", m.h(level), topsTitle, estimateText)
	for _, t := range m.s.tops() {
		m.p("\n**%s**\n\n| # | name | %s |\n|---:|---|---:|\n", t.Title, t.Of)
		if len(t.Items) == 0 {
			m.p("| | none | |\n")
		}
		for i, it := range t.Items {
			m.p("| %d | %s | %s |\n", i+1, mdCell(quoteEmpty(it.Name)), topCount(it))
		}
	}
}

func (m *mdWriter) inputs(level int) {
	m.p("%sInputs\n\n| path | format | packets | bytes | first | last | link types | sha256 |\n|---|---|---:|---:|---|---|---|---|\n", m.h(level))
	ins := m.s.inputs()
	for _, in := range ins {
		m.p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", mdCell(in.Path), mdEsc(in.Format), in.Packets, in.Bytes,
			in.First, in.Last, mdEsc(in.Links), mdCell(in.SHA256))
	}
	if len(ins) == 0 {
		m.p("| none | | | | | | | |\n")
	}
}

func (m *mdWriter) integrity(level int) {
	problems, normal := integrityLines(m.s.r.Integrity)
	m.p("%sIntegrity\n\n", m.h(level))
	if len(problems) == 0 {
		m.p("%s\n", integrityOKText)
	} else {
		m.p("**%s**\n\n", integrityBad)
		for _, p := range problems {
			m.p("- %s\n", mdEsc(p))
		}
	}
	if len(normal) > 0 {
		m.p("\n%s\n\n", edgesText)
		for _, p := range normal {
			m.p("- %s\n", mdEsc(p))
		}
	}
}
