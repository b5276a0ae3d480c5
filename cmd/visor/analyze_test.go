package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/visor-dns/visor/report"
)

func TestStdinDirectoryAndMerge(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 4, 5, 6, 50, 0, time.UTC)
	// b starts 50 ms after a: merged, their packets interleave.
	writePcap(t, filepath.Join(dir, "b.pcap"), 40, t0.Add(50*time.Millisecond))
	writePcap(t, filepath.Join(dir, "a.pcap"), 40, t0)
	whole := analyzeJSON(t, "--bucket", "1s", dir)
	if len(whole.Inputs) != 2 {
		t.Fatalf("inputs %d, want 2", len(whole.Inputs))
	}
	if whole.Summary.DNS.Queries != 80 || whole.Summary.DNS.Xacts.Total != 80 {
		t.Errorf("queries %d xacts %d, want 80 and 80", whole.Summary.DNS.Queries, whole.Summary.DNS.Xacts.Total)
	}
	if whole.Integrity["timestamps_backwards"] != 0 {
		t.Errorf("merge is not in time order: %v", whole.Integrity)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "a.pcap"))
	r := runVisorStdin(b, "analyze", "--format", "json", "-")
	if r.code != 0 {
		t.Fatalf("stdin: exit %d: %s", r.code, r.stderr)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Summary.DNS.Queries != 40 || rep.Inputs[0].Path != "-" || rep.Inputs[0].SHA256 == "" {
		t.Errorf("stdin: queries %d path %q sha %q", rep.Summary.DNS.Queries, rep.Inputs[0].Path, rep.Inputs[0].SHA256)
	}
}

// TestBucketsSumToSummary checks every counter of the buckets against the
// summary, and that buckets follow capture time.
func TestBucketsSumToSummary(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.pcap")
	t0 := time.Date(2026, 3, 4, 5, 6, 57, 300_000_000, time.UTC)
	writePcap(t, p, 100, t0) // 10 s of traffic
	files := []string{p}
	if m, _ := filepath.Glob("../../testdata/*.truth.json"); len(m) > 0 {
		files = append(files, m[0][:len(m[0])-len(".truth.json")])
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := analyzeJSON(t, "--bucket", "2s", f)
			var net, dns map[string]uint64
			sum := func(m map[string]uint64, v any) map[string]uint64 {
				b, _ := json.Marshal(v)
				var raw map[string]any
				json.Unmarshal(b, &raw)
				if m == nil {
					m = map[string]uint64{}
				}
				flatten("", raw, m)
				return m
			}
			var prevEnd report.Timestamp
			for i, b := range r.Buckets {
				start, end := b.Start.Time(), b.End.Time()
				if end.Sub(start) != 2*time.Second || start.UnixNano()%2e9 != 0 {
					t.Errorf("bucket %d [%s, %s) is not an aligned 2 s bucket", i, b.Start, b.End)
				}
				if prevEnd != 0 && b.Start < prevEnd {
					t.Errorf("bucket %d starts %s before the previous end %s", i, b.Start, prevEnd)
				}
				prevEnd = b.End
				net = sum(net, b.Net)
				dns = sum(dns, b.DNS)
			}
			want := sum(nil, r.Summary.Net)
			for k, v := range want {
				if net[k] != v {
					t.Errorf("net.%s: buckets sum to %d, summary %d", k, net[k], v)
				}
			}
			want = sum(nil, r.Summary.DNS)
			for k, v := range want {
				if dns[k] != v {
					t.Errorf("dns.%s: buckets sum to %d, summary %d", k, dns[k], v)
				}
			}
			first, bs := r.Inputs[0].FirstTS.Time(), r.Buckets[0].Start.Time()
			if first.Before(bs) || first.Sub(bs) >= 2*time.Second {
				t.Errorf("first packet %s is not in the first bucket starting %s", first, bs)
			}
		})
	}
}

// flatten collects the additive counters of a section: every number that
// is not a cardinality, rate, latency, top list or quantile.
func flatten(prefix string, v map[string]any, out map[string]uint64) {
	for k, x := range v {
		switch k {
		case "cardinality", "top", "rates", "latency_us", "query_bytes", "response_bytes":
			continue
		}
		switch x := x.(type) {
		case float64:
			out[prefix+k] += uint64(x)
		case map[string]any:
			flatten(prefix+k+".", x, out)
		}
	}
}

// TestShardsDoNotChangeTheReport runs the same capture with 1, 2 and 5
// shards: every number must be the same.
func TestShardsDoNotChangeTheReport(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/*.pcap*")
	if len(files) == 0 {
		t.Fatal("no captures in testdata/")
	}
	for _, f := range files {
		if filepath.Ext(f) == ".json" {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			var ref string
			for _, n := range []string{"1", "2", "5"} {
				r := runVisor("analyze", "--format", "json", "--bucket", "1s", "--shards", n, f)
				if r.code != 0 {
					t.Fatalf("exit %d: %s", r.code, r.stderr)
				}
				if ref == "" {
					ref = r.stdout
				} else if r.stdout != ref {
					t.Errorf("--shards %s gives a different report than --shards 1", n)
				}
			}
		})
	}
}

// TestInputSHA256 checks the reported hash against the file's own,
// plain and through gzip.
func TestInputSHA256(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.pcap")
	writePcap(t, p, 500, time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	b, _ := os.ReadFile(p)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(b)
	zw.Close()
	gp := filepath.Join(dir, "a.pcap.gz")
	os.WriteFile(gp, gz.Bytes(), 0o644)
	for path, data := range map[string][]byte{p: b, gp: gz.Bytes()} {
		r := analyzeJSON(t, path)
		if want := fmt.Sprintf("%x", sha256.Sum256(data)); r.Inputs[0].SHA256 != want {
			t.Errorf("%s: sha256 %s, want %s", path, r.Inputs[0].SHA256, want)
		}
	}
}
