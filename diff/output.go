package diff

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// WriteJSON writes d as indented JSON (two spaces) with a trailing newline,
// matching visor.diff.v1.schema.json.
func WriteJSON(w io.Writer, d *Diff) error {
	if d == nil {
		return errors.New("diff: nil diff")
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(d)
}

// TableOptions tune WriteTable.
type TableOptions struct {
	// Width is the widest a line may be; 0 is 80.
	Width int
	// ASCII writes x, -> and <= instead of ×, → and ≤.
	ASCII bool
}

// symbols are the few non-ASCII characters of the table and Markdown.
type symbols struct{ times, arrow, le, dash string }

func symbolsFor(ascii bool) symbols {
	if ascii {
		return symbols{"x", "->", "<=", "-"}
	}
	return symbols{"×", "→", "≤", "–"}
}

// WriteTable writes d for people: the two sides, then the counters, shares,
// estimates, top lists and findings that say something, each a block of
// aligned columns no wider than o.Width.
func WriteTable(w io.Writer, d *Diff, o TableOptions) error {
	if d == nil {
		return errors.New("diff: nil diff")
	}
	if o.Width <= 0 {
		o.Width = 80
	}
	t := &textWriter{sym: symbolsFor(o.ASCII), width: o.Width}
	t.sides(d)
	t.counters(d)
	t.shares("RCODES (share of responses)", d.Rcodes)
	t.shares("QTYPES (share of queries)", d.Qtypes)
	t.estimates(d)
	t.tops(d)
	t.findings(d)
	bw := bufio.NewWriter(w)
	bw.WriteString(t.b.String())
	return bw.Flush()
}

type textWriter struct {
	b     strings.Builder
	sym   symbols
	width int
	md    bool
}

func (t *textWriter) line(s string) { t.b.WriteString(strings.TrimRight(s, " ") + "\n") }

func (t *textWriter) heading(s string) {
	if t.md {
		// "TOP LISTS (+ appeared ...)" -> "Top lists (+ appeared ...)"
		head, tail, _ := strings.Cut(s, " (")
		if tail != "" {
			tail = " (" + tail
		}
		t.line("\n## " + head[:1] + strings.ToLower(head[1:]) + tail + "\n")
		return
	}
	t.line("")
	t.line(s)
}

func (t *textWriter) sides(d *Diff) {
	if t.md {
		t.line("# visor diff\n")
		t.line("| side | what | inputs | capture time | integrity |")
		t.line("|---|---|---:|---:|---|")
		for _, s := range []struct {
			name string
			info *SideInfo
		}{{"before", &d.Before}, {"after", &d.After}} {
			t.line(fmt.Sprintf("| %s | %s (%s) | %d | %s | %s |", s.name, mdEscape(s.info.Label), s.info.Kind,
				len(s.info.Inputs), seconds(s.info.Seconds), mdEscape(integrity(s.info.Integrity))))
		}
		return
	}
	for _, s := range []struct {
		name string
		info *SideInfo
	}{{"BEFORE", &d.Before}, {"AFTER ", &d.After}} {
		inputs := "1 input"
		if n := len(s.info.Inputs); n != 1 {
			inputs = strconv.Itoa(n) + " inputs"
		}
		head := fmt.Sprintf("%s  ", s.name)
		tail := fmt.Sprintf(" (%s, %s, %s)", s.info.Kind, inputs, seconds(s.info.Seconds))
		t.line(head + shorten(s.info.Label, t.width-len(head)-utf8.RuneCountInString(tail)) + tail)
		if in := integrity(s.info.Integrity); in != "" {
			t.line("        integrity: " + in)
		}
	}
}

func integrity(m map[string]uint64) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		if m[k] > 0 {
			parts = append(parts, k+"="+strconv.FormatUint(m[k], 10))
		}
	}
	return strings.Join(parts, " ")
}

func (t *textWriter) counters(d *Diff) {
	if len(d.Counters) == 0 {
		return
	}
	t.heading("COUNTERS")
	rows := [][]string{{"", "before", "after", "delta", "ratio", "before/s", "after/s"}}
	for _, c := range d.Counters {
		rows = append(rows, []string{c.Name, count(c.Before), count(c.After), signed(c.Delta),
			t.ratio(c.Ratio), rate(c.BeforeRate, d.Before.Seconds), rate(c.AfterRate, d.After.Seconds)})
	}
	t.grid(rows)
}

func (t *textWriter) shares(title string, l []Share) {
	if len(l) == 0 {
		return
	}
	t.heading(title)
	rows := [][]string{{"", "before", "share", "after", "share", "change"}}
	for _, s := range l {
		rows = append(rows, []string{s.Name, count(s.Before), pct(s.BeforeShare), count(s.After),
			pct(s.AfterShare), points(s.ShareDelta)})
	}
	t.grid(rows)
}

