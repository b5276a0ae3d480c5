package report

import (
	"strconv"
	"strings"
)

// depth writes the opcode, size, EDNS and truncation lines of the table
// (one block, after the rcode and qtype counts); lines without data are
// left out, and the block with them.
func (t *tableWriter) depth(d *DNS) {
	var ls [][2]string
	if len(d.Opcodes) > 0 && !(len(d.Opcodes) == 1 && d.Opcodes["QUERY"] > 0) {
		ls = append(ls, [2]string{"opcodes", t.countsLine(d.Opcodes, d.Queries)})
	}
	z := &d.Sizes
	var parts []string
	if d.Queries > 0 && z.QueryBytes.P50 > 0 {
		parts = append(parts, "queries p50 "+bytesLine(z.QueryBytes.P50)+" p99 "+bytesLine(z.QueryBytes.P99))
	}
	if d.Responses > 0 && z.ResponseBytes.P50 > 0 {
		parts = append(parts, "responses p50 "+bytesLine(z.ResponseBytes.P50)+" p99 "+bytesLine(z.ResponseBytes.P99))
	}
	if len(parts) > 0 {
		ls = append(ls, [2]string{"sizes", strings.Join(parts, " "+t.sym.dot+" ") + " (to 16 B)"})
	}
	e := &d.EDNSDetail
	if len(e.UDPSizes) > 0 {
		var n uint64
		for _, v := range e.UDPSizes {
			n += v
		}
		ls = append(ls, [2]string{"edns udp", t.countsLine(e.UDPSizes, n)})
	}
	var ev []string
	for _, k := range sortedKeys(e.Versions) {
		ev = append(ev, "v"+k+" "+count(e.Versions[k]))
	}
	if e.Cookies > 0 {
		ev = append(ev, "cookies "+count(e.Cookies))
	}
	for _, it := range countItems(e.ExtRcodes) {
		ev = append(ev, it.Name+" "+count(it.Estimate))
	}
	if len(ev) > 0 {
		ls = append(ls, [2]string{"edns", strings.Join(ev, " "+t.sym.dot+" ")})
	}
	if len(e.EDE) > 0 {
		ls = append(ls, [2]string{"ede", t.countsLine(e.EDE, 0)})
	}
	if tc := d.Truncation; tc.Responses > 0 {
		s := count(tc.Responses) + " truncated UDP responses, " + count(tc.TCPRetries) + " retried over TCP"
		if tc.Unchecked > 0 {
			s += " (" + count(tc.Unchecked) + " unchecked)"
		}
		ls = append(ls, [2]string{"tc", s})
	}
	if len(ls) == 0 {
		return
	}
	t.line("DNS DEPTH")
	for _, l := range ls {
		t.field(l[0], 10, l[1])
	}
	t.line("")
}

// countsLine renders counts largest first as "NAME n (share)", the share
// of total when total > 0.
func (t *tableWriter) countsLine(m map[string]uint64, total uint64) string {
	var out []string
	for _, it := range countItems(m) {
		s := it.Name + " " + count(it.Estimate)
		if total > 0 {
			s += " (" + share(it.Estimate, total) + ")"
		}
		out = append(out, strings.ReplaceAll(s, " ", nbsp))
	}
	return strings.Join(out, " "+t.sym.dot+" ")
}

func bytesLine(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + nbsp + "B" }
