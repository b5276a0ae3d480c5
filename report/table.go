package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// nameWidth bounds a name column so two top-N lists fit side by side in
// about 115 columns; longer names keep their tail, where the zone is.
const nameWidth = 40

// WriteTable writes r to w as a one-page incident summary for a terminal or
// a file: the inputs, findings, integrity, a net and DNS overview, then the
// top-N lists in pairs, each limited to top rows (top <= 0: no limit).
// Tables are plain ASCII without colours and the output is deterministic.
func WriteTable(w io.Writer, r *Report, top int) error {
	if r == nil {
		return errors.New("report: nil report")
	}
	// Rendered whole, then written once, so a failing writer gives one error.
	var b bytes.Buffer
	t := tableWriter{b: &b, top: top}
	t.header(r)
	t.findings(r.Findings)
	t.integrity(r.Integrity)
	t.overview(&r.Summary)
	t.latency(&r.Summary.DNS.Xacts)
	t.counts(&r.Summary.DNS)
	t.tops(&r.Summary)
	if t.err != nil {
		return t.err
	}
	_, err := w.Write(b.Bytes())
	return err
}

type tableWriter struct {
	b   *bytes.Buffer
	top int
	err error
}

func (t *tableWriter) printf(format string, args ...any) {
	fmt.Fprintf(t.b, format, args...)
}

func (t *tableWriter) header(r *Report) {
	name := r.Tool.Name
	if name == "" {
		name = "visor"
	}
	t.printf("%s %s report (%s), buckets of %ss\n", name, r.Tool.Version, r.Schema, fmtFloat(r.BucketSeconds, -1))
	if len(r.Inputs) == 0 {
		t.printf("input:    none\n")
	}
	var first, last time.Time
	for _, in := range r.Inputs {
		t.printf("input:    %s (%s), %d packets, %s\n", in.Path, orDash(in.Format), in.Packets, fmtBytes(in.Bytes))
		t.printf("          %s\n", span(in.FirstTS, in.LastTS))
		if f, err := time.Parse(time.RFC3339Nano, in.FirstTS); err == nil && (first.IsZero() || f.Before(first)) {
			first = f
		}
		if l, err := time.Parse(time.RFC3339Nano, in.LastTS); err == nil && l.After(last) {
			last = l
		}
	}
	if len(r.Inputs) > 1 && !first.IsZero() && !last.IsZero() {
		t.printf("capture:  %s\n", span(Time(first.UnixNano()), Time(last.UnixNano())))
	}
	t.printf("\n")
}

// span renders "first -> last (duration)" in capture time.
func span(first, last string) string {
	s := orDash(first) + " -> " + orDash(last)
	f, err1 := time.Parse(time.RFC3339Nano, first)
	l, err2 := time.Parse(time.RFC3339Nano, last)
	if err1 == nil && err2 == nil {
		s += " (" + l.Sub(f).Round(time.Millisecond).String() + ")"
	}
	return s
}

func (t *tableWriter) findings(fs []Finding) {
	if len(fs) == 0 {
		return
	}
	t.printf("FINDINGS (%d)\n", len(fs))
	const indent = "    "
	for _, f := range fs {
		t.printf("  %s %s\n", strings.ToUpper(orDash(f.Severity)), orDash(f.Kind))
		when := span(f.Start, f.End)
		if p, err := time.Parse(time.RFC3339Nano, f.Peak); err == nil {
			if s, err := time.Parse(time.RFC3339Nano, f.Start); err == nil {
				when += ", peak at +" + p.Sub(s).Round(time.Millisecond).String()
			}
		}
		t.printf("%s%s\n", indent, when)
		t.b.WriteString(wrap(f.Summary, indent))
		t.b.WriteString(wrap("evidence: "+evidence(f.Evidence), indent))
	}
	t.printf("\n")
}

