// Package diff compares two visor reports, BEFORE and AFTER: exact
// counters with their deltas, ratios and per-second rates; rcode and qtype
// shares; estimates (cardinalities, packet-rate and latency quantiles)
// with the sketches' relative error; the names, zones and clients of the
// top lists that appeared, vanished or changed most, judged against each
// list's error bounds so that no change is reported inside the error; and
// the findings present on one side only. A Diff is written as a table
// (80 columns), JSON (visor.diff.v1.schema.json) or Markdown.
package diff

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"

	"github.com/visor-dns/visor/report"
)

// Schema names the JSON diff's version.
const Schema = "visor.diff/v1"

// The sketches' error, as package sketch states it.
const (
	// QuantileRelError is DDSketch's relative accuracy (sketch.Quantiles).
	QuantileRelError = 0.01
	// CardinalityRelError is three standard errors of HyperLogLog at
	// precision 14 (1.04/√16384 ≈ 0.81 %).
	CardinalityRelError = 0.025
	// CardinalityExact is the count up to which the cardinality sketches
	// of the report (sketch.NewDenseCardinality) count exactly.
	CardinalityExact = 1024
)

// Side is one of the two reports and what the user named it by.
type Side struct {
	// Label is what the user gave: a capture, a directory, a summary or a
	// JSON report.
	Label string
	// Kind is "capture", "summary" or "report".
	Kind   string
	Report *report.Report
	// Top is the --top the report's lists were cut at: a list shorter than
	// Top holds every name its sketch tracked, so a name it lacks had a
	// count of 0; a full list bounds a name it lacks by its last estimate.
	// 0 when unknown (a JSON report): Top is then the longest list's
	// length, which it is at least, so that a shorter list is complete.
	Top int
}

// Options tune Compute.
type Options struct {
	// Limit is how many names each list's appeared, vanished and changed
	// keep (the largest changes); 0 keeps 10.
	Limit int
}

// Diff is the comparison of two reports.
type Diff struct {
	Schema    string      `json:"schema"`
	Tool      report.Tool `json:"tool"`
	Before    SideInfo    `json:"before"`
	After     SideInfo    `json:"after"`
	Counters  []Counter   `json:"counters"`
	Rcodes    []Share     `json:"rcodes"`
	Qtypes    []Share     `json:"qtypes"`
	Estimates []Estimate  `json:"estimates"`
	Tops      []TopDiff   `json:"tops"`
	Findings  Findings    `json:"findings"`
}

// SideInfo describes one side of the diff.
type SideInfo struct {
	Label         string         `json:"label"`
	Kind          string         `json:"kind"`
	Inputs        []report.Input `json:"inputs"`
	Seconds       float64        `json:"seconds"` // capture time from the first packet to the last
	BucketSeconds float64        `json:"bucket_seconds"`
	// Top is the length the side's top lists were cut at (given or inferred).
	Top       int               `json:"top"`
	Integrity map[string]uint64 `json:"integrity"`
}

// Counter is an exact count on both sides. Ratio is After/Before (absent
// when Before is 0); the rates are per second of capture time (0 when a
// side spans no time).
type Counter struct {
	Name       string   `json:"name"`
	Before     uint64   `json:"before"`
	After      uint64   `json:"after"`
	Delta      int64    `json:"delta"`
	Ratio      *float64 `json:"ratio,omitempty"`
	BeforeRate float64  `json:"before_rate"`
	AfterRate  float64  `json:"after_rate"`
	RateRatio  *float64 `json:"rate_ratio,omitempty"`
}

// Share is an rcode's part of the responses or a qtype's part of the
// queries, as fractions; ShareDelta is After's minus Before's.
type Share struct {
	Name        string  `json:"name"`
	Before      uint64  `json:"before"`
	After       uint64  `json:"after"`
	BeforeShare float64 `json:"before_share"`
	AfterShare  float64 `json:"after_share"`
	ShareDelta  float64 `json:"share_delta"`
}

