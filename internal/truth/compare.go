package truth

import (
	"fmt"
	"math"
	"sort"

	"github.com/visor-dns/visor/report"
)

// Diff lists where visor's report r of the capture differs from tshark's
// counts; empty when they agree. The distinct question names, a sketch's
// estimate in visor, may be off by 2%.
func (c *Capture) Diff(r *report.Report) []string {
	var out []string
	eq := func(name string, got, want uint64) {
		if got != want {
			out = append(out, fmt.Sprintf("%s: visor %d, tshark %d", name, got, want))
		}
	}
	d, w := r.Summary.DNS, c.DNS
	eq("net.packets", r.Summary.Net.Packets, c.Packets)
	eq("messages", d.Messages, w.Messages)
	eq("queries", d.Queries, w.Queries)
	eq("responses", d.Responses, w.Responses)
	eq("udp", d.UDP, w.UDP)
	eq("tcp", d.TCP, w.TCP)
	eq("ipv4", d.IPv4, w.IPv4)
	eq("ipv6", d.IPv6, w.IPv6)
	eq("nodata", d.Nodata, w.Nodata)
	eq("xacts.total", d.Xacts.Total, w.Xacts.Total)
	out = append(out, MapDiff("rcodes", d.Rcodes, w.Rcodes)...)
	out = append(out, MapDiff("qtypes", d.Qtypes, w.Qtypes)...)
	if off := math.Abs(float64(d.Cardinality.QName) - float64(w.Cardinality.QName)); off > 0.02*float64(w.Cardinality.QName) {
		out = append(out, fmt.Sprintf("cardinality.qname %d, exact %d: off by more than 2%%", d.Cardinality.QName, w.Cardinality.QName))
	}
	return out
}

// Diff lists where visor's report r of the dnstap file differs from
// dnstap-read's counts; empty when they agree.
func (t *Tap) Diff(r *report.Report) []string {
	var out []string
	eq := func(name string, got, want uint64) {
		if got != want {
			out = append(out, fmt.Sprintf("%s: visor %d, dnstap-read %d", name, got, want))
		}
	}
	in, o := t.Directions()
	eq("net.packets", r.Summary.Net.Packets, t.Messages)
	eq("dns.messages", r.Summary.DNS.Messages, t.Messages)
	eq("dns.queries", r.Summary.DNS.Queries, t.Queries)
	eq("dns.responses", r.Summary.DNS.Responses, t.Responses)
	eq("net.in", r.Summary.Net.In, in)
	eq("net.out", r.Summary.Net.Out, o)
	if len(r.Inputs) != 1 || r.Inputs[0].Format != "dnstap" || r.Inputs[0].Packets != t.Messages ||
		r.Inputs[0].Identity != t.Identity || r.Inputs[0].Version != t.Version {
		out = append(out, fmt.Sprintf("inputs %+v, want format dnstap, %d packets, identity %q, version %q",
			r.Inputs, t.Messages, t.Identity, t.Version))
	}
	return out
}

// MapDiff lists the keys whose counts differ between got (visor's) and
// want (the truth's); a key absent from want must count 0 in got.
func MapDiff(name string, got, want map[string]uint64) []string {
	var out []string
	for k, w := range want {
		if got[k] != w {
			out = append(out, fmt.Sprintf("%s[%s]: visor %d, truth %d", name, k, got[k], w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok && g != 0 {
			out = append(out, fmt.Sprintf("%s[%s]: visor %d, truth has none", name, k, g))
		}
	}
	sort.Strings(out)
	return out
}

// ClientSideDiff compares the report of a pcap of a resolver's client side
// with that of the resolver's dnstap restricted to its CLIENT_* messages:
// the two must count the same DNS.
func ClientSideDiff(pcap, tap *report.Report) []string {
	pc, td := pcap.Summary.DNS, tap.Summary.DNS
	var out []string
	for _, c := range []struct {
		name string
		p, d uint64
	}{
		{"queries", pc.Queries, td.Queries}, {"responses", pc.Responses, td.Responses},
		{"udp", pc.UDP, td.UDP}, {"tcp", pc.TCP, td.TCP}, {"ipv4", pc.IPv4, td.IPv4}, {"ipv6", pc.IPv6, td.IPv6},
		{"nodata", pc.Nodata, td.Nodata}, {"xacts.in", pc.Xacts.Total, td.Xacts.In.Count},
		{"net.in (every message kept is CLIENT_*)", td.Queries + td.Responses, tap.Summary.Net.In},
	} {
		if c.p != c.d {
			out = append(out, fmt.Sprintf("%s: pcap %d, dnstap CLIENT_* %d", c.name, c.p, c.d))
		}
	}
	return append(out, append(MapDiff("rcodes", td.Rcodes, pc.Rcodes), MapDiff("qtypes", td.Qtypes, pc.Qtypes)...)...)
}
