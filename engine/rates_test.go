package engine

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/visor-dns/visor/report"
)

// TestRatesAtEveryBucket: the rates' peaks are the busiest second, seen in
// one-second buckets as the largest bucket, and the means divide by the
// seconds from the first packet to the last; both are the same whatever
// --bucket is, in the summary and (for one-second buckets) per bucket.
func TestRatesAtEveryBucket(t *testing.T) {
	inputs, err := filepath.Glob("../testdata/*.pcap")
	if err != nil || len(inputs) == 0 {
		t.Fatal("no testdata capture", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			var want report.Section
			for _, bucket := range []time.Duration{time.Second, 10 * time.Second, time.Minute, 5 * time.Minute, 7 * time.Second} {
				cfg := config(in)
				cfg.Bucket = bucket
				if err := cfg.Validate(); err != nil {
					t.Fatal(err)
				}
				rep, err := Analyze(context.Background(), cfg, nil, io.Discard)
				if err != nil {
					t.Fatal(err)
				}
				s := rep.Summary
				if bucket == time.Second {
					var pps, qps uint64
					var first, last int64
					rep.EachBucket(func(b *report.Bucket) error {
						pps, qps = max(pps, b.Net.Packets), max(qps, b.DNS.Queries)
						if b.Net.Rates.PPSPeak != b.Net.Packets || b.DNS.Rates.QPSPeak != b.DNS.Queries {
							t.Errorf("bucket %s: peaks %d/%d, want its counts %d/%d", b.Start, b.Net.Rates.PPSPeak, b.DNS.Rates.QPSPeak, b.Net.Packets, b.DNS.Queries)
						}
						if first == 0 {
							first = int64(b.Start)
						}
						last = int64(b.Start)
						return nil
					})
					secs := float64((last-first)/1e9 + 1)
					if s.Net.Rates.PPSPeak != pps || s.DNS.Rates.QPSPeak != qps {
						t.Errorf("peaks %d/%d, want the largest one-second buckets %d/%d", s.Net.Rates.PPSPeak, s.DNS.Rates.QPSPeak, pps, qps)
					}
					if s.Net.Rates.PPSMean != float64(s.Net.Packets)/secs || s.DNS.Rates.QPSMean != float64(s.DNS.Queries)/secs {
						t.Errorf("means %v/%v, want over %v seconds", s.Net.Rates.PPSMean, s.DNS.Rates.QPSMean, secs)
					}
					want = s
				} else if s.Net.Rates.PPSPeak != want.Net.Rates.PPSPeak || s.DNS.Rates != want.DNS.Rates || s.Net.Rates.PPSMean != want.Net.Rates.PPSMean {
					t.Errorf("--bucket %s: rates %+v %+v, with 1s %+v %+v", bucket, s.Net.Rates, s.DNS.Rates, want.Net.Rates, want.DNS.Rates)
				}
				rep.Close()
			}
		})
	}
}
