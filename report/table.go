package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/term"
)

// DefaultTableWidth is the width of a table written to a file or a pipe.
const DefaultTableWidth = 100

// minTableWidth is the narrowest table; below it lines may be longer.
const minTableWidth = 40

// TableOptions shape the table.
type TableOptions struct {
	Top   int  // rows of every top-N list; <= 0: all
	Width int  // columns; every line fits (at least minTableWidth)
	ASCII bool // no Unicode symbols (sparklines, arrows, ≈ ±)
}

// TableWidth is the width a table written to w gets: $COLUMNS when set,
// else the terminal's width when w is one, else DefaultTableWidth.
func TableWidth(w io.Writer) int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return max(n, minTableWidth)
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if n, _, err := term.GetSize(int(f.Fd())); err == nil && n > 0 {
			return max(n, minTableWidth)
		}
	}
	return DefaultTableWidth
}

// UTF8Locale says whether the locale (LC_ALL, then LC_CTYPE, then LANG,
// the first one set) names UTF-8.
func UTF8Locale() bool {
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := os.Getenv(k); v != "" {
			v = strings.ToLower(v)
			return strings.Contains(v, "utf-8") || strings.Contains(v, "utf8")
		}
	}
	return false
}

// WriteTable writes r to w as a one-page incident summary, as wide as w
// allows (TableWidth) and in Unicode where the locale is UTF-8.
func WriteTable(w io.Writer, r *Report, top int) error {
	return WriteTableWith(w, r, TableOptions{Top: top, Width: TableWidth(w), ASCII: !UTF8Locale()})
}

// WriteTableWith writes r to w as a one-page incident summary: the inputs,
// findings, the timeline, integrity, a net and DNS overview, latency, then
// the top-N lists. No line is wider than o.Width; the output is
// deterministic and has no colours.
func WriteTableWith(w io.Writer, r *Report, o TableOptions) error {
	if r == nil {
		return errors.New("report: nil report")
	}
	o.Width = max(o.Width, minTableWidth)
	// Rendered whole, then written once, so a failing writer gives one error.
	var b bytes.Buffer
	t := tableWriter{b: &b, o: o, sym: unicodeSymbols}
	if o.ASCII {
		t.sym = asciiSymbols
	}
	t.header(r)
	t.findings(r)
	t.timeline(r)
	t.integrity(r.Integrity)
	t.overview(r)
	t.latency(&r.Summary.DNS.Xacts)
	t.encrypted(&r.Summary) // table_encdns.go
	t.counts(&r.Summary.DNS)
	t.depth(&r.Summary.DNS)
	t.tops(&r.Summary)
	out := bytes.ReplaceAll(b.Bytes(), []byte(nbsp), []byte(" "))
	if o.ASCII {
		out = bytes.ReplaceAll(out, []byte("µs"), []byte("us"))
	}
	_, err := w.Write(out)
	return err
}

type symbols struct {
	arrow, approx, plusMinus, rule, dot string
}

var (
	unicodeSymbols = symbols{arrow: "→", approx: "≈", plusMinus: "±", rule: "─", dot: "·"}
	asciiSymbols   = symbols{arrow: "->", approx: "~", plusMinus: "+-", rule: "-", dot: "-"}
)

type tableWriter struct {
	b   *bytes.Buffer
	o   TableOptions
	sym symbols
	day string // the capture's first day; times on it are printed without date
}

func (t *tableWriter) line(s string) { t.b.WriteString(s + "\n") }

func (t *tableWriter) lines(ls []string) {
	for _, l := range ls {
		t.line(l)
	}
}

// field writes "label    value", the value wrapped under itself.
func (t *tableWriter) field(label string, width int, value string) {
	t.lines(hang(pad(label, width), value, t.o.Width))
}