// Estimate is a sketch's estimate on both sides. Each side's true value is
// within RelError of it (Abs when it is exact: RelError 0); Changed says
// that the two intervals do not overlap.
type Estimate struct {
	Name     string   `json:"name"`
	Before   float64  `json:"before"`
	After    float64  `json:"after"`
	Delta    float64  `json:"delta"`
	Ratio    *float64 `json:"ratio,omitempty"`
	RelError float64  `json:"rel_error"`
	Changed  bool     `json:"changed"`
}

// TopDiff compares one top list ("dns.top.qname"). A name is Appeared when
// AFTER lists it and BEFORE does not, and its least possible count after
// exceeds the most it can have had before; Vanished the reverse; Changed
// when both list it and their bounds do not overlap. Names whose change
// stays within the bounds are only counted, in WithinError.
type TopDiff struct {
	List        string       `json:"list"`
	Appeared    []NameChange `json:"appeared"`
	Vanished    []NameChange `json:"vanished"`
	Changed     []NameChange `json:"changed"`
	WithinError int          `json:"within_error"`
	// More counts the significant changes past Options.Limit.
	More int `json:"more"`
}

// NameChange is one name of a top list on both sides.
type NameChange struct {
	Name   string `json:"name"`
	Before Bounds `json:"before"`
	After  Bounds `json:"after"`
	// Delta is After's estimate minus Before's (an unlisted side counting
	// 0); MinDelta is the smallest change the bounds allow, never 0 for a
	// reported name.
	Delta    int64 `json:"delta"`
	MinDelta int64 `json:"min_delta"`
}

// Bounds hold a name's true count on one side: within [Low, High]. A
// listed name has High = its estimate and Low = estimate − error; an
// unlisted one has Low 0 and High the most a name the list lacks can have.
type Bounds struct {
	Listed bool   `json:"listed"`
	Low    uint64 `json:"low"`
	High   uint64 `json:"high"`
}

// Findings sorts the findings by whether each side has them. A finding is
// its kind and subject (zone, target, source or prefix).
type Findings struct {
	OnlyBefore []FindingRef `json:"only_before"`
	OnlyAfter  []FindingRef `json:"only_after"`
	Both       []FindingRef `json:"both"`
}

// FindingRef names a finding; for one on both sides, Severity is AFTER's
// and BeforeSeverity BEFORE's.
type FindingRef struct {
	Kind           string `json:"kind"`
	Subject        string `json:"subject"`
	Severity       string `json:"severity"`
	BeforeSeverity string `json:"before_severity,omitempty"`
	Summary        string `json:"summary"`
}

// Compute compares before and after's whole-run summaries and findings.
func Compute(before, after Side, o Options) *Diff {
	if o.Limit < 1 {
		o.Limit = 10
	}
	b, a := before.Report, after.Report
	d := &Diff{Schema: Schema, Tool: a.Tool, Before: sideInfo(before), After: sideInfo(after)}
	d.Before.Top, d.After.Top = sideTop(before), sideTop(after)
	d.counters(&b.Summary, &a.Summary)
	d.Rcodes = shares(b.Summary.DNS.Rcodes, a.Summary.DNS.Rcodes)
	d.Qtypes = shares(b.Summary.DNS.Qtypes, a.Summary.DNS.Qtypes)
	d.estimates(&b.Summary, &a.Summary)
	d.tops(&b.Summary, &a.Summary, d.Before.Top, d.After.Top, o.Limit)
	d.Findings = findings(b.Findings, a.Findings)
	return d
}

func sideInfo(s Side) SideInfo {
	r := s.Report
	info := SideInfo{Label: s.Label, Kind: s.Kind, Inputs: make([]report.Input, len(r.Inputs)),
		BucketSeconds: finite(r.BucketSeconds), Integrity: r.Integrity, Seconds: span(r.Inputs)}
	for i, in := range r.Inputs {
		if in.LinkTypes == nil {
			in.LinkTypes = map[string]uint64{}
		}
		info.Inputs[i] = in
	}
	if info.Integrity == nil {
		info.Integrity = map[string]uint64{}
	}
	return info
}

