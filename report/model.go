// Package report is visor's report model and its renderers: a one-page
// table, JSON (described by visor.report.v1.schema.json) and OpenMetrics.
package report

import (
	"encoding/json"
	"time"

	"github.com/visor-dns/visor/rssac002"
)

// Schema names the JSON report's version.
const Schema = "visor.report/v1"

// Report is the result of one analysis run, as the JSON contract spells it.
type Report struct {
	Schema        string            `json:"schema"`
	Tool          Tool              `json:"tool"`
	Inputs        []Input           `json:"inputs"`
	Integrity     map[string]uint64 `json:"integrity"`
	BucketSeconds float64           `json:"bucket_seconds"`
	Summary       Section           `json:"summary"`
	// Buckets lists the buckets of a report held in memory (read back from
	// JSON, made by hand, a live view). A report from an analysis run keeps
	// them in Stored instead, compact and spilled to disk, so that its
	// memory does not grow with the capture's length: read buckets with
	// EachBucket and NumBuckets, which see both, or LoadBuckets.
	Buckets  []Bucket     `json:"buckets"`
	Stored   *BucketStore `json:"-"`
	Findings []Finding    `json:"findings"`
	// Parts, with --split-by, are the reports of each input or label set
	// beside the whole (parts.go).
	Parts []Part `json:"parts,omitempty"`
	// RSSAC002 holds the daily RSSAC002 measurements of a run that counted
	// them (--format rssac002), written by package rssac002, not in JSON.
	RSSAC002 []rssac002.Day `json:"-"`
}

// NumBuckets returns the number of buckets, in Buckets and Stored.
func (r *Report) NumBuckets() int { return len(r.Buckets) + r.Stored.Len() }

// EachBucket calls fn with every bucket in time order: those of Buckets,
// then those of Stored. It stops at fn's first error and returns it.
func (r *Report) EachBucket(fn func(b *Bucket) error) error {
	for i := range r.Buckets {
		if err := fn(&r.Buckets[i]); err != nil {
			return err
		}
	}
	return r.Stored.Each(fn)
}

// LoadBuckets moves the stored buckets into Buckets, for a caller that
// wants them all in memory at once (a short run, a live view); memory then
// grows with the number of buckets again.
func (r *Report) LoadBuckets() error {
	if r.Stored.Len() == 0 {
		return r.Close()
	}
	err := r.Stored.Each(func(b *Bucket) error {
		r.Buckets = append(r.Buckets, *b)
		return nil
	})
	if err != nil {
		return err
	}
	return r.Close()
}

// Close releases what Stored holds (its temporary file). The report has no
// stored buckets afterwards.
func (r *Report) Close() error {
	err := r.Stored.Close()
	r.Stored = nil
	return err
}

// Tool names the program that wrote the report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Input describes one input file.
type Input struct {
	Path      string            `json:"path"`
	Format    string            `json:"format"`
	SHA256    string            `json:"sha256"`
	Packets   uint64            `json:"packets"`
	Bytes     uint64            `json:"bytes"`
	FirstTS   Timestamp         `json:"first_ts"`
	LastTS    Timestamp         `json:"last_ts"`
	LinkTypes map[string]uint64 `json:"link_types"`
	Identity  string            `json:"identity,omitempty"`
	Version   string            `json:"version,omitempty"`
}

// Section is what the summary and every bucket report.
type Section struct {
	Net Net `json:"net"`
	DNS DNS `json:"dns"`
	// Encrypted is DNS over TLS, HTTPS and QUIC seen in packets (encdns.go).
	Encrypted EncryptedDNS `json:"encrypted_dns"`
}

// Bucket is one time bucket of capture time, [Start, End).
type Bucket struct {
	Start Timestamp `json:"start"`
	End   Timestamp `json:"end"`
	Section
}