// wrap breaks s into lines of at most lineWidth columns at spaces, each
// line prefixed by indent; a single longer word stays whole.
func wrap(s, indent string) string {
	const lineWidth = 110
	var b strings.Builder
	n := 0
	for _, word := range strings.Fields(s) {
		if n > 0 && n+1+len(word) > lineWidth {
			b.WriteString("\n")
			n = 0
		}
		if n == 0 {
			b.WriteString(indent)
			n = len(indent)
		} else {
			b.WriteString(" ")
			n++
		}
		b.WriteString(word)
		n += len(word)
	}
	if n > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

// evidence renders k=v pairs sorted by key; non-string values as JSON.
func evidence(m map[string]any) string {
	keys := sortedKeys(m)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		var v string
		switch x := m[k].(type) {
		case string:
			v = x
		default:
			j, err := json.Marshal(x)
			if err != nil {
				j = []byte(fmt.Sprint(x))
			}
			v = string(j)
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, " ")
}

func (t *tableWriter) integrity(m map[string]uint64) {
	var parts []string
	for _, k := range sortedKeys(m) {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
		}
	}
	if len(parts) == 0 {
		t.printf("integrity: ok\n\n")
		return
	}
	t.printf("integrity: %s\n\n", strings.Join(parts, ", "))
}

func (t *tableWriter) overview(s *Section) {
	n, d := &s.Net, &s.DNS
	pps := n.Rates.PPS
	net := [][2]string{
		{"packets", u(n.Packets)},
		{"bytes", fmtBytes(n.Bytes)},
		{"ipv4 / ipv6 / non-ip", slash(n.IPv4, n.IPv6, n.NonIP)},
		{"udp / tcp / other", slash(n.UDP, n.TCP, n.OtherL4)},
		{"fragments", u(n.Fragments)},
		{"in / out / unknown", slash(n.In, n.Out, n.UnknownDir)},
		{"distinct src / dst", slash(n.Cardinality.SrcIPs, n.Cardinality.DstIPs)},
		{"pps p50 / p90 / p99", fmtFloat(pps.P50, 1) + " / " + fmtFloat(pps.P90, 1) + " / " + fmtFloat(pps.P99, 1)},
	}
	dns := [][2]string{
		{"messages", u(d.Messages)},
		{"queries / responses", slash(d.Queries, d.Responses)},
		{"udp / tcp", slash(d.UDP, d.TCP)},
		{"ipv4 / ipv6", slash(d.IPv4, d.IPv6)},
		{"nodata / malformed", slash(d.Nodata, d.Malformed)},
		{"edns / do / ecs / tc", slash(d.EDNS, d.DO, d.ECS, d.TC)},
		{"distinct qnames", u(d.Cardinality.QName)},
		{"xacts / timed out", slash(d.Xacts.Total, d.Xacts.TimedOut)},
	}
	rows := make([][]string, max(len(net), len(dns)))
	for i := range rows {
		rows[i] = make([]string, 4)
		if i < len(net) {
			rows[i][0], rows[i][1] = net[i][0], net[i][1]
		}
		if i < len(dns) {
			rows[i][2], rows[i][3] = dns[i][0], dns[i][1]
		}
	}
	t.table([]string{"NET", "", "DNS", ""}, []tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignLeft, tw.AlignRight}, rows)
}

func (t *tableWriter) latency(x *Xacts) {
	dirs := []struct {
		name string
		d    *XactDir
	}{{"in", &x.In}, {"out", &x.Out}, {"unknown", &x.Unknown}}
	rows := make([][]string, 0, len(dirs))
	for _, dir := range dirs {
		row := []string{dir.name, u(dir.d.Count), u(dir.d.TimedOut), "-", "-", "-"}
		if dir.d.Count > 0 {
			q := dir.d.LatencyUS
			row[3], row[4], row[5] = ms(q.P50), ms(q.P90), ms(q.P99)
		}
		rows = append(rows, row)
	}
	right := tw.AlignRight
	t.table([]string{"XACTS", "COUNT", "TIMED OUT", "P50 MS", "P90 MS", "P99 MS"},
		[]tw.Align{tw.AlignLeft, right, right, right, right, right}, rows)
}

func (t *tableWriter) counts(d *DNS) {
	t.pair("RCODE", countItems(d.Rcodes), "QTYPE", countItems(d.Qtypes), true)
}