// span is the capture time from the inputs' first packet to their last,
// in seconds.
func span(ins []report.Input) float64 {
	var first, last int64
	for _, in := range ins {
		if in.Packets == 0 {
			continue
		}
		f, l := int64(in.FirstTS), int64(in.LastTS)
		if first == 0 || f < first {
			first = f
		}
		last = max(last, l)
	}
	if last <= first {
		return 0
	}
	return float64(last-first) / 1e9
}

func ratio(before, after float64) *float64 {
	if before == 0 {
		return nil
	}
	r := after / before
	return &r
}

// counter is one exact count, by its JSON path under summary.
type counter struct {
	name string
	get  func(*report.Section) uint64
}

var counterList = []counter{
	{"net.packets", func(s *report.Section) uint64 { return s.Net.Packets }},
	{"net.bytes", func(s *report.Section) uint64 { return s.Net.Bytes }},
	{"net.ipv4", func(s *report.Section) uint64 { return s.Net.IPv4 }},
	{"net.ipv6", func(s *report.Section) uint64 { return s.Net.IPv6 }},
	{"net.non_ip", func(s *report.Section) uint64 { return s.Net.NonIP }},
	{"net.udp", func(s *report.Section) uint64 { return s.Net.UDP }},
	{"net.tcp", func(s *report.Section) uint64 { return s.Net.TCP }},
	{"net.other_l4", func(s *report.Section) uint64 { return s.Net.OtherL4 }},
	{"net.fragments", func(s *report.Section) uint64 { return s.Net.Fragments }},
	{"net.in", func(s *report.Section) uint64 { return s.Net.In }},
	{"net.out", func(s *report.Section) uint64 { return s.Net.Out }},
	{"net.unknown_dir", func(s *report.Section) uint64 { return s.Net.UnknownDir }},
	{"dns.messages", func(s *report.Section) uint64 { return s.DNS.Messages }},
	{"dns.queries", func(s *report.Section) uint64 { return s.DNS.Queries }},
	{"dns.responses", func(s *report.Section) uint64 { return s.DNS.Responses }},
	{"dns.udp", func(s *report.Section) uint64 { return s.DNS.UDP }},
	{"dns.tcp", func(s *report.Section) uint64 { return s.DNS.TCP }},
	{"dns.ipv4", func(s *report.Section) uint64 { return s.DNS.IPv4 }},
	{"dns.ipv6", func(s *report.Section) uint64 { return s.DNS.IPv6 }},
	{"dns.malformed", func(s *report.Section) uint64 { return s.DNS.Malformed }},
	{"dns.nodata", func(s *report.Section) uint64 { return s.DNS.Nodata }},
	{"dns.edns", func(s *report.Section) uint64 { return s.DNS.EDNS }},
	{"dns.do", func(s *report.Section) uint64 { return s.DNS.DO }},
	{"dns.ecs", func(s *report.Section) uint64 { return s.DNS.ECS }},
	{"dns.tc", func(s *report.Section) uint64 { return s.DNS.TC }},
	{"dns.dot", func(s *report.Section) uint64 { return s.DNS.DoT }},
	{"dns.doh", func(s *report.Section) uint64 { return s.DNS.DoH }},
	{"dns.doq", func(s *report.Section) uint64 { return s.DNS.DoQ }},
	{"dns.xacts.total", func(s *report.Section) uint64 { return s.DNS.Xacts.Total }},
	{"dns.xacts.timed_out", func(s *report.Section) uint64 { return s.DNS.Xacts.TimedOut }},
	{"dns.xacts.in.count", func(s *report.Section) uint64 { return s.DNS.Xacts.In.Count }},
	{"dns.xacts.out.count", func(s *report.Section) uint64 { return s.DNS.Xacts.Out.Count }},
	{"dns.xacts.unknown.count", func(s *report.Section) uint64 { return s.DNS.Xacts.Unknown.Count }},
}