func (t *tableWriter) header(r *Report) {
	name := r.Tool.Name
	if name == "" {
		name = "visor"
	}
	d := t.sym.dot
	t.lines(wrap(fmt.Sprintf("%s %s %s %s %s buckets of %s", name, r.Tool.Version, d, r.Schema, d,
		duration(time.Duration(r.BucketSeconds*1e9))), "", t.o.Width))
	if len(r.Inputs) == 0 {
		t.field("input", 9, "none")
	}
	first, last := captureSpan(r)
	if first != 0 {
		t.day = time.Unix(0, first).UTC().Format("2006-01-02")
	}
	for _, in := range r.Inputs {
		t.field("input", 9, in.Path+" ("+orDash(in.Format)+")")
		f, l := int64(in.FirstTS), int64(in.LastTS)
		t.field("", 9, count(in.Packets)+" packets, "+bytesIEC(in.Bytes))
		t.field("", 9, t.span(f, l, true))
	}
	if len(r.Inputs) > 1 && first != 0 {
		t.field("capture", 9, t.span(first, last, true))
	}
	t.line("")
}

// captureSpan is the first and last packet time over the inputs (Unix ns),
// or the buckets' span when the inputs do not say; 0, 0 when unknown.
func captureSpan(r *Report) (first, last int64) {
	for _, in := range r.Inputs {
		if f := int64(in.FirstTS); first == 0 || f < first {
			first = f
		}
		if l := int64(in.LastTS); l > last {
			last = l
		}
	}
	if first != 0 {
		return first, last
	}
	r.EachBucket(func(b *Bucket) error {
		if s := int64(b.Start); first == 0 || s < first {
			first = s
		}
		if e := int64(b.End); e > last {
			last = e
		}
		return nil
	})
	return first, last
}

// clock renders a capture time: its date only when it is not the
// capture's first day; micro (or milli) seconds as asked.
func (t *tableWriter) clock(ns int64, micro bool) string {
	tm := time.Unix(0, ns).UTC()
	layout := "15:04:05.000"
	if micro {
		layout = "15:04:05.000000"
	}
	if tm.Format("2006-01-02") != t.day {
		layout = "2006-01-02 " + layout
	}
	return tm.Format(layout)
}

// span renders "first → last UTC (duration)".
func (t *tableWriter) span(first, last int64, micro bool) string {
	if first == 0 && last == 0 {
		return "no packet times"
	}
	return t.clock(first, micro) + " " + t.sym.arrow + " " + t.clock(last, micro) + " UTC (" + duration(time.Duration(last-first)) + ")"
}

func (t *tableWriter) findings(r *Report) {
	fs := r.Findings
	if len(fs) == 0 {
		return
	}
	t.line(fmt.Sprintf("FINDINGS (%d)", len(fs)))
	for _, f := range fs {
		when := t.span(int64(f.Start), int64(f.End), false)
		if p := int64(f.Peak); p != 0 {
			when += ", peak " + t.clock(p, false)
		}
		t.lines(wrap(strings.ToUpper(orDash(f.Severity))+" "+orDash(f.Kind)+"  "+when, "", t.o.Width))
		t.lines(wrap(f.Summary, "  ", t.o.Width))
		t.verdict(&f)
		t.evidence(f.Evidence)
	}
	t.line("")
}

// verdict writes why the finding holds, how sure the detector is, what
// its cause explains and what to look at next, as labelled lines.
func (t *tableWriter) verdict(f *Finding) {
	const (
		label  = "  %-11s "
		indent = "              "
	)
	if f.Why != "" {
		t.lines(hang(fmt.Sprintf(label, "why"), f.Why, t.o.Width))
	}
	if f.Confidence > 0 {
		t.lines(hang(fmt.Sprintf(label, "confidence"), pct(f.Confidence), t.o.Width))
	}
	if len(f.Explains) > 0 {
		parts := make([]string, len(f.Explains))
		for i, e := range f.Explains {
			parts[i] = e.Kind
			if e.Key != "" {
				parts[i] += " " + e.Key
			}
			parts[i] += " (" + count(e.Count) + ")"
		}
		t.lines(hang(fmt.Sprintf(label, "explains"), strings.Join(parts, ", "), t.o.Width))
	}
	for i, n := range f.Next {
		first := fmt.Sprintf(label, "next")
		if i > 0 {
			first = indent
		}
		t.lines(hang(first+"- ", n, t.o.Width))
	}
}