func (t *tableWriter) tops(s *Section) {
	d := &s.DNS.Top
	t.pair("TOP QNAMES", d.QName, "TOP QNAME2", d.QName2, false)
	t.pair("TOP NXDOMAIN", d.NXDomain, "TOP SERVFAIL", d.Servfail, false)
	t.pair("TOP REFUSED", d.Refused, "TOP NODATA", d.Nodata, false)
	t.pair("TOP CLIENTS", d.Clients, "TOP SLOW", d.Slow, false)
	t.pair("TOP SRC IPS", s.Net.Top.SrcIPs, "TOP DST IPS", s.Net.Top.DstIPs, false)
	// Present with --geoip-city / --geoip-asn, or Client Subnet traffic.
	t.pair("TOP GEO", s.Net.Top.Geo, "TOP ASN", s.Net.Top.ASN, false)
	t.one("TOP ECS PREFIXES", d.ECS)
	t.pair("TOP ECS GEO", d.ECSGeo, "TOP ECS ASN", d.ECSASN, false)
}

// one renders a single name/count list, left out when empty.
func (t *tableWriter) one(name string, l []TopItem) {
	if len(l) == 0 {
		return
	}
	var rows [][]string
	for _, r := range t.limit(l, false) {
		rows = append(rows, []string{r[0], r[1]})
	}
	t.table([]string{name, "COUNT"}, []tw.Align{tw.AlignLeft, tw.AlignRight}, rows)
}

// pair renders two name/count lists side by side, limited to t.top rows;
// with more, the last row sums the rest when sumRest (for exact counts).
// A pair with both lists empty is left out.
func (t *tableWriter) pair(lname string, l []TopItem, rname string, r []TopItem, sumRest bool) {
	if len(l) == 0 && len(r) == 0 {
		return
	}
	lr, rr := t.limit(l, sumRest), t.limit(r, sumRest)
	rows := make([][]string, max(len(lr), len(rr)))
	for i := range rows {
		rows[i] = make([]string, 4)
		if i < len(lr) {
			rows[i][0], rows[i][1] = lr[i][0], lr[i][1]
		}
		if i < len(rr) {
			rows[i][2], rows[i][3] = rr[i][0], rr[i][1]
		}
	}
	t.table([]string{lname, "COUNT", rname, "COUNT"}, []tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignLeft, tw.AlignRight}, rows)
}

func (t *tableWriter) limit(l []TopItem, sumRest bool) [][2]string {
	if len(l) == 0 {
		return [][2]string{{"-", ""}}
	}
	n := len(l)
	if t.top > 0 && n > t.top {
		n = t.top
	}
	rows := make([][2]string, 0, n+1)
	for _, it := range l[:n] {
		rows = append(rows, [2]string{shorten(it.Name), u(it.Estimate)})
	}
	if sumRest && n < len(l) {
		var rest uint64
		for _, it := range l[n:] {
			rest += it.Estimate
		}
		rows = append(rows, [2]string{fmt.Sprintf("(%d more)", len(l)-n), u(rest)})
	}
	return rows
}

// table renders one ASCII table into the buffer, followed by a blank line.
func (t *tableWriter) table(header []string, align []tw.Align, rows [][]string) {
	if t.err != nil {
		return
	}
	tb := tablewriter.NewTable(t.b,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithAlignment(align),
	)
	tb.Header(header)
	if err := tb.Bulk(rows); err != nil {
		t.err = fmt.Errorf("report: table: %w", err)
		return
	}
	if err := tb.Render(); err != nil {
		t.err = fmt.Errorf("report: table: %w", err)
		return
	}
	t.printf("\n")
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

// shorten keeps a name within nameWidth, keeping its tail.
func shorten(s string) string {
	if s == "" {
		return `""`
	}
	r := []rune(s)
	if len(r) <= nameWidth {
		return s
	}
	return "..." + string(r[len(r)-(nameWidth-3):])
}

func u(n uint64) string { return strconv.FormatUint(n, 10) }

func slash(ns ...uint64) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = u(n)
	}
	return strings.Join(parts, " / ")
}

// ms renders microseconds as milliseconds with three decimals.
func ms(us float64) string { return fmtFloat(us/1e3, 3) }

func fmtFloat(f float64, prec int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "-"
	}
	return strconv.FormatFloat(f, 'f', prec, 64)
}

func fmtBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return u(n) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%d B (%.1f %ciB)", n, float64(n)/float64(div), "KMGTPE"[exp])
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