// counters lists every counter either side has counted (all of them when
// both are empty would say nothing: then none).
func (d *Diff) counters(b, a *report.Section) {
	d.Counters = []Counter{}
	for _, c := range counterList {
		bv, av := c.get(b), c.get(a)
		if bv == 0 && av == 0 {
			continue
		}
		x := Counter{Name: c.name, Before: bv, After: av, Delta: int64(av) - int64(bv),
			Ratio: ratio(float64(bv), float64(av))}
		if d.Before.Seconds > 0 {
			x.BeforeRate = float64(bv) / d.Before.Seconds
		}
		if d.After.Seconds > 0 {
			x.AfterRate = float64(av) / d.After.Seconds
		}
		if d.Before.Seconds > 0 && d.After.Seconds > 0 {
			x.RateRatio = ratio(x.BeforeRate, x.AfterRate)
		}
		d.Counters = append(d.Counters, x)
	}
}

// shares lists every key of either map by its part of its side's total,
// the largest after first. The total is the map's sum: the responses for
// rcodes, the queries for qtypes (they count exactly those).
func shares(b, a map[string]uint64) []Share {
	out := []Share{}
	var bTotal, aTotal float64
	for _, n := range b {
		bTotal += float64(n)
	}
	for _, n := range a {
		aTotal += float64(n)
	}
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	for k := range keys {
		s := Share{Name: k, Before: b[k], After: a[k]}
		if bTotal > 0 {
			s.BeforeShare = float64(s.Before) / bTotal
		}
		if aTotal > 0 {
			s.AfterShare = float64(s.After) / aTotal
		}
		s.ShareDelta = s.AfterShare - s.BeforeShare
		out = append(out, s)
	}
	slices.SortFunc(out, func(x, y Share) int {
		return cmp.Or(cmp.Compare(y.After, x.After), cmp.Compare(y.Before, x.Before), cmp.Compare(x.Name, y.Name))
	})
	return out
}

func (d *Diff) estimates(b, a *report.Section) {
	d.Estimates = []Estimate{}
	card := func(name string, bv, av uint64) {
		if bv == 0 && av == 0 {
			return
		}
		e := estimate(name, float64(bv), float64(av), 0)
		if max(bv, av) > CardinalityExact {
			e = estimate(name, float64(bv), float64(av), CardinalityRelError)
		}
		d.Estimates = append(d.Estimates, e)
	}
	card("net.cardinality.src_ips", b.Net.Cardinality.SrcIPs, a.Net.Cardinality.SrcIPs)
	card("net.cardinality.dst_ips", b.Net.Cardinality.DstIPs, a.Net.Cardinality.DstIPs)
	card("dns.cardinality.qname", b.DNS.Cardinality.QName, a.DNS.Cardinality.QName)
	quantiles := func(name string, bq, aq report.Quantiles) {
		for _, q := range []struct {
			p      string
			bv, av float64
		}{{"p50", bq.P50, aq.P50}, {"p90", bq.P90, aq.P90}, {"p95", bq.P95, aq.P95}, {"p99", bq.P99, aq.P99}} {
			d.Estimates = append(d.Estimates, estimate(name+"."+q.p, q.bv, q.av, QuantileRelError))
		}
	}
	if b.Net.Packets > 0 && a.Net.Packets > 0 {
		quantiles("net.rates.pps", b.Net.Rates.PPS, a.Net.Rates.PPS)
	}
	// A direction without transactions on one side has no latency to compare.
	for _, x := range []struct {
		dir    string
		bx, ax *report.XactDir
	}{{"in", &b.DNS.Xacts.In, &a.DNS.Xacts.In}, {"out", &b.DNS.Xacts.Out, &a.DNS.Xacts.Out},
		{"unknown", &b.DNS.Xacts.Unknown, &a.DNS.Xacts.Unknown}} {
		if x.bx.Count > 0 && x.ax.Count > 0 {
			quantiles("dns.xacts."+x.dir+".latency_us", x.bx.LatencyUS, x.ax.LatencyUS)
		}
	}
}