// Net is the packet-level view.
type Net struct {
	Packets     uint64         `json:"packets"`
	Bytes       uint64         `json:"bytes"`
	IPv4        uint64         `json:"ipv4"`
	IPv6        uint64         `json:"ipv6"`
	NonIP       uint64         `json:"non_ip"`
	UDP         uint64         `json:"udp"`
	TCP         uint64         `json:"tcp"`
	OtherL4     uint64         `json:"other_l4"`
	Fragments   uint64         `json:"fragments"`
	In          uint64         `json:"in"`
	Out         uint64         `json:"out"`
	UnknownDir  uint64         `json:"unknown_dir"`
	Cardinality NetCardinality `json:"cardinality"`
	Top         NetTop         `json:"top"`
	Rates       NetRates       `json:"rates"`
}

// NetCardinality estimates distinct addresses.
type NetCardinality struct {
	SrcIPs uint64 `json:"src_ips"`
	DstIPs uint64 `json:"dst_ips"`
}

// NetTop lists the busiest addresses.
type NetTop struct {
	SrcIPs []TopItem `json:"src_ips"`
	DstIPs []TopItem `json:"dst_ips"`
	// With --geoip-city / --geoip-asn: the remote addresses' locations
	// ("EU/Netherlands/NH/Amsterdam") and ASes ("64500/Example Org").
	Geo []TopItem `json:"geo,omitempty"`
	ASN []TopItem `json:"asn,omitempty"`
}

// NetRates holds rates over seconds of capture time.
type NetRates struct {
	PPS Quantiles `json:"pps"`
	// PPSMean is packets over the seconds of capture time covered (from
	// the first packet's second to the last's, within the bucket);
	// PPSPeak the busiest of those seconds.
	PPSMean float64 `json:"pps_mean"`
	PPSPeak uint64  `json:"pps_peak"`
}

// DNSRates holds query rates over seconds of capture time, as NetRates.
type DNSRates struct {
	QPSMean float64 `json:"qps_mean"`
	QPSPeak uint64  `json:"qps_peak"`
}

// Quantiles of a distribution.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// TopItem is one entry of a top-N list. Estimate may exceed the true count
// by at most Error.
type TopItem struct {
	Name     string `json:"name"`
	Estimate uint64 `json:"estimate"`
	Error    uint64 `json:"error"`
}

// DNS is the DNS-message view.
type DNS struct {
	Messages    uint64            `json:"messages"`
	Queries     uint64            `json:"queries"`
	Responses   uint64            `json:"responses"`
	Rates       DNSRates          `json:"rates"`
	UDP         uint64            `json:"udp"`
	TCP         uint64            `json:"tcp"`
	IPv4        uint64            `json:"ipv4"`
	IPv6        uint64            `json:"ipv6"`
	Malformed   uint64            `json:"malformed"`
	Rcodes      map[string]uint64 `json:"rcodes"`
	Qtypes      map[string]uint64 `json:"qtypes"`
	Nodata      uint64            `json:"nodata"`
	EDNS        uint64            `json:"edns"`
	DO          uint64            `json:"do"`
	ECS         uint64            `json:"ecs"`
	TC          uint64            `json:"tc"`
	DoT         uint64            `json:"dot,omitempty"`
	DoH         uint64            `json:"doh,omitempty"`
	DoQ         uint64            `json:"doq,omitempty"`
	DNSCrypt    uint64            `json:"dnscrypt,omitempty"`
	Cardinality DNSCardinality    `json:"cardinality"`
	Top         DNSTop            `json:"top"`
	Xacts       Xacts             `json:"xacts"`
	// Transport counts queries by transport: udp and tcp in clear, dot,
	// doh, doq and dnscrypt from dnstap, or estimated from encrypted
	// sessions in packets (report/encdns.go names the keys).
	Transport map[string]uint64 `json:"transport"`
	// Opcodes (over queries), sizes, EDNS detail and truncation: report/depth.go.
	Opcodes    map[string]uint64 `json:"opcodes"`
	Sizes      DNSSizes          `json:"sizes"`
	EDNSDetail EDNSDetail        `json:"edns_detail"`
	Truncation Truncation        `json:"truncation"`
}