func (t *textWriter) estimates(d *Diff) {
	if len(d.Estimates) == 0 {
		return
	}
	t.heading("ESTIMATES (changed: beyond both sides' error)")
	rows := [][]string{{"", "before", "after", "delta", "ratio", "error", ""}}
	for _, e := range d.Estimates {
		flag := ""
		if e.Changed {
			flag = "changed"
		}
		errs := "exact"
		if e.RelError > 0 {
			errs = strconv.FormatFloat(100*e.RelError, 'f', -1, 64) + " %"
		}
		rows = append(rows, []string{e.Name, number(e.Before), number(e.After), signedFloat(e.Delta),
			t.ratio(e.Ratio), errs, flag})
	}
	t.grid(rows)
}

func (t *textWriter) tops(d *Diff) {
	var any bool
	for _, td := range d.Tops {
		if len(td.Appeared)+len(td.Vanished)+len(td.Changed) > 0 {
			any = true
		}
	}
	t.heading("TOP LISTS (+ appeared, - vanished, ~ changed beyond the error)")
	if !any {
		t.line(t.bullet() + "no name changed beyond the lists' error")
	}
	for _, td := range d.Tops {
		n := len(td.Appeared) + len(td.Vanished) + len(td.Changed) + td.More
		if n == 0 {
			continue
		}
		summary := fmt.Sprintf("%d appeared, %d vanished, %d changed", len(td.Appeared), len(td.Vanished), len(td.Changed))
		if td.More > 0 {
			summary += fmt.Sprintf(", %d more", td.More)
		}
		if td.WithinError > 0 {
			summary += fmt.Sprintf("; %d within the error", td.WithinError)
		}
		if t.md {
			t.line(fmt.Sprintf("\n### %s\n\n%s\n", td.List, summary))
			t.line("| | name | before | after | delta |")
			t.line("|---|---|---:|---:|---:|")
		} else {
			t.line(td.List + ": " + summary)
		}
		var rows [][]string
		for _, g := range []struct {
			mark string
			l    []NameChange
		}{{"+", td.Appeared}, {"-", td.Vanished}, {"~", td.Changed}} {
			for _, c := range g.l {
				rows = append(rows, []string{g.mark, c.Name, t.bounds(c.Before), t.bounds(c.After), signed(c.Delta)})
			}
		}
		if t.md {
			for _, r := range rows {
				r[1] = "`" + strings.ReplaceAll(r[1], "`", "'") + "`"
				t.line("| " + strings.Join(r, " | ") + " |")
			}
			continue
		}
		for i := range rows {
			rows[i][0] = "  " + rows[i][0]
		}
		t.gridFrom(rows, 1)
	}
}

// bounds renders a name's count on one side: "120", "115–120" with an
// error, "≤ 7" or "0" when the list lacks it.
func (t *textWriter) bounds(b Bounds) string {
	switch {
	case !b.Listed && b.High == 0:
		return "0"
	case !b.Listed:
		return t.sym.le + count(b.High)
	case b.Low == b.High:
		return count(b.High)
	}
	return count(b.Low) + t.sym.dash + count(b.High)
}

func (t *textWriter) findings(d *Diff) {
	f := d.Findings
	t.heading("FINDINGS (+ only after, - only before, = both)")
	if len(f.OnlyBefore)+len(f.OnlyAfter)+len(f.Both) == 0 {
		t.line(t.bullet() + "none on either side")
		return
	}
	var rows [][]string
	for _, g := range []struct {
		mark string
		l    []FindingRef
	}{{"+", f.OnlyAfter}, {"-", f.OnlyBefore}, {"=", f.Both}} {
		for _, r := range g.l {
			sev := r.Severity
			if r.BeforeSeverity != "" && r.BeforeSeverity != r.Severity {
				sev = r.BeforeSeverity + " " + t.sym.arrow + " " + r.Severity
			}
			rows = append(rows, []string{g.mark, r.Kind, r.Subject, sev, r.Summary})
		}
	}
	if t.md {
		t.line("| | kind | subject | severity | summary |")
		t.line("|---|---|---|---|---|")
		for _, r := range rows {
			for i := range r {
				r[i] = mdEscape(r[i])
			}
			t.line("| " + strings.Join(r, " | ") + " |")
		}
		return
	}
	for _, r := range rows {
		head := fmt.Sprintf("  %s %s %s (%s)", r[0], r[1], r[2], r[3])
		t.line(shorten(head, t.width))
		for _, l := range wrap(r[4], t.width-4) {
			t.line("    " + l)
		}
	}
}

func (t *textWriter) bullet() string {
	if t.md {
		return "- "
	}
	return "  "
}

