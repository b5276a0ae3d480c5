package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// The post-mortem story both the HTML and the Markdown report tell: the
// report's buckets turned into per-point series (one point a bucket, or
// several buckets a point for long captures), findings with their times
// as numbers, and the tables. Built once, rendered twice.

// maxStoryPoints bounds the points of a chart: a longer run draws several
// buckets a point (a day of 1 m buckets is 1,440 points, one a bucket).
const maxStoryPoints = 2000

// PostMortemOptions shape the HTML and Markdown reports.
type PostMortemOptions struct {
	Top int // rows of every top-N list; <= 0: all
	// Command is the command line that made the report (os.Args), shown
	// as it was typed; empty: not shown.
	Command []string
	// Checks are check's assertion results, listed after the findings.
	Checks []CheckLine
}

// CheckLine is one assertion's outcome as the reports show it.
type CheckLine struct {
	Name   string
	Expr   string
	Passed bool
	Detail string // the values it saw, or the failing buckets, in words
}

type story struct {
	r        *Report
	o        PostMortemOptions
	bucketNS int64
	colNS    int64   // time a point covers: per buckets
	per      int     // buckets a point
	first    int64   // first bucket's start (Unix ns); 0 when no bucket
	end      int64   // last bucket's end
	times    []int64 // each point's start, only points with a bucket
	buckets  int
	capFirst int64
	capLast  int64
	charts   []storyChart
	findings []storyFinding
}

type storyChart struct {
	ID      string
	Title   string
	Unit    string // "/s", "B/s", "%", "ms", ""
	Note    string
	Stacked bool
	Series  []storySeries
}

type storySeries struct {
	Name string
	V    []float64 // one per point of story.times; NaN: no value
}

type storyFinding struct {
	Kind, Severity, Summary string
	Why                     string
	Confidence              string   // "87 %", or "" when the detector gave none
	Next                    []string // what to look at next
	Explains                []string // the findings this one's cause explains, in words
	Start, Peak, End        int64    // 0: unknown
	Target                  string
	Evidence                [][2]string // key, value in words
}

// storyPoint sums the buckets of one point.
type storyPoint struct {
	seconds            float64
	packets, bytes     uint64
	queries, responses uint64
	rcodes             map[string]uint64
	lat                [3][3]float64 // direction (in, out, unknown) x p50, p90, p99: the largest of the buckets
	latSeen            [3]bool
	names, sources     uint64 // the largest of the buckets
}

func newStory(r *Report, o PostMortemOptions) (*story, error) { return newStoryOn(r, o, nil) }