// estimate compares two estimates each within rel of the truth: they
// differ when [b(1−rel), b(1+rel)] and [a(1−rel), a(1+rel)] are disjoint.
func estimate(name string, b, a, rel float64) Estimate {
	b, a = finite(b), finite(a)
	lo, hi := min(a, b), max(a, b)
	return Estimate{Name: name, Before: b, After: a, Delta: a - b, Ratio: ratio(b, a), RelError: rel,
		Changed: lo*(1+rel) < hi*(1-rel)}
}

// finite is f, or 0 for what no sketch estimates (NaN, ±Inf, < 0).
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0
	}
	return f
}

// topList is one top list by its JSON path under summary.
type topList struct {
	name string
	get  func(*report.Section) []report.TopItem
}

var topLists = []topList{
	{"dns.top.qname", func(s *report.Section) []report.TopItem { return s.DNS.Top.QName }},
	{"dns.top.qname2", func(s *report.Section) []report.TopItem { return s.DNS.Top.QName2 }},
	{"dns.top.qname3", func(s *report.Section) []report.TopItem { return s.DNS.Top.QName3 }},
	{"dns.top.clients", func(s *report.Section) []report.TopItem { return s.DNS.Top.Clients }},
	{"dns.top.nxdomain", func(s *report.Section) []report.TopItem { return s.DNS.Top.NXDomain }},
	{"dns.top.servfail", func(s *report.Section) []report.TopItem { return s.DNS.Top.Servfail }},
	{"dns.top.refused", func(s *report.Section) []report.TopItem { return s.DNS.Top.Refused }},
	{"dns.top.nodata", func(s *report.Section) []report.TopItem { return s.DNS.Top.Nodata }},
	{"dns.top.slow", func(s *report.Section) []report.TopItem { return s.DNS.Top.Slow }},
	{"dns.top.ecs", func(s *report.Section) []report.TopItem { return s.DNS.Top.ECS }},
	{"net.top.src_ips", func(s *report.Section) []report.TopItem { return s.Net.Top.SrcIPs }},
	{"net.top.dst_ips", func(s *report.Section) []report.TopItem { return s.Net.Top.DstIPs }},
}

// sideTop is s.Top, or when unknown the longest list's length (--top was
// at least that).
func sideTop(s Side) int {
	if s.Top > 0 {
		return s.Top
	}
	n := 0
	for _, l := range topLists {
		n = max(n, len(l.get(&s.Report.Summary)))
	}
	return n
}

func (d *Diff) tops(b, a *report.Section, bTop, aTop, limit int) {
	d.Tops = []TopDiff{}
	for _, l := range topLists {
		bl, al := l.get(b), l.get(a)
		if len(bl) == 0 && len(al) == 0 {
			continue
		}
		d.Tops = append(d.Tops, compareTop(l.name, bl, al, bTop, aTop, limit))
	}
}

// unlistedHigh is the most a name that list lacks can have occurred: 0
// when the list is shorter than top (it then shows every name its sketch
// tracked, and a sketch that never filled its capacity, larger than any
// --top, is exact); else its smallest estimate.
func unlistedHigh(l []report.TopItem, top int) uint64 {
	if len(l) < top || len(l) == 0 {
		return 0
	}
	m := l[0].Estimate
	for _, it := range l {
		m = min(m, it.Estimate)
	}
	return m
}

func listed(it report.TopItem) Bounds {
	low := uint64(0)
	if it.Estimate > it.Error {
		low = it.Estimate - it.Error
	}
	return Bounds{Listed: true, Low: low, High: it.Estimate}
}

