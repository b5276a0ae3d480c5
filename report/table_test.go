package report

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test ./report -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// sampleReport is a hand-built report of a five-minute resolver capture
// during a random-subdomain attack on example.com.
func sampleReport() *Report {
	const t0 = int64(1709294400) * 1e9 // 2024-03-01T12:00:00Z
	ts := func(sec, ns int64) Timestamp { return Timestamp(t0 + sec*1e9 + ns) }
	q := func(p50, p90, p95, p99 float64) Quantiles { return Quantiles{P50: p50, P90: p90, P95: p95, P99: p99} }
	section := func(scale uint64) Section {
		return Section{
			Net: Net{
				Packets: 120000 * scale, Bytes: 13421772 * scale, IPv4: 110000 * scale, IPv6: 9990 * scale, NonIP: 10 * scale,
				UDP: 115000 * scale, TCP: 4900 * scale, OtherL4: 90 * scale, Fragments: 12 * scale,
				In: 60100 * scale, Out: 59800 * scale, UnknownDir: 100 * scale,
				Cardinality: NetCardinality{SrcIPs: 412 * scale, DstIPs: 37},
				Top: NetTop{
					SrcIPs: []TopItem{{"192.0.2.53", 59800 * scale, 0}, {"198.51.100.7", 20011 * scale, 3}, {"2001:db8::1", 9000 * scale, 0}},
					DstIPs: []TopItem{{"192.0.2.53", 60100 * scale, 0}, {"203.0.113.9", 15000 * scale, 12}},
				},
				Rates: NetRates{PPS: q(380.5, 910.2, 1200, 2450.75)},
			},
			DNS: DNS{
				Messages: 119000 * scale, Queries: 60000 * scale, Responses: 59000 * scale,
				UDP: 114200 * scale, TCP: 4800 * scale, IPv4: 109100 * scale, IPv6: 9900 * scale, Malformed: 3 * scale,
				Rcodes: map[string]uint64{"NOERROR": 21000 * scale, "NXDOMAIN": 36000 * scale, "SERVFAIL": 1500 * scale, "REFUSED": 250 * scale, "FORMERR": 250 * scale},
				Qtypes: map[string]uint64{"A": 41000 * scale, "AAAA": 15000 * scale, "HTTPS": 2500 * scale, "TXT": 900 * scale, "MX": 300 * scale, "PTR": 300 * scale},
				Nodata: 1800 * scale, EDNS: 52000 * scale, DO: 30000 * scale, ECS: 120 * scale, TC: 40 * scale,
				Cardinality: DNSCardinality{QName: 35120 * scale},
				Top: DNSTop{
					QName: []TopItem{
						{"www.example.net", 4100 * scale, 0},
						{"a-very-long-label-that-keeps-going-and-going.cdn.provider.example.org", 1200 * scale, 0},
						{"_dmarc.example.org", 800 * scale, 0},
						{"ntp.example.net", 700 * scale, 1},
						{"api.example.net", 650 * scale, 0},
						{"mail.example.org", 400 * scale, 0},
						{"x7kq2m9v0a.example.com", 3 * scale, 2},
					},
					QName2:   []TopItem{{".example.com", 36010 * scale, 0}, {".example.net", 9000 * scale, 0}, {".example.org", 4000 * scale, 0}},
					QName3:   []TopItem{{".www.example.net", 4100 * scale, 0}},
					NXDomain: []TopItem{{"qz81k0d.example.com", 2 * scale, 1}, {"p0o9i8u.example.com", 2 * scale, 1}},
					Servfail: []TopItem{{"broken.example.org", 1400 * scale, 0}},
					Refused:  nil,
					Nodata:   []TopItem{{"ipv4only.example.net", 1700 * scale, 0}},
					Clients:  []TopItem{{"198.51.100.7", 20011 * scale, 3}, {"2001:db8::1", 9000 * scale, 0}},
					Slow:     []TopItem{{"broken.example.org", 900 * scale, 0}},
				},
				Xacts: Xacts{
					Total: 59000 * scale, TimedOut: 1000 * scale,
					In:      XactDir{Count: 30000 * scale, TimedOut: 200 * scale, LatencyUS: q(812.4, 15400, 48000, 230001.7)},
					Out:     XactDir{Count: 29000 * scale, TimedOut: 800 * scale, LatencyUS: q(21044.2, 80500, 120000, 400000)},
					Unknown: XactDir{},
				},
			},
		}
	}
	b0, b1 := section(1), section(1)
	b1.DNS.Top.Slow = []TopItem{}
	return &Report{
		Schema: Schema,
		Tool:   Tool{Name: "visor", Version: "v0.1.0"},
		Inputs: []Input{{
			Path: "captures/resolver-2024-03-01.pcapng.gz", Format: "pcapng+gzip",
			SHA256:  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			Packets: 240001, Bytes: 28311552, FirstTS: ts(0, 123456789), LastTS: ts(299, 987654321),
			LinkTypes: map[string]uint64{"ETHERNET": 240000, "LINUX_SLL": 1},
		}},
		Integrity:     map[string]uint64{"snaplen_truncated": 12, "dns_malformed": 6, "tcp_gaps": 0, "ip_fragments_incomplete": 2},
		BucketSeconds: 150,
		Summary:       section(2),
		Buckets: []Bucket{
			{Start: ts(0, 0), End: ts(150, 0), Section: b0},
			{Start: ts(150, 0), End: ts(300, 0), Section: b1},
		},
		Findings: []Finding{{
			Kind: "random_subdomain", Severity: "high",
			Summary: "35102 distinct never-repeated names under example.com, 97% NXDOMAIN",
			Start:   ts(12, 0), Peak: ts(95, 500000000), End: ts(290, 0),
			Evidence: map[string]any{"zone": "example.com", "distinct_qnames": 35102, "nxdomain_ratio": 0.97,
				"top_clients": []string{"198.51.100.7", "2001:db8::1"}},
		}},
	}
}

func TestWriteTable(t *testing.T) {
	tests := []struct {
		name   string
		report *Report
		top    int
		width  int
		ascii  bool
		golden string
	}{
		{"sample top 5", sampleReport(), 5, 100, false, "table_sample.golden"},
		{"sample top 2 at 80 columns", sampleReport(), 2, 80, false, "table_top2.golden"},
		{"sample at 160 columns in ASCII", sampleReport(), 10, 160, true, "table_sample_160_ascii.golden"},
		{"empty report", &Report{Schema: Schema, Tool: Tool{Name: "visor", Version: "dev"}, BucketSeconds: 60}, 10, 80, false, "table_empty.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			o := TableOptions{Top: tt.top, Width: tt.width, ASCII: tt.ascii}
			if err := WriteTableWith(&b, tt.report, o); err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(b.String(), "\n") {
				if n := len([]rune(line)); n > tt.width {
					t.Errorf("line %d is %d columns wide: %q", i+1, n, line)
				}
			}
			golden(t, tt.golden, b.Bytes())

			var again bytes.Buffer
			if err := WriteTableWith(&again, tt.report, o); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Bytes(), again.Bytes()) {
				t.Error("two renderings of the same report differ")
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteTableErrors(t *testing.T) {
	tests := []struct {
		name   string
		w      failingWriter
		report *Report
		want   string
	}{
		{"nil report", failingWriter{}, nil, "nil report"},
		{"failing writer", failingWriter{}, sampleReport(), "disk full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteTable(tt.w, tt.report, 10)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
