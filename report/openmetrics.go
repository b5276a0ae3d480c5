package report

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// Metric types of a Family.
const (
	Counter = "counter"
	Gauge   = "gauge"
)

// Family is one metric family of the time series a report turns into: the
// same families feed the OpenMetrics file and `visor replay`.
type Family struct {
	Name   string // the sample name; a counter's ends in _total
	Type   string // Counter or Gauge
	Help   string
	Series []Series
}

// Series is one labelled series of a family, its points in ascending time.
type Series struct {
	Labels []Label // sorted by name, without __name__
	Points []Point
}

// Label is one label pair.
type Label struct {
	Name, Value string
}

// Point is one sample: capture time in Unix milliseconds and a value.
type Point struct {
	T int64
	V float64
}

// seriesLabels are the label names visor's own series use; a --label may not
// take one of them.
var seriesLabels = []string{"address", "asn", "client", "direction", "ecs", "geo", "ip_version", "quantile", "qname", "qtype",
	"rcode", "transport"}

// depthLabels are the label names of the opcode, size and EDNS families
// (depthFamilies); a --label may not take one of them either.
var depthLabels = []string{"bin", "ede", "opcode", "qr", "size", "version"}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// ParseLabels parses --label k=v arguments: valid Prometheus label names, not
// reserved (__*), not one of visor's own series labels, each given once.
func ParseLabels(args []string) ([]Label, error) {
	var out []Label
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		switch {
		case !ok || k == "":
			return nil, fmt.Errorf("label %q is not k=v", a)
		case !labelName.MatchString(k) || strings.HasPrefix(k, "__"):
			return nil, fmt.Errorf("label %q: %q is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)", a, k)
		case slices.Contains(findingLabels, k):
			return nil, fmt.Errorf("label %q: visor's findings series use the label %q already", a, k)
		case slices.Contains(seriesLabels, k) || slices.Contains(depthLabels, k):
			return nil, fmt.Errorf("label %q: visor's series use the label %q already", a, k)
		}
		for _, l := range out {
			if l.Name == k {
				return nil, fmt.Errorf("label %q: %q given twice", a, k)
			}
		}
		out = append(out, Label{k, v})
	}
	return out, nil
}

// Families turns the report's buckets into metric families. Counters are
// cumulative from the start of the run: a 0 at the first bucket's start, then
// one sample per bucket at the bucket's end, so increase() over a bucket is
// that bucket's count; a label value seen in any bucket has a sample in every
// bucket. Gauges hold per-bucket values (distinct counts, quantiles, top-N
// entries, at most top of each list; top <= 0 keeps all) and have a sample
// only in the buckets where they have a value. extra labels go on every series.
//
// Every point is in memory in the result; WriteOpenMetricsReport writes the
// same text from a compact form instead.
func Families(r *Report, extra []Label, top int) ([]Family, error) {
	b, err := newBuilder(r, extra, top)
	if err != nil {
		return nil, err
	}
	var fams []Family
	for _, sp := range b.specs {
		f := Family{Name: sp.name, Type: sp.typ, Help: sp.help}
		for _, ser := range b.series(sp) {
			s := Series{Labels: ser.labels}
			b.points(sp, ser, func(p Point) error {
				s.Points = append(s.Points, p)
				return nil
			})
			f.Series = append(f.Series, s)
		}
		fams = append(fams, f)
	}
	fams = append(fams, runFamilies(r, extra)...)
	return fams, nil
}