// evidence writes the evidence as aligned "key: value" lines, values
// wrapped under themselves, lists inline.
func (t *tableWriter) evidence(m map[string]any) {
	keys := sortedKeys(m)
	kw := 0
	for _, k := range keys {
		kw = max(kw, utf8.RuneCountInString(k)+1)
	}
	kw = min(kw, 24)
	for _, k := range keys {
		t.lines(hang(pad("  "+k+":", kw+3), evidenceValue(k, m[k]), t.o.Width))
	}
}

// evidenceValue renders one evidence value for people: numbers with
// separators (ratios as shares), lists and objects inline.
func evidenceValue(key string, v any) string {
	// Values are typed structs in a run and generic JSON when read back:
	// both are rendered from their JSON form.
	j, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var g any
	d := json.NewDecoder(bytes.NewReader(j))
	d.UseNumber()
	if err := d.Decode(&g); err != nil {
		return string(j)
	}
	ratio := strings.HasSuffix(key, "_ratio") || strings.HasSuffix(key, "_share")
	return plain(g, ratio)
}

func plain(v any, ratio bool) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		if n, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return count(n)
		}
		f, err := x.Float64()
		if err != nil {
			return string(x)
		}
		if ratio && f >= 0 && f <= 1 {
			return pct(f)
		}
		return decimal(f, -1)
	case []any:
		if len(x) == 0 {
			return "none"
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = plain(e, ratio)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		// A top-N entry reads "name N" (or "name ≈N ±E").
		if name, ok := x["name"].(string); ok {
			if est, ok := x["estimate"].(json.Number); ok {
				s := name + " " + plain(est, false)
				if e, ok := x["error"].(json.Number); ok && e.String() != "0" {
					s += " (error " + plain(e, false) + ")"
				}
				return s
			}
		}
		keys := sortedKeys(x)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + " " + plain(x[k], ratio || strings.HasSuffix(k, "_ratio") || strings.HasSuffix(k, "_share"))
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

func (t *tableWriter) overview(r *Report) {
	s := &r.Summary
	n, d := &s.Net, &s.DNS
	first, last := captureSpan(r)
	secs := float64(last-first) / 1e9
	pps := n.Rates.PPS
	net := [][]string{
		{"packets", count(n.Packets), ""},
		{"bytes", bytesIEC(n.Bytes), ""},
		{"ipv4", count(n.IPv4), share(n.IPv4, n.Packets)},
		{"ipv6", count(n.IPv6), share(n.IPv6, n.Packets)},
		{"non-ip", count(n.NonIP), share(n.NonIP, n.Packets)},
		{"udp", count(n.UDP), share(n.UDP, n.Packets)},
		{"tcp", count(n.TCP), share(n.TCP, n.Packets)},
		{"other l4", count(n.OtherL4), share(n.OtherL4, n.Packets)},
		{"fragments", count(n.Fragments), share(n.Fragments, n.Packets)},
		{"in", count(n.In), share(n.In, n.Packets)},
		{"out", count(n.Out), share(n.Out, n.Packets)},
		{"unknown dir", count(n.UnknownDir), share(n.UnknownDir, n.Packets)},
		{"distinct src", count(n.Cardinality.SrcIPs), ""},
		{"distinct dst", count(n.Cardinality.DstIPs), ""},
	}
	// Rates over the seconds of capture time; a report without them (an
	// older JSON) falls back on the span and the quantiles.
	ppsMean, ppsPeak := n.Rates.PPSMean, n.Rates.PPSPeak
	if ppsPeak == 0 && secs > 0 {
		ppsMean = float64(n.Packets) / secs
	}
	net = append(net, []string{"packets/s mean", rate(ppsMean), ""}, []string{"packets/s peak", count(ppsPeak), ""},
		[]string{"packets/s p50", rate(pps.P50), ""})
	dns := [][]string{
		{"messages", count(d.Messages), ""},
		{"queries", count(d.Queries), share(d.Queries, d.Messages)},
		{"responses", count(d.Responses), share(d.Responses, d.Messages)},
		{"udp", count(d.UDP), share(d.UDP, d.Messages)},
		{"tcp", count(d.TCP), share(d.TCP, d.Messages)},
		{"ipv4", count(d.IPv4), share(d.IPv4, d.Messages)},
		{"ipv6", count(d.IPv6), share(d.IPv6, d.Messages)},
		{"nodata", count(d.Nodata), share(d.Nodata, d.Responses)},
		{"malformed", count(d.Malformed), share(d.Malformed, d.Messages)},
		{"edns", count(d.EDNS), share(d.EDNS, d.Messages)},
		{"do", count(d.DO), share(d.DO, d.Messages)},
		{"ecs", count(d.ECS), share(d.ECS, d.Messages)},
		{"tc", count(d.TC), share(d.TC, d.Messages)},
		{"distinct qnames", count(d.Cardinality.QName), ""},
		{"transactions", count(d.Xacts.Total), ""},
		{"timed out", count(d.Xacts.TimedOut), share(d.Xacts.TimedOut, d.Xacts.Total)},
	}
	qpsMean := d.Rates.QPSMean
	if d.Rates.QPSPeak == 0 && secs > 0 {
		qpsMean = float64(d.Queries) / secs
	}
	dns = append(dns, []string{"queries/s mean", rate(qpsMean), ""}, []string{"queries/s peak", count(d.Rates.QPSPeak), ""})
	right := []bool{false, true, true}
	t.side(t.grid([]string{"NET", "", ""}, right, net, -1), t.grid([]string{"DNS", "", ""}, right, dns, -1))
}

func (t *tableWriter) latency(x *Xacts) {
	dirs := []struct {
		name string
		d    *XactDir
	}{{"in", &x.In}, {"out", &x.Out}, {"unknown", &x.Unknown}}
	rows := make([][]string, 0, len(dirs))
	for _, dir := range dirs {
		row := []string{dir.name, count(dir.d.Count), count(dir.d.TimedOut), "-", "-", "-"}
		if dir.d.Count > 0 {
			q := dir.d.LatencyUS
			row[3], row[4], row[5] = latency(q.P50), latency(q.P90), latency(q.P99)
		}
		rows = append(rows, row)
	}
	t.lines(t.grid([]string{"TRANSACTIONS", "COUNT", "TIMED OUT", "P50", "P90", "P99"},
		[]bool{false, true, true, true, true, true}, rows, -1))
	t.line("")
}

func (t *tableWriter) counts(d *DNS) {
	t.side(t.countList("RCODE", "of responses", countItems(d.Rcodes), d.Responses),
		t.countList("QTYPE", "of queries", countItems(d.Qtypes), d.Queries))
}

// countList renders exact counts with their shares of total, the rows
// beyond t.o.Top summed into one.
func (t *tableWriter) countList(name, of string, l []TopItem, total uint64) []string {
	if len(l) == 0 {
		return t.grid([]string{name, "COUNT"}, []bool{false, true}, [][]string{{"-", ""}}, -1)
	}
	n := len(l)
	if t.o.Top > 0 && n > t.o.Top {
		n = t.o.Top
	}
	rows := make([][]string, 0, n+1)
	for _, it := range l[:n] {
		rows = append(rows, []string{it.Name, count(it.Estimate), share(it.Estimate, total)})
	}
	if n < len(l) {
		var rest uint64
		for _, it := range l[n:] {
			rest += it.Estimate
		}
		rows = append(rows, []string{fmt.Sprintf("(%d more)", len(l)-n), count(rest), share(rest, total)})
	}
	return t.grid([]string{name, "COUNT", of}, []bool{false, true, true}, rows, 0)
}

func (t *tableWriter) tops(s *Section) {
	d := &s.DNS.Top
	t.pair("TOP QNAMES", d.QName, "TOP QNAME2", d.QName2)
	t.pair("TOP NXDOMAIN", d.NXDomain, "TOP SERVFAIL", d.Servfail)
	t.pair("TOP REFUSED", d.Refused, "TOP NODATA", d.Nodata)
	t.pair("TOP CLIENTS", d.Clients, "TOP SLOW", d.Slow)
	t.pair("TOP SRC IPS", s.Net.Top.SrcIPs, "TOP DST IPS", s.Net.Top.DstIPs)
	// Present with --geoip-city / --geoip-asn, or Client Subnet traffic.
	t.pair("TOP GEO", s.Net.Top.Geo, "TOP ASN", s.Net.Top.ASN)
	if len(d.ECS) > 0 {
		t.lines(t.topList("TOP ECS PREFIXES", d.ECS))
		t.line("")
	}
	t.pair("TOP ECS GEO", d.ECSGeo, "TOP ECS ASN", d.ECSASN)
}

// pair renders two top-N lists side by side when both fit, else one
// under the other; a pair with both lists empty is left out.
func (t *tableWriter) pair(lname string, l []TopItem, rname string, r []TopItem) {
	if len(l) == 0 && len(r) == 0 {
		return
	}
	t.side(t.topList(lname, l), t.topList(rname, r))
}

// topList renders a top-N list cut to t.o.Top rows: an exact entry with
// its count, an estimate as "≈N ±E", and one line naming the ranks whose
// estimates tie within their error, which the order does not rank.
func (t *tableWriter) topList(name string, l []TopItem) []string {
	if len(l) == 0 {
		return t.grid([]string{name, "COUNT"}, []bool{false, true}, [][]string{{"-", ""}}, -1)
	}
	n := len(l)
	if t.o.Top > 0 && n > t.o.Top {
		n = t.o.Top
	}
	rows := make([][]string, 0, n)
	for _, it := range l[:n] {
		c := count(it.Estimate)
		if it.Error > 0 {
			c = t.sym.approx + c + " " + t.sym.plusMinus + count(it.Error)
		}
		rows = append(rows, []string{quoteEmpty(it.Name), c})
	}
	g := t.grid([]string{name, "COUNT"}, []bool{false, true}, rows, 0)
	if note := tieNote(l[:n]); note != "" {
		g = append(g, wrap(note, "", min(max(blockWidth(g), 50), t.o.Width))...)
	}
	return g
}

// tieNote names the runs of ranks whose counts could be in either order
// (an estimate's true count lies in [estimate-error, estimate]), or "".
func tieNote(l []TopItem) string {
	var runs []string
	for i := 0; i < len(l)-1; {
		j := i
		for j+1 < len(l) && (l[j].Error > 0 || l[j+1].Error > 0) &&
			l[j+1].Estimate+l[j].Error >= l[j].Estimate {
			j++
		}
		if j > i {
			runs = append(runs, fmt.Sprintf("%d-%d", i+1, j+1))
			i = j + 1
			continue
		}
		i++
	}
	if len(runs) == 0 {
		return ""
	}
	return "rows " + strings.Join(runs, ", ") + " tie within their error: not a ranking"
}

// grid lays rows out in columns two spaces apart under a header and a
// rule, right-aligning the columns so marked. When wider than the table,
// column shrink (if >= 0) is cut, keeping its tail, where the zone is.
func (t *tableWriter) grid(header []string, right []bool, rows [][]string, shrink int) []string {
	all := append([][]string{header}, rows...)
	widths := make([]int, len(header))
	for _, r := range all {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	total := 2 * (len(widths) - 1)
	for _, w := range widths {
		total += w
	}
	if over := total - t.o.Width; over > 0 && shrink >= 0 {
		widths[shrink] = max(widths[shrink]-over, 8)
		total -= over
	}
	out := make([]string, 0, len(all)+1)
	for n, r := range all {
		var b strings.Builder
		for i, c := range r {
			if i == shrink {
				c = shorten(c, widths[i])
			}
			if i > 0 {
				b.WriteString("  ")
			}
			if right[i] {
				b.WriteString(strings.Repeat(" ", max(widths[i]-utf8.RuneCountInString(c), 0)) + c)
			} else if i < len(r)-1 {
				b.WriteString(pad(c, widths[i]))
			} else {
				b.WriteString(c)
			}
		}
		out = append(out, strings.TrimRight(b.String(), " "))
		if n == 0 {
			out = append(out, strings.Repeat(t.sym.rule, min(total, t.o.Width)))
		}
	}
	return out
}

// side writes two blocks side by side when they fit the width, else one
// under the other, each followed by a blank line.
func (t *tableWriter) side(a, b []string) {
	const gap = 4
	wa := blockWidth(a)
	if wa+gap+blockWidth(b) <= t.o.Width {
		for i := range max(len(a), len(b)) {
			var l, r string
			if i < len(a) {
				l = a[i]
			}
			if i < len(b) {
				r = b[i]
			}
			if r == "" {
				t.line(l)
				continue
			}
			t.line(pad(l, wa+gap) + r)
		}
		t.line("")
		return
	}
	t.lines(a)
	t.line("")
	t.lines(b)
	t.line("")
}

func blockWidth(ls []string) int {
	w := 0
	for _, l := range ls {
		w = max(w, utf8.RuneCountInString(l))
	}
	return w
}

// countItems orders exact counts by count descending, then name.
func countItems(m map[string]uint64) []TopItem {
	l := make([]TopItem, 0, len(m))
	for k, v := range m {
		l = append(l, TopItem{Name: k, Estimate: v})
	}
	sort.Slice(l, func(i, j int) bool {
		if l[i].Estimate != l[j].Estimate {
			return l[i].Estimate > l[j].Estimate
		}
		return l[i].Name < l[j].Name
	})
	return l
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// shorten keeps s within w columns, keeping its tail.
func shorten(s string, w int) string {
	r := []rune(s)
	if len(r) <= w {
		return s
	}
	return "..." + string(r[len(r)-(w-3):])
}

// pad fills s with spaces to w columns.
func pad(s string, w int) string {
	if n := utf8.RuneCountInString(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// wrap breaks s at spaces into lines of at most width columns, each
// prefixed by indent; a word longer than a line is cut.
func wrap(s, indent string, width int) []string {
	return hang(indent, s, width)
}

// hang writes first (a label) then s wrapped at spaces, later lines
// indented to first's width; nothing exceeds width columns.
func hang(first, s string, width int) []string {
	ind := utf8.RuneCountInString(first)
	room := max(width-ind, 10)
	var out []string
	cur, n := first, 0
	flush := func() {
		out = append(out, strings.TrimRight(cur, " "))
		cur, n = strings.Repeat(" ", ind), 0
	}
	for _, word := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\n' || r == '\t' }) {
		for utf8.RuneCountInString(word) > room { // a path or a long name: cut
			if n > 0 {
				flush()
			}
			r := []rune(word)
			cur += string(r[:room])
			word = string(r[room:])
			n = room
			flush()
		}
		wl := utf8.RuneCountInString(word)
		if n > 0 && n+1+wl > room {
			flush()
		}
		if n > 0 {
			cur += " "
			n++
		}
		cur += word
		n += wl
	}
	if n > 0 || len(out) == 0 {
		out = append(out, strings.TrimRight(cur, " "))
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