// DNSCardinality estimates distinct query names.
type DNSCardinality struct {
	QName uint64 `json:"qname"`
}

// DNSTop holds the DNS top-N lists.
type DNSTop struct {
	QName    []TopItem `json:"qname"`
	QName2   []TopItem `json:"qname2"`
	QName3   []TopItem `json:"qname3"`
	NXDomain []TopItem `json:"nxdomain"`
	Servfail []TopItem `json:"servfail"`
	Refused  []TopItem `json:"refused"`
	Nodata   []TopItem `json:"nodata"`
	Clients  []TopItem `json:"clients"`
	Slow     []TopItem `json:"slow"`
	// Client Subnet source prefixes of queries ("198.51.100.0/24"), and with
	// --geoip-city / --geoip-asn their locations and ASes.
	ECS    []TopItem `json:"ecs,omitempty"`
	ECSGeo []TopItem `json:"ecs_geo,omitempty"`
	ECSASN []TopItem `json:"ecs_asn,omitempty"`
}

// Xacts counts query/response transactions.
type Xacts struct {
	Total    uint64  `json:"total"`
	TimedOut uint64  `json:"timed_out"`
	In       XactDir `json:"in"`
	Out      XactDir `json:"out"`
	Unknown  XactDir `json:"unknown"`
}

// XactDir is one direction's transactions.
type XactDir struct {
	Count     uint64    `json:"count"`
	TimedOut  uint64    `json:"timed_out"`
	LatencyUS Quantiles `json:"latency_us"`
}

// Finding is a named event the detectors found.
type Finding struct {
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	// Confidence (0..1) is how sure the detector is (docs/findings.md).
	Confidence float64 `json:"confidence"`
	Summary    string  `json:"summary"`
	// Why states the rule that held, with its numbers; Next, what to look
	// at next.
	Why  string   `json:"why,omitempty"`
	Next []string `json:"next,omitempty"`
	// Explains lists the findings this one's cause made unnecessary (an
	// NXDOMAIN flood that a random-subdomain attack explains).
	Explains []Explained    `json:"explains,omitempty"`
	Start    Timestamp      `json:"start"`
	Peak     Timestamp      `json:"peak"`
	End      Timestamp      `json:"end"`
	Evidence map[string]any `json:"evidence"`
}

// Explained is a finding that another finding's cause explains: its kind,
// what it would have been about (a source, a prefix; empty for a
// capture-wide flood) and its main count.
type Explained struct {
	Kind  string `json:"kind"`
	Key   string `json:"key,omitempty"`
	Count uint64 `json:"count"`
}

// Time formats a capture timestamp (Unix ns) as RFC 3339 UTC with nanoseconds.
func Time(ns int64) string {
	return time.Unix(0, ns).UTC().Format(timeLayout)
}

const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// Timestamp is a capture time in Unix nanoseconds. The model keeps times as
// numbers; only the writers format them (JSON: the RFC 3339 text of Time).
type Timestamp int64

// String formats t as Time does.
func (t Timestamp) String() string { return Time(int64(t)) }

// Time returns t as a UTC time.Time.
func (t Timestamp) Time() time.Time { return time.Unix(0, int64(t)).UTC() }

// MarshalJSON writes t as Time's RFC 3339 text.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 32)
	b = append(b, '"')
	b = time.Unix(0, int64(t)).UTC().AppendFormat(b, timeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON reads an RFC 3339 text.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseTimestamp(s)
	*t = v
	return err
}

// ParseTimestamp reads an RFC 3339 text (as the JSON report writes it).
func ParseTimestamp(s string) (Timestamp, error) {
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, err
	}
	return Timestamp(v.UnixNano()), nil
}

// MustParseTimestamp is ParseTimestamp for constants: it panics on a bad text.
func MustParseTimestamp(s string) Timestamp {
	t, err := ParseTimestamp(s)
	if err != nil {
		panic(err)
	}
	return t
}