// newBuilder reads the buckets once (EachBucket) and keeps, for every
// series, its per-bucket values compactly.
func newBuilder(r *Report, extra []Label, top int) (*builder, error) {
	b := &builder{extra: extra, top: top}
	b.build()
	i := 0
	err := r.EachBucket(func(bk *Bucket) error {
		if i == 0 {
			b.start = bk.Start.Time().UnixMilli()
		}
		e := bk.End.Time().UnixMilli()
		if i > 0 && e <= b.ends[i-1] {
			return fmt.Errorf("report: bucket %d ends at %s, not after bucket %d", i, bk.End, i-1)
		}
		b.ends = append(b.ends, e)
		for _, sp := range b.specs {
			sp.observe(i, &bk.Section)
		}
		i++
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

type builder struct {
	extra []Label
	top   int
	start int64
	ends  []int64
	specs []*spec
}

// addFunc records one value of a family in a bucket, with its label values.
type addFunc func(v float64, values ...string)

// spec is one family: how to read its values from a section, and what was
// read.
type spec struct {
	name, typ, help string
	labelNames      []string
	each            func(*Section, addFunc)
	add             addFunc            // each's callback, made once
	cur             map[string]float64 // the bucket being read
	order           []string           // cur's keys, first added first
	byKey           map[string]*seriesData
	keys            []string // first-seen order
}

// seriesData is one series' values: for each bucket with a value, the
// bucket index (as a delta) and the value, in varints (floatAppend).
type seriesData struct {
	values []string
	data   []byte
	last   int // bucket index of the last value + 1
	labels []Label
}

// observe reads bucket i's section.
func (sp *spec) observe(i int, s *Section) {
	sp.each(s, sp.add)
	for _, k := range sp.order {
		d := sp.byKey[k]
		d.data = binary.AppendUvarint(d.data, uint64(i-d.last))
		d.data = floatAppend(d.data, sp.cur[k])
		d.last = i + 1
	}
	clear(sp.cur)
	sp.order = sp.order[:0]
}

func floatAppend(b []byte, f float64) []byte {
	if f >= 0 && f < 1<<53 && f == math.Trunc(f) && !math.Signbit(f) {
		return binary.AppendUvarint(b, uint64(f)<<1)
	}
	b = binary.AppendUvarint(b, 1)
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

func floatRead(b []byte) (float64, []byte) {
	n, k := binary.Uvarint(b)
	b = b[k:]
	if n&1 == 0 {
		return float64(n >> 1), b
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:]
}

// series returns sp's series, their labels made, sorted by labels.
func (b *builder) series(sp *spec) []*seriesData {
	out := make([]*seriesData, 0, len(sp.keys))
	for _, k := range sp.keys {
		d := sp.byKey[k]
		d.labels = b.labels(sp.labelNames, d.values)
		out = append(out, d)
	}
	slices.SortFunc(out, func(x, y *seriesData) int { return compareLabels(x.labels, y.labels) })
	return out
}

// points calls fn with each point of series d in time order: a counter's
// cumulative value at the run's start and every bucket's end, a gauge's
// value at the end of each bucket that has one.
func (b *builder) points(sp *spec, d *seriesData, fn func(Point) error) error {
	data, next := d.data, -1
	var v float64
	readNext := func() {
		if len(data) == 0 {
			next = len(b.ends)
			return
		}
		delta, k := binary.Uvarint(data)
		next += int(delta) + 1
		v, data = floatRead(data[k:])
	}
	readNext()
	if sp.typ == Gauge {
		for next < len(b.ends) {
			if err := fn(Point{T: b.ends[next], V: v}); err != nil {
				return err
			}
			readNext()
		}
		return nil
	}
	if err := fn(Point{T: b.start, V: 0}); err != nil {
		return err
	}
	sum := 0.0
	for i, e := range b.ends {
		x := 0.0
		if i == next {
			x = v
			readNext()
		}
		sum += x
		if err := fn(Point{T: e, V: sum}); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) build() {
	one := func(get func(s *Section) uint64) func(*Section, addFunc) {
		return func(s *Section, add addFunc) { add(float64(get(s))) }
	}
	// Network.
	b.counter("visor_net_packets_total", "Packets seen.", nil, one(func(s *Section) uint64 { return s.Net.Packets }))
	b.counter("visor_net_bytes_total", "Bytes of the packets seen, as captured on the wire.", nil, one(func(s *Section) uint64 { return s.Net.Bytes }))
	b.counter("visor_net_ip_packets_total", "Packets by IP version (none: not IP).", []string{"ip_version"}, func(s *Section, add addFunc) {
		add(float64(s.Net.IPv4), "4")
		add(float64(s.Net.IPv6), "6")
		add(float64(s.Net.NonIP), "none")
	})
	b.counter("visor_net_transport_packets_total", "Packets by layer-4 protocol.", []string{"transport"}, func(s *Section, add addFunc) {
		add(float64(s.Net.UDP), "udp")
		add(float64(s.Net.TCP), "tcp")
		add(float64(s.Net.OtherL4), "other")
	})
	b.counter("visor_net_fragments_total", "IP fragments seen.", nil, one(func(s *Section) uint64 { return s.Net.Fragments }))
	b.counter("visor_net_direction_packets_total", "Packets by direction relative to --host-spec (in: to the host, out: from it).", []string{"direction"}, func(s *Section, add addFunc) {
		add(float64(s.Net.In), "in")
		add(float64(s.Net.Out), "out")
		add(float64(s.Net.UnknownDir), "unknown")
	})
	b.gauge("visor_net_src_ips_distinct", "Distinct source addresses in the bucket (estimate).", nil, func(s *Section, add addFunc) {
		add(float64(s.Net.Cardinality.SrcIPs))
	})
	b.gauge("visor_net_dst_ips_distinct", "Distinct destination addresses in the bucket (estimate).", nil, func(s *Section, add addFunc) {
		add(float64(s.Net.Cardinality.DstIPs))
	})
	b.gauge("visor_net_pps", "Packets per second of capture time in the bucket: quantiles over its seconds.", []string{"quantile"}, func(s *Section, add addFunc) {
		if s.Net.Packets > 0 {
			quantiles(add, s.Net.Rates.PPS)
		}
	})
	b.top1("visor_net_top_src_ip_packets", "Packets from each of the bucket's top source addresses (estimate).", "address", func(s *Section) []TopItem { return s.Net.Top.SrcIPs })
	b.top1("visor_net_top_dst_ip_packets", "Packets to each of the bucket's top destination addresses (estimate).", "address", func(s *Section) []TopItem { return s.Net.Top.DstIPs })
	// Only with --geoip-city / --geoip-asn: a family without series is not written.
	b.top1("visor_net_top_geo_packets", "Packets by location of the remote address (source in, destination out, both when unknown) for the bucket's top locations (estimate).", "geo", func(s *Section) []TopItem { return s.Net.Top.Geo })
	b.top1("visor_net_top_asn_packets", "Packets by AS of the remote address (source in, destination out, both when unknown) for the bucket's top ASes (estimate).", "asn", func(s *Section) []TopItem { return s.Net.Top.ASN })

	// DNS messages.
	b.counter("visor_dns_messages_total", "DNS messages seen.", nil, one(func(s *Section) uint64 { return s.DNS.Messages }))
	b.counter("visor_dns_queries_total", "DNS queries seen.", nil, one(func(s *Section) uint64 { return s.DNS.Queries }))
	b.counter("visor_dns_responses_total", "DNS responses seen.", nil, one(func(s *Section) uint64 { return s.DNS.Responses }))
	b.counter("visor_dns_transport_messages_total", "DNS messages by transport (dot, doh, doq from dnstap, only when seen).", []string{"transport"}, func(s *Section, add addFunc) {
		add(float64(s.DNS.UDP), "udp")
		add(float64(s.DNS.TCP), "tcp")
		for _, t := range []struct {
			n uint64
			v string
		}{{s.DNS.DoT, "dot"}, {s.DNS.DoH, "doh"}, {s.DNS.DoQ, "doq"}, {s.DNS.DNSCrypt, "dnscrypt"}} {
			if t.n > 0 {
				add(float64(t.n), t.v)
			}
		}
	})
	b.encryptedFamilies() // openmetrics_encdns.go
	b.counter("visor_dns_ip_messages_total", "DNS messages by IP version.", []string{"ip_version"}, func(s *Section, add addFunc) {
		add(float64(s.DNS.IPv4), "4")
		add(float64(s.DNS.IPv6), "6")
	})
	b.counter("visor_dns_malformed_total", "DNS messages that did not parse.", nil, one(func(s *Section) uint64 { return s.DNS.Malformed }))
	b.counter("visor_dns_rcode_total", "DNS responses by response code.", []string{"rcode"}, func(s *Section, add addFunc) {
		for _, k := range countKeys(s.DNS.Rcodes) {
			add(float64(s.DNS.Rcodes[k]), k)
		}
	})
	b.counter("visor_dns_qtype_total", "DNS queries by query type.", []string{"qtype"}, func(s *Section, add addFunc) {
		for _, k := range countKeys(s.DNS.Qtypes) {
			add(float64(s.DNS.Qtypes[k]), k)
		}
	})
	b.counter("visor_dns_nodata_total", "NOERROR responses with no answer.", nil, one(func(s *Section) uint64 { return s.DNS.Nodata }))
	b.counter("visor_dns_edns_messages_total", "DNS messages with an EDNS OPT record.", nil, one(func(s *Section) uint64 { return s.DNS.EDNS }))
	b.counter("visor_dns_do_messages_total", "DNS messages with the DNSSEC OK bit.", nil, one(func(s *Section) uint64 { return s.DNS.DO }))
	b.counter("visor_dns_ecs_messages_total", "DNS messages with an EDNS Client Subnet option.", nil, one(func(s *Section) uint64 { return s.DNS.ECS }))
	b.counter("visor_dns_tc_messages_total", "DNS messages with the TC (truncated) bit.", nil, one(func(s *Section) uint64 { return s.DNS.TC }))
	b.depthFamilies()
	b.gauge("visor_dns_qnames_distinct", "Distinct query names in the bucket (estimate).", nil, func(s *Section, add addFunc) {
		add(float64(s.DNS.Cardinality.QName))
	})

	// DNS transactions.
	dirs := func(s *Section) []struct {
		d *XactDir
		v string
	} {
		return []struct {
			d *XactDir
			v string
		}{{&s.DNS.Xacts.In, "in"}, {&s.DNS.Xacts.Out, "out"}, {&s.DNS.Xacts.Unknown, "unknown"}}
	}
	b.counter("visor_dns_xacts_total", "DNS transactions (a query and its response) by direction relative to --host-spec.", []string{"direction"}, func(s *Section, add addFunc) {
		for _, d := range dirs(s) {
			add(float64(d.d.Count), d.v)
		}
	})
	b.counter("visor_dns_xacts_timed_out_total", "DNS queries with no response within --xact-timeout, by direction.", []string{"direction"}, func(s *Section, add addFunc) {
		for _, d := range dirs(s) {
			add(float64(d.d.TimedOut), d.v)
		}
	})
	b.gauge("visor_dns_xact_latency_seconds", "DNS transaction latency in the bucket: quantiles, by direction (only directions with transactions).", []string{"direction", "quantile"}, func(s *Section, add addFunc) {
		for _, d := range dirs(s) {
			if d.d.Count == 0 {
				continue
			}
			q := d.d.LatencyUS
			for _, p := range []struct {
				v float64
				q string
			}{{q.P50, "0.5"}, {q.P90, "0.9"}, {q.P95, "0.95"}, {q.P99, "0.99"}} {
				add(p.v/1e6, d.v, p.q)
			}
		}
	})

	// DNS top-N lists.
	for _, t := range []struct {
		name, help, label string
		get               func(s *Section) []TopItem
	}{
		{"visor_dns_top_qname_messages", "Messages for each of the bucket's top query names (estimate).", "qname", func(s *Section) []TopItem { return s.DNS.Top.QName }},
		{"visor_dns_top_qname2_messages", "Messages for each of the bucket's top last-two-label names (estimate).", "qname", func(s *Section) []TopItem { return s.DNS.Top.QName2 }},
		{"visor_dns_top_qname3_messages", "Messages for each of the bucket's top last-three-label names (estimate).", "qname", func(s *Section) []TopItem { return s.DNS.Top.QName3 }},
		{"visor_dns_top_nxdomain_responses", "NXDOMAIN responses for each of the bucket's top names (estimate).", "qname", func(s *Section) []TopItem { return s.DNS.Top.NXDomain }},
		{"visor_dns_top_servfail_responses", "SERVFAIL responses for each of the bucket's top names (estimate).", "qname", func(s *Section) []TopItem { return s.DNS.Top.Servfail }},
		{"visor_dns_top_refused_responses", "REFUSED responses for each of the bucket's top names (estimate).", "qname", func(s *Section) []TopItem { return s.DNS.Top.Refused }},
		{"visor_dns_top_nodata_responses", "NODATA responses for each of the bucket's top names (estimate).", "qname", func(s *Section) []TopItem { return s.DNS.Top.Nodata }},
		{"visor_dns_top_client_queries", "Queries from each of the bucket's top clients (estimate).", "client", func(s *Section) []TopItem { return s.DNS.Top.Clients }},
		{"visor_dns_top_slow_xacts", "Slow transactions (at least --slow) for each of the bucket's top names (estimate).", "qname", func(s *Section) []TopItem { return s.DNS.Top.Slow }},
		{"visor_dns_top_ecs_queries", "Queries for each of the bucket's top EDNS Client Subnet prefixes (estimate).", "ecs", func(s *Section) []TopItem { return s.DNS.Top.ECS }},
		{"visor_dns_top_ecs_geo_queries", "Queries by location of their Client Subnet prefix, for the bucket's top locations (estimate; --geoip-city).", "geo", func(s *Section) []TopItem { return s.DNS.Top.ECSGeo }},
		{"visor_dns_top_ecs_asn_queries", "Queries by AS of their Client Subnet prefix, for the bucket's top ASes (estimate; --geoip-asn).", "asn", func(s *Section) []TopItem { return s.DNS.Top.ECSASN }},
	} {
		b.top1(t.name, t.help, t.label, t.get)
	}
}

func quantiles(add addFunc, q Quantiles) {
	add(q.P50, "0.5")
	add(q.P90, "0.9")
	add(q.P95, "0.95")
	add(q.P99, "0.99")
}

func countKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// top1 adds a gauge family for one top-N list, cut to b.top entries.
func (b *builder) top1(name, help, label string, get func(s *Section) []TopItem) {
	b.gauge(name, help, []string{label}, func(s *Section, add addFunc) {
		items := get(s)
		if b.top > 0 && len(items) > b.top {
			items = items[:b.top]
		}
		for _, it := range items {
			add(float64(it.Estimate), it.Name)
		}
	})
}

func (b *builder) counter(name, help string, labelNames []string, each func(*Section, addFunc)) {
	b.spec(name, Counter, help, labelNames, each)
}

func (b *builder) gauge(name, help string, labelNames []string, each func(*Section, addFunc)) {
	b.spec(name, Gauge, help, labelNames, each)
}

func (b *builder) spec(name, typ, help string, labelNames []string, each func(*Section, addFunc)) {
	sp := &spec{name: name, typ: typ, help: help, labelNames: labelNames, each: each,
		cur: map[string]float64{}, byKey: map[string]*seriesData{}}
	sp.add = func(v float64, values ...string) {
		if len(values) != len(sp.labelNames) {
			panic("report: label values do not match label names")
		}
		var k string
		if len(values) == 1 {
			k = values[0]
		} else {
			k = strings.Join(values, "\xff")
		}
		if _, ok := sp.byKey[k]; !ok {
			sp.byKey[k] = &seriesData{values: slices.Clone(values)}
			sp.keys = append(sp.keys, k)
		}
		if _, ok := sp.cur[k]; !ok {
			sp.order = append(sp.order, k)
		}
		sp.cur[k] += v
	}
	b.specs = append(b.specs, sp)
}

// labels joins a series' own labels and the extra ones, sorted by name.
func (b *builder) labels(names, values []string) []Label {
	ls := make([]Label, 0, len(names)+len(b.extra))
	for i, n := range names {
		ls = append(ls, Label{n, values[i]})
	}
	ls = append(ls, b.extra...)
	slices.SortFunc(ls, func(x, y Label) int { return strings.Compare(x.Name, y.Name) })
	return ls
}

func compareLabels(x, y []Label) int {
	for i := 0; i < len(x) && i < len(y); i++ {
		if c := strings.Compare(x[i].Name, y[i].Name); c != 0 {
			return c
		}
		if c := strings.Compare(x[i].Value, y[i].Value); c != 0 {
			return c
		}
	}
	return len(x) - len(y)
}

// WriteOpenMetrics writes the families as OpenMetrics 1.0 text: per family
// HELP and TYPE, then each series' samples in time order with timestamps in
// seconds, and a final # EOF (github.com/prometheus/common/expfmt).
func WriteOpenMetrics(w io.Writer, fams []Family) error {
	for _, f := range fams {
		if err := writeFamily(w, &f); err != nil {
			return err
		}
	}
	_, err := expfmt.FinalizeOpenMetrics(w)
	return err
}

// writeFamily writes one family with all its points (nothing when it has
// no series).
func writeFamily(w io.Writer, f *Family) error {
	if len(f.Series) == 0 {
		return nil
	}
	mf := &dto.MetricFamily{Name: proto.String(f.Name), Help: proto.String(f.Help)}
	switch f.Type {
	case Counter:
		mf.Type = dto.MetricType_COUNTER.Enum()
	case Gauge:
		mf.Type = dto.MetricType_GAUGE.Enum()
	default:
		return fmt.Errorf("report: family %s has type %q", f.Name, f.Type)
	}
	for _, s := range f.Series {
		pairs := make([]*dto.LabelPair, len(s.Labels))
		for i, l := range s.Labels {
			pairs[i] = &dto.LabelPair{Name: proto.String(l.Name), Value: proto.String(l.Value)}
		}
		for _, p := range s.Points {
			m := &dto.Metric{Label: pairs, TimestampMs: proto.Int64(p.T)}
			if f.Type == Counter {
				m.Counter = &dto.Counter{Value: proto.Float64(p.V)}
			} else {
				m.Gauge = &dto.Gauge{Value: proto.Float64(p.V)}
			}
			mf.Metric = append(mf.Metric, m)
		}
	}
	if _, err := expfmt.MetricFamilyToOpenMetrics(w, mf); err != nil {
		return fmt.Errorf("report: openmetrics: %w", err)
	}
	return nil
}

// omChunk is how many samples WriteOpenMetricsReport formats at a time.
var omChunk = 4096

// WriteOpenMetricsReport writes r's families (Families) as WriteOpenMetrics
// does, byte for byte, without holding every point: the buckets are read
// once into compact per-series values, and each family is written a few
// thousand samples at a time.
func WriteOpenMetricsReport(w io.Writer, r *Report, extra []Label, top int) error {
	return WriteOpenMetricsEdited(w, r, extra, top, 0, nil)
}

// WriteOpenMetricsEdited is WriteOpenMetricsReport where a family of more
// than maxSeries series is first built whole and given to edit (e.g. to
// fold its rarest label values into one series) before it is written; the
// other families are written as they are, a few thousand samples at a time.
func WriteOpenMetricsEdited(w io.Writer, r *Report, extra []Label, top, maxSeries int, edit func(*Family)) error {
	b, err := newBuilder(r, extra, top)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var chunk bytes.Buffer
	for _, sp := range b.specs {
		series := b.series(sp)
		if len(series) == 0 {
			continue
		}
		if edit != nil && maxSeries > 0 && len(series) > maxSeries {
			f := Family{Name: sp.name, Type: sp.typ, Help: sp.help}
			for _, ser := range series {
				s := Series{Labels: ser.labels}
				b.points(sp, ser, func(p Point) error {
					s.Points = append(s.Points, p)
					return nil
				})
				f.Series = append(f.Series, s)
			}
			edit(&f)
			if err := writeFamily(bw, &f); err != nil {
				return err
			}
			continue
		}
		mf := &dto.MetricFamily{Name: proto.String(sp.name), Help: proto.String(sp.help)}
		if sp.typ == Counter {
			mf.Type = dto.MetricType_COUNTER.Enum()
		} else {
			mf.Type = dto.MetricType_GAUGE.Enum()
		}
		first := true
		flush := func() error {
			chunk.Reset()
			if _, err := expfmt.MetricFamilyToOpenMetrics(&chunk, mf); err != nil {
				return fmt.Errorf("report: openmetrics: %w", err)
			}
			out := chunk.Bytes()
			if !first { // the family's HELP and TYPE are written once
				for len(out) > 0 && out[0] == '#' {
					out = out[bytes.IndexByte(out, '\n')+1:]
				}
			}
			first = false
			mf.Metric = mf.Metric[:0]
			_, err := bw.Write(out)
			return err
		}
		for _, ser := range series {
			pairs := make([]*dto.LabelPair, len(ser.labels))
			for i, l := range ser.labels {
				pairs[i] = &dto.LabelPair{Name: proto.String(l.Name), Value: proto.String(l.Value)}
			}
			err := b.points(sp, ser, func(p Point) error {
				m := &dto.Metric{Label: pairs, TimestampMs: proto.Int64(p.T)}
				if sp.typ == Counter {
					m.Counter = &dto.Counter{Value: proto.Float64(p.V)}
				} else {
					m.Gauge = &dto.Gauge{Value: proto.Float64(p.V)}
				}
				mf.Metric = append(mf.Metric, m)
				if len(mf.Metric) == omChunk {
					return flush()
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		if len(mf.Metric) > 0 || first {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	for _, f := range runFamilies(r, extra) {
		if err := writeFamily(bw, &f); err != nil {
			return err
		}
	}
	if _, err := expfmt.FinalizeOpenMetrics(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// FormatMillis formats Unix milliseconds as RFC 3339 UTC, for messages.
func FormatMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}