// newStoryOn is newStory drawn on ax's time axis when ax is not nil (a
// --split-by part under the whole): its points are ax's, without a value
// where the part has no bucket, so the charts line up with the whole's.
func newStoryOn(r *Report, o PostMortemOptions, ax *story) (*story, error) {
	s := &story{r: r, o: o, bucketNS: int64(r.BucketSeconds * 1e9)}
	s.capFirst, s.capLast = captureSpan(r)
	var last int64
	err := r.EachBucket(func(b *Bucket) error {
		st := int64(b.Start)
		if s.buckets == 0 || st < s.first {
			s.first = st
		}
		last = max(last, st)
		s.buckets++
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, f := range r.Findings {
		s.findings = append(s.findings, newStoryFinding(&f))
	}
	if s.buckets == 0 || s.bucketNS <= 0 {
		return s, nil
	}
	slots := int((last-s.first)/s.bucketNS) + 1
	s.per = max((slots+maxStoryPoints-1)/maxStoryPoints, 1)
	s.colNS = int64(s.per) * s.bucketNS
	s.end = last + s.bucketNS
	if ax != nil && ax.buckets > 0 {
		s.first, s.end, s.per, s.colNS = ax.first, ax.end, ax.per, ax.colNS
		slots = int((s.end - s.first) / s.bucketNS)
	}
	pts := make([]storyPoint, (slots+s.per-1)/s.per)
	seen := make([]bool, len(pts))
	rcodeTotal := map[string]uint64{}
	err = r.EachBucket(func(b *Bucket) error {
		st := int64(b.Start)
		i := max(min(int((st-s.first)/s.colNS), len(pts)-1), 0)
		p := &pts[i]
		seen[i] = true
		// A capture's first and last buckets are partly empty: their rates
		// are over the part the capture covers (as the table's timeline).
		lo, hi := st, st+s.bucketNS
		if s.capFirst != 0 && s.capLast > s.capFirst {
			lo, hi = max(lo, s.capFirst), min(hi, s.capLast)
		}
		p.seconds += max(float64(hi-lo)/1e9, 1)
		p.packets += b.Net.Packets
		p.bytes += b.Net.Bytes
		p.queries += b.DNS.Queries
		p.responses += b.DNS.Responses
		for k, n := range b.DNS.Rcodes {
			if p.rcodes == nil {
				p.rcodes = map[string]uint64{}
			}
			p.rcodes[k] += n
			rcodeTotal[k] += n
		}
		for d, x := range []*XactDir{&b.DNS.Xacts.In, &b.DNS.Xacts.Out, &b.DNS.Xacts.Unknown} {
			if x.Count == 0 {
				continue
			}
			p.latSeen[d] = true
			for q, v := range []float64{x.LatencyUS.P50, x.LatencyUS.P90, x.LatencyUS.P99} {
				p.lat[d][q] = max(p.lat[d][q], v/1e3)
			}
		}
		p.names = max(p.names, b.DNS.Cardinality.QName)
		p.sources = max(p.sources, b.Net.Cardinality.SrcIPs)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var kept []storyPoint
	for i := range pts {
		if seen[i] && ax == nil {
			s.times = append(s.times, s.first+int64(i)*s.colNS)
			kept = append(kept, pts[i])
		}
	}
	if ax != nil {
		s.times = ax.times
		for _, t := range ax.times {
			kept = append(kept, pts[max(min(int((t-s.first)/s.colNS), len(pts)-1), 0)])
		}
	}
	s.charts = storyCharts(kept, rcodeTotal, s.per)
	return s, nil
}

// storyCharts makes the charts' series from the points.
func storyCharts(pts []storyPoint, rcodeTotal map[string]uint64, per int) []storyChart {
	series := func(name string, f func(p *storyPoint) (float64, bool)) storySeries {
		v := make([]float64, len(pts))
		for i := range pts {
			if x, ok := f(&pts[i]); ok {
				v[i] = x
			} else {
				v[i] = math.NaN()
			}
		}
		return storySeries{Name: name, V: v}
	}
	perSec := func(name string, n func(p *storyPoint) uint64) storySeries {
		return series(name, func(p *storyPoint) (float64, bool) { return float64(n(p)) / p.seconds, p.seconds > 0 })
	}
	ofResponses := func(name string, rcode string) storySeries {
		return series(name, func(p *storyPoint) (float64, bool) {
			return 100 * float64(p.rcodes[rcode]) / float64(p.responses), p.responses > 0
		})
	}
	maxNote := ""
	if per > 1 {
		maxNote = "largest bucket of each point"
	}
	charts := []storyChart{
		{ID: "packets", Title: "Packets per second", Unit: "/s", Series: []storySeries{
			perSec("packets/s", func(p *storyPoint) uint64 { return p.packets })}},
		{ID: "bytes", Title: "Bytes per second", Unit: "B/s", Series: []storySeries{
			perSec("bytes/s", func(p *storyPoint) uint64 { return p.bytes })}},
	}
	// Responses by rcode, the 5 commonest on their own, stacked; queries as a line.
	rc := countItems(rcodeTotal)
	q := storyChart{ID: "dns", Title: "Queries and responses by rcode per second", Unit: "/s", Stacked: true,
		Note: "responses stacked by rcode; queries as a line"}
	for i, it := range rc {
		if i == 5 && len(rc) > 6 {
			rest := map[string]bool{}
			for _, o := range rc[5:] {
				rest[o.Name] = true
			}
			q.Series = append(q.Series, series("other rcodes", func(p *storyPoint) (float64, bool) {
				var n uint64
				for k, v := range p.rcodes {
					if rest[k] {
						n += v
					}
				}
				return float64(n) / p.seconds, p.seconds > 0
			}))
			break
		}
		name := it.Name
		q.Series = append(q.Series, perSec(name, func(p *storyPoint) uint64 { return p.rcodes[name] }))
	}
	q.Series = append(q.Series, perSec("queries", func(p *storyPoint) uint64 { return p.queries }))
	charts = append(charts, q,
		storyChart{ID: "failures", Title: "NXDOMAIN and SERVFAIL share of responses", Unit: "%", Series: []storySeries{
			ofResponses("NXDOMAIN", "NXDOMAIN"), ofResponses("SERVFAIL", "SERVFAIL")}})
	for d, dir := range []string{"in", "out", "unknown"} {
		any := false
		for i := range pts {
			any = any || pts[i].latSeen[d]
		}
		if !any {
			continue
		}
		c := storyChart{ID: "latency-" + dir, Title: "Transaction latency, direction " + dir, Unit: "ms", Note: maxNote}
		for qi, qn := range []string{"p50", "p90", "p99"} {
			c.Series = append(c.Series, series(qn, func(p *storyPoint) (float64, bool) { return p.lat[d][qi], p.latSeen[d] }))
		}
		charts = append(charts, c)
	}
	charts = append(charts, storyChart{ID: "distinct", Title: "Distinct query names and source addresses per bucket", Note: maxNote,
		Series: []storySeries{
			series("query names", func(p *storyPoint) (float64, bool) { return float64(p.names), p.seconds > 0 }),
			series("source addresses", func(p *storyPoint) (float64, bool) { return float64(p.sources), p.seconds > 0 }),
		}})
	return charts
}

// findingKeys are the evidence fields that name what a finding is about.
type findingKeys struct {
	Zone   string `json:"zone"`
	Target string `json:"target"`
}

// evidenceFields returns a finding's evidence as its JSON object's fields,
// whatever its Go type (a map, or a typed struct).
func evidenceFields(ev any) (map[string]json.RawMessage, error) {
	j, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(j))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, nil // not an object: nothing to list
	}
	return m, nil
}

// FindingTarget returns what a finding is about: its evidence's zone, or
// its target (an address), or "".
func FindingTarget(f *Finding) string {
	k := findingKeysOf(f)
	if k.Zone != "" {
		return k.Zone
	}
	return k.Target
}

func findingKeysOf(f *Finding) findingKeys {
	var k findingKeys
	if j, err := json.Marshal(f.Evidence); err == nil {
		json.Unmarshal(j, &k) // not an object: no keys
	}
	return k
}

func newStoryFinding(f *Finding) storyFinding {
	sf := storyFinding{Kind: f.Kind, Severity: f.Severity, Summary: f.Summary, Target: FindingTarget(f), Why: f.Why, Next: f.Next}
	if f.Confidence > 0 {
		sf.Confidence = spaced(pct(f.Confidence))
	}
	for _, e := range f.Explains {
		w := fmt.Sprintf("%s (%s)", e.Kind, count(e.Count))
		if e.Key != "" {
			w = fmt.Sprintf("%s %s (%s)", e.Kind, e.Key, count(e.Count))
		}
		sf.Explains = append(sf.Explains, w)
	}
	sf.Start, sf.Peak, sf.End = int64(f.Start), int64(f.Peak), int64(f.End)
	m, _ := evidenceFields(f.Evidence)
	for _, key := range sortedKeys(m) {
		sf.Evidence = append(sf.Evidence, [2]string{key, strings.ReplaceAll(evidenceValue(key, m[key]), nbsp, " ")})
	}
	return sf
}

// clockOf renders a capture time for the reports: the date only when
// the run spans more than a day or asked.
func clockOf(ns int64, withDate bool) string {
	t := time.Unix(0, ns).UTC()
	if withDate {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format("15:04:05")
}

// multiDay reports whether the story's span crosses a day boundary.
func (s *story) multiDay() bool {
	a, b := s.capFirst, s.capLast
	if a == 0 {
		a, b = s.first, s.end
	}
	return time.Unix(0, a).UTC().Format("2006-01-02") != time.Unix(0, b).UTC().Format("2006-01-02")
}

// resolution says what a point of the charts covers.
func (s *story) resolution() string {
	switch {
	case s.buckets == 0:
		return "no buckets"
	case s.per > 1:
		return fmt.Sprintf("%s a point (%d buckets of %s)", spaced(duration(time.Duration(s.colNS))), s.per, spaced(duration(time.Duration(s.bucketNS))))
	}
	return spaced(duration(time.Duration(s.bucketNS))) + " a point (one bucket)"
}

// spaced turns the table's non-breaking spaces into plain ones.
func spaced(s string) string { return strings.ReplaceAll(s, nbsp, " ") }

// integrityLines are the integrity counts in words: problems, then what is
// normal at a capture's edges.
func integrityLines(m map[string]uint64) (problems, normal []string) {
	for _, k := range sortedKeys(m) {
		if m[k] == 0 {
			continue
		}
		w := spaced(DescribeIntegrity(k, m[k]))
		if ClassifyIntegrity(k) == IntegrityProblem {
			problems = append(problems, w)
		} else {
			normal = append(normal, w)
		}
	}
	return problems, normal
}

// storyTop is one of the report's top lists.
type storyTop struct {
	Title string
	Of    string // what is counted
	Items []TopItem
}

func (s *story) tops() []storyTop {
	d, n := &s.r.Summary.DNS.Top, &s.r.Summary.Net.Top
	all := []storyTop{
		{"Query names", "messages", d.QName}, {"Last two labels (qname2)", "messages", d.QName2},
		{"NXDOMAIN names", "responses", d.NXDomain}, {"SERVFAIL names", "responses", d.Servfail},
		{"REFUSED names", "responses", d.Refused}, {"NODATA names", "responses", d.Nodata},
		{"Clients", "queries", d.Clients}, {"Slow names", "transactions", d.Slow},
		{"Source addresses", "packets", n.SrcIPs}, {"Destination addresses", "packets", n.DstIPs},
		{"Remote locations", "packets", n.Geo}, {"Remote ASes", "packets", n.ASN},
		{"Client Subnet prefixes", "queries", d.ECS}, {"Client Subnet locations", "queries", d.ECSGeo},
		{"Client Subnet ASes", "queries", d.ECSASN},
	}
	var out []storyTop
	for i, t := range all {
		if len(t.Items) == 0 && i >= 8 { // the DNS lists are shown even when empty
			continue
		}
		if s.o.Top > 0 && len(t.Items) > s.o.Top {
			t.Items = t.Items[:s.o.Top]
		}
		out = append(out, t)
	}
	return out
}

// commandLine quotes the arguments as a POSIX shell would need them.
func commandLine(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
		}) < 0 {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// sortedRcodes and sortedQtypes are the summary's breakdowns, largest first.
func (s *story) breakdowns() (rcodes, qtypes []TopItem) {
	return countItems(s.r.Summary.DNS.Rcodes), countItems(s.r.Summary.DNS.Qtypes)
}

// storyInput is one input as both reports list it, in words.
type storyInput struct {
	Path, Format, Packets, Bytes, First, Last, Links, SHA256 string
}

func (s *story) inputs() []storyInput {
	out := make([]storyInput, 0, len(s.r.Inputs))
	for _, in := range s.r.Inputs {
		var links []string
		for _, k := range sortedKeys(in.LinkTypes) {
			links = append(links, k+" "+count(in.LinkTypes[k]))
		}
		at := func(ns int64) string {
			if ns == 0 {
				return "-"
			}
			return time.Unix(0, ns).UTC().Format("2006-01-02 15:04:05.000000")
		}
		format := orDash(in.Format)
		if in.Identity != "" || in.Version != "" {
			format += " (" + strings.TrimSpace(in.Identity+" "+in.Version) + ")"
		}
		out = append(out, storyInput{Path: in.Path, Format: format, Packets: count(in.Packets), Bytes: spaced(bytesIEC(in.Bytes)),
			First: at(int64(in.FirstTS)), Last: at(int64(in.LastTS)), Links: strings.Join(links, ", "), SHA256: orDash(in.SHA256)})
	}
	return out
}

// checksPassed counts the assertions that held.
func (s *story) checksPassed() int {
	n := 0
	for _, c := range s.o.Checks {
		if c.Passed {
			n++
		}
	}
	return n
}

// title is the assertion as written: "name: expr", or the expression.
func (c *CheckLine) title() string {
	if c.Expr != "" && c.Expr != c.Name {
		return c.Name + ": " + c.Expr
	}
	return c.Name
}

// topCount is a top entry's count: exact, or "≈N ±E" for an estimate.
func topCount(it TopItem) string {
	if it.Error > 0 {
		return "≈" + count(it.Estimate) + " ±" + count(it.Error)
	}
	return count(it.Estimate)
}