func (t *textWriter) ratio(r *float64) string {
	if r == nil {
		return ""
	}
	v := *r
	switch {
	case v >= 100:
		return count(uint64(math.Round(v))) + t.sym.times
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + t.sym.times
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + t.sym.times
}

// grid writes rows as columns: the first left-aligned (shortened when the
// block would pass the width), the others right-aligned; the first row is
// the header. In Markdown it is a table.
func (t *textWriter) grid(rows [][]string) { t.gridFrom(rows, 0) }

// gridFrom is grid with the columns before left all left-aligned and
// column left the one shortened.
func (t *textWriter) gridFrom(rows [][]string, left int) {
	if t.md {
		head := rows[0]
		t.line("| " + strings.Join(head, " | ") + " |")
		sep := make([]string, len(head))
		for i := range sep {
			sep[i] = "---:"
			if i <= left {
				sep[i] = "---"
			}
		}
		t.line("|" + strings.Join(sep, "|") + "|")
		for _, r := range rows[1:] {
			r[left] = "`" + strings.ReplaceAll(r[left], "`", "'") + "`"
			t.line("| " + strings.Join(r, " | ") + " |")
		}
		return
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	total := len(widths) - 1 // single spaces between columns, two after the names
	for _, w := range widths {
		total += w
	}
	total++
	if over := total - t.width; over > 0 {
		widths[left] = max(8, widths[left]-over)
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			switch {
			case i < left:
				b.WriteString(pad(c, widths[i]) + " ")
			case i == left:
				b.WriteString(pad(shorten(c, widths[i]), widths[i]) + "  ")
			default:
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)) + c)
				if i < len(r)-1 {
					b.WriteString(" ")
				}
			}
		}
		t.line(b.String())
	}
}

// WriteMarkdown writes d as GitHub-flavoured Markdown: a heading per part,
// tables with the same columns as the text table.
func WriteMarkdown(w io.Writer, d *Diff) error {
	if d == nil {
		return errors.New("diff: nil diff")
	}
	t := &textWriter{sym: symbolsFor(false), width: 1 << 20, md: true}
	t.sides(d)
	t.counters(d)
	t.shares("Rcodes (share of responses)", d.Rcodes)
	t.shares("Qtypes (share of queries)", d.Qtypes)
	t.estimates(d)
	t.tops(d)
	t.findings(d)
	_, err := io.WriteString(w, t.b.String())
	return err
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

// count renders n with thousands separators: 101624 -> "101,624".
func count(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func signed(n int64) string {
	switch {
	case n > 0:
		return "+" + count(uint64(n))
	case n < 0:
		return "-" + count(uint64(-n))
	}
	return "0"
}

// number renders an estimate: whole numbers from 100 up, else up to two
// decimals.
func number(f float64) string {
	if f < 0 {
		return "-" + number(-f)
	}
	if f >= 100 || f == math.Trunc(f) {
		return count(uint64(math.Round(f)))
	}
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}

func signedFloat(f float64) string {
	switch {
	case f > 0:
		return "+" + number(f)
	case f < 0:
		return "-" + number(-f)
	}
	return "0"
}

// rate renders a per-second rate with one decimal (none from 100 up), or
// "" when the side spans no time.
func rate(r, secs float64) string {
	switch {
	case secs <= 0:
		return ""
	case r == 0:
		return "0"
	}
	if r >= 100 {
		return count(uint64(math.Round(r)))
	}
	return strconv.FormatFloat(r, 'f', 1, 64)
}

func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + " %" }

// points renders a change of share in percentage points.
func points(f float64) string {
	s := strconv.FormatFloat(100*f, 'f', 1, 64)
	if s == "-0.0" || s == "0.0" {
		return "0 pp"
	}
	if f > 0 {
		s = "+" + s
	}
	return s + " pp"
}

// seconds renders a capture's length.
func seconds(s float64) string {
	switch {
	case s == 0:
		return "no time"
	case s < 120:
		return strconv.FormatFloat(s, 'f', 1, 64) + " s"
	case s < 7200:
		return strconv.FormatFloat(s/60, 'f', 1, 64) + " min"
	}
	return strconv.FormatFloat(s/3600, 'f', 1, 64) + " h"
}

// wrap breaks s at spaces into lines of at most width columns; a word
// longer than a line is cut.
func wrap(s string, width int) []string {
	var out []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) <= width:
			line += " " + w
		default:
			out = append(out, line)
			line = w
		}
		for utf8.RuneCountInString(line) > width {
			r := []rune(line)
			out = append(out, string(r[:width]))
			line = string(r[width:])
		}
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}

// shorten keeps s within w columns, keeping its tail (a name's zone).
func shorten(s string, w int) string {
	r := []rune(s)
	if len(r) <= w {
		return s
	}
	if w <= 3 {
		return string(r[len(r)-w:])
	}
	return "..." + string(r[len(r)-(w-3):])
}

func pad(s string, w int) string {
	return s + strings.Repeat(" ", max(0, w-utf8.RuneCountInString(s)))
}

func sortedKeys(m map[string]uint64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