func compareTop(name string, bl, al []report.TopItem, bTop, aTop, limit int) TopDiff {
	td := TopDiff{List: name, Appeared: []NameChange{}, Vanished: []NameChange{}, Changed: []NameChange{}}
	bHigh, aHigh := unlistedHigh(bl, bTop), unlistedHigh(al, aTop)
	bm := make(map[string]report.TopItem, len(bl))
	for _, it := range bl {
		bm[it.Name] = it
	}
	am := make(map[string]report.TopItem, len(al))
	for _, it := range al {
		am[it.Name] = it
	}
	judge := func(nm string, bb, ab Bounds) {
		c := NameChange{Name: nm, Before: bb, After: ab}
		var be, ae uint64
		if bb.Listed {
			be = bb.High
		}
		if ab.Listed {
			ae = ab.High
		}
		c.Delta = int64(ae) - int64(be)
		switch {
		case ab.Low > bb.High:
			c.MinDelta = int64(ab.Low - bb.High)
		case bb.Low > ab.High:
			c.MinDelta = -int64(bb.Low - ab.High)
		default:
			td.WithinError++
			return
		}
		switch {
		case !bb.Listed:
			td.Appeared = append(td.Appeared, c)
		case !ab.Listed:
			td.Vanished = append(td.Vanished, c)
		default:
			td.Changed = append(td.Changed, c)
		}
	}
	for _, it := range al {
		bb := Bounds{High: bHigh}
		if b, ok := bm[it.Name]; ok {
			bb = listed(b)
		}
		judge(it.Name, bb, listed(it))
	}
	for _, it := range bl {
		if _, ok := am[it.Name]; !ok {
			judge(it.Name, listed(it), Bounds{High: aHigh})
		}
	}
	byChange := func(x, y NameChange) int {
		return cmp.Or(cmp.Compare(abs(y.Delta), abs(x.Delta)), cmp.Compare(x.Name, y.Name))
	}
	for _, l := range []*[]NameChange{&td.Appeared, &td.Vanished, &td.Changed} {
		slices.SortFunc(*l, byChange)
		if len(*l) > limit {
			td.More += len(*l) - limit
			*l = (*l)[:limit]
		}
	}
	return td
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// subject is what a finding is about, read through its evidence's JSON
// (a map or a typed struct alike).
type subject struct {
	Zone   string           `json:"zone"`
	Target string           `json:"target"`
	Source string           `json:"source"`
	Prefix string           `json:"prefix"`
	Zones  []report.TopItem `json:"zones"`
}

func findingSubject(f report.Finding) string {
	var s subject
	if b, err := json.Marshal(f.Evidence); err == nil {
		json.Unmarshal(b, &s)
	}
	switch {
	case s.Zone != "":
		return s.Zone
	case s.Target != "":
		return s.Target
	case s.Prefix != "":
		return s.Prefix
	case s.Source != "":
		return s.Source
	case len(s.Zones) > 0:
		return s.Zones[0].Name
	}
	return ""
}

// findings matches findings by kind and subject; a side with several of
// one (the same zone attacked twice) matches them in order.
func findings(b, a []report.Finding) Findings {
	out := Findings{OnlyBefore: []FindingRef{}, OnlyAfter: []FindingRef{}, Both: []FindingRef{}}
	ref := func(f report.Finding) FindingRef {
		return FindingRef{Kind: f.Kind, Subject: findingSubject(f), Severity: f.Severity, Summary: f.Summary}
	}
	left := map[[2]string][]FindingRef{}
	for _, f := range b {
		r := ref(f)
		k := [2]string{r.Kind, r.Subject}
		left[k] = append(left[k], r)
	}
	for _, f := range a {
		r := ref(f)
		k := [2]string{r.Kind, r.Subject}
		if l := left[k]; len(l) > 0 {
			r.BeforeSeverity = l[0].Severity
			left[k] = l[1:]
			out.Both = append(out.Both, r)
			continue
		}
		out.OnlyAfter = append(out.OnlyAfter, r)
	}
	for _, f := range b {
		r := ref(f)
		k := [2]string{r.Kind, r.Subject}
		if l := left[k]; len(l) > 0 {
			left[k] = l[1:]
			out.OnlyBefore = append(out.OnlyBefore, l[0])
		}
	}
	return out
}
