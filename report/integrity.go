package report

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// IntegrityClass sorts the integrity reasons: what is wrong with the input
// (or the run), what is normal at the edges of any capture, and gauges
// that are values rather than counts.
type IntegrityClass int

const (
	// IntegrityProblem: something was not fully analysed because of the
	// input or a bound: --strict fails on it.
	IntegrityProblem IntegrityClass = iota
	// IntegrityEdge: normal at a capture's start and end, or for the kind
	// of input (dnstap written by several threads is not in time order).
	IntegrityEdge
	// IntegrityGauge: a value with a unit, not a count.
	IntegrityGauge
)

// integrityWords says each known reason in words: the unit counted and
// what happened to it. Unknown reasons are problems, printed by name.
var integrityWords = map[string]struct {
	class IntegrityClass
	words string
}{
	"dns_queries_unanswered_at_end": {IntegrityEdge, "queries still open when the capture ended"},
	"dns_responses_unmatched":       {IntegrityEdge, "responses whose query came before the capture (or was not seen)"},
	"tcp_segments_unsynced":         {IntegrityEdge, "TCP segments of streams that began before the capture"},
	"timestamps_backwards":          {IntegrityEdge, "packets earlier than the one before (counted in the open bucket)"},
	"timestamps_backwards_max_us":   {IntegrityGauge, "the furthest a timestamp went backwards"},

	"interrupted":                 {IntegrityProblem, "run stopped by a signal: the report covers what was read before it"},
	"input_corrupt":               {IntegrityProblem, "corrupt input records (the rest of that input was not read)"},
	"input_truncated":             {IntegrityProblem, "inputs that end in the middle of a record"},
	"input_skipped":               {IntegrityProblem, "inputs skipped (not a capture, or unreadable)"},
	"timestamp_out_of_range":      {IntegrityProblem, "packets with an impossible timestamp, skipped"},
	"dnstap_bad_frame":            {IntegrityProblem, "dnstap frames that are not valid dnstap, skipped"},
	"kernel_dropped":              {IntegrityProblem, "packets the kernel dropped before visor saw them"},
	"capture_error":               {IntegrityProblem, "live capture errors"},
	"snaplen_truncated":           {IntegrityProblem, "packets cut short by the snap length"},
	"tcp_gaps":                    {IntegrityProblem, "gaps in TCP streams (missing segments)"},
	"tcp_streams_evicted":         {IntegrityProblem, "TCP streams evicted at the stream bound"},
	"tcp_streams_expired_partial": {IntegrityProblem, "TCP streams idle with data held, dropped"},
	"tcp_segments_over_bound":     {IntegrityProblem, "TCP gaps skipped at the out-of-order bound"},
	"tcp_segments_truncated":      {IntegrityProblem, "TCP segments cut short"},
	"ip_fragments_incomplete":     {IntegrityProblem, "IP datagrams with fragments missing"},
	"ip_fragments_evicted":        {IntegrityProblem, "IP datagrams evicted at the fragment bound"},
	"ip_fragment_overlaps":        {IntegrityProblem, "overlapping IP fragments"},
	"ip_fragments_too_big":        {IntegrityProblem, "IP datagrams over 65,575 bytes, dropped"},
	"dns_malformed":               {IntegrityProblem, "malformed DNS messages"},
	"dns_not_dns":                 {IntegrityProblem, "packets on a DNS port that are not DNS"},
	"dns_open_queries_evicted":    {IntegrityProblem, "open queries evicted at the transaction bound"},
	"findings_zones_dropped":      {IntegrityProblem, "zones the findings' table had no room for"},
	"findings_addrs_dropped":      {IntegrityProblem, "addresses the findings' table had no room for"},
	"findings_prefixes_dropped":   {IntegrityProblem, "prefixes the findings' table had no room for"},
}

// ClassifyIntegrity returns the class of an integrity reason; a reason
// it does not know is a problem.
func ClassifyIntegrity(reason string) IntegrityClass {
	if w, ok := integrityWords[reason]; ok {
		return w.class
	}
	if strings.HasSuffix(reason, "_max_us") {
		return IntegrityGauge
	}
	return IntegrityProblem
}

// IntegrityProblems returns the reasons of m with a non-zero count that are
// problems with the input (not edges of a capture, not gauges), sorted.
func IntegrityProblems(m map[string]uint64) []string {
	var out []string
	for k, n := range m {
		if n > 0 && ClassifyIntegrity(k) == IntegrityProblem {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// DescribeIntegrity says one reason's count (or value) in words, with the
// reason's name: "12 packets cut short by the snap length (snaplen_truncated)".
func DescribeIntegrity(reason string, n uint64) string {
	w, ok := integrityWords[reason]
	if ClassifyIntegrity(reason) == IntegrityGauge {
		what := reason
		if ok {
			what = w.words
		}
		return fmt.Sprintf("%s: %s (%s)", what, duration(time.Duration(n)*time.Microsecond), reason)
	}
	if !ok {
		return fmt.Sprintf("%s %s", count(n), reason)
	}
	return fmt.Sprintf("%s %s (%s)", count(n), w.words, reason)
}

// integrity writes the integrity counts in words, problems apart from
// what is normal at a capture's edges.
func (t *tableWriter) integrity(m map[string]uint64) {
	var problems, edges []string
	for _, k := range sortedKeys(m) {
		if m[k] == 0 {
			continue
		}
		if ClassifyIntegrity(k) == IntegrityProblem {
			problems = append(problems, DescribeIntegrity(k, m[k]))
		} else {
			edges = append(edges, DescribeIntegrity(k, m[k]))
		}
	}
	t.line("INTEGRITY")
	if len(problems) == 0 {
		t.lines(hang("  problems  ", "none: every packet read was analysed", t.o.Width))
	}
	for i, p := range problems {
		label := "  problems  "
		if i > 0 {
			label = ""
		}
		t.lines(hang(pad(label, 12), p, t.o.Width))
	}
	for i, e := range edges {
		label := "  normal    "
		if i > 0 {
			label = ""
		}
		t.lines(hang(pad(label, 12), e, t.o.Width))
	}
	t.line("")
}
