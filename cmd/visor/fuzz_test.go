package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/visor-dns/visor/capture"
	"github.com/visor-dns/visor/engine"
	"github.com/visor-dns/visor/internal/fuzzcap"
	"github.com/visor-dns/visor/report"
)

// fuzzConfig is the analysis FuzzAnalyze runs: analyze's defaults, the
// input on stdin, one shard (the report does not depend on the number; one
// spares a goroutine and a stream table per CPU on every run).
var fuzzConfig = &engine.Config{Inputs: []string{"-"}, Top: 10, Bucket: time.Minute, DNSPorts: []uint16{53, 5353, 5355},
	XactTimeout: 5 * time.Second, Slow: 500 * time.Millisecond, Progress: "never", Shards: 1, Version: "fuzz"}

func init() {
	if err := fuzzConfig.Validate(); err != nil {
		panic(err)
	}
}

// analyzeBytes runs the engine in process over b given as stdin and writes
// its report as JSON.
func analyzeBytes(b []byte) (*report.Report, []byte, error) {
	// Cancelled on return as main's signal context is: nothing of the run
	// may outlive it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rep, err := engine.Analyze(ctx, fuzzConfig, bytes.NewReader(b), io.Discard)
	if err != nil {
		return nil, nil, err
	}
	var out bytes.Buffer
	if err := report.WriteJSON(&out, rep); err != nil {
		return rep, nil, err
	}
	return rep, out.Bytes(), nil
}

// fuzzSeeds are the lab captures' first bytes: every format and link type
// the lab makes, small enough for many runs a second.
func fuzzSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, name := range []string{"lab-eth.pcap", "lab-sll2.pcap", "lab-tcp.pcap", "lab.pcapng", "knot.dnstap"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b[:min(len(b), 2048)])
	}
	return seeds
}

// FuzzAnalyze runs the whole analyze command, in process, over arbitrary
// bytes on stdin: it exits 0 with a JSON report whose counts agree with
// each other, or 2 with a message naming the input, and never panics.
func FuzzAnalyze(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x0d, 0x0d, 0x0a})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkAnalyze(t, b)
	})
}

// FuzzAnalyzeEdits runs the whole analyze command over real traffic edited
// by a fuzzcap program (TCP sequence numbers, flags, splits, merges,
// reordering, DNS length prefixes, IP fragments, times): a valid pcap, so
// the run must succeed and count every packet.
func FuzzAnalyzeEdits(f *testing.F) {
	var cs []*fuzzcap.Capture
	for _, name := range []string{"lab-tcp.pcap", "lab-eth.pcap"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		c, err := fuzzcap.ReadPcap(b)
		if err != nil {
			f.Fatal(err)
		}
		cs = append(cs, c)
	}
	for _, p := range fuzzcap.Seeds(cs, 3) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, prog []byte) {
		c := fuzzcap.Run(cs, prog)
		rep := checkAnalyze(t, c.Pcap())
		if rep == nil {
			t.Fatal("a valid pcap was refused")
		}
		if got := rep.Summary.Net.Packets; got != uint64(len(c.Packets)) {
			t.Fatalf("%d packets counted of %d", got, len(c.Packets))
		}
	})
}

// checkAnalyze runs the engine over b and checks what it says: a report
// whose JSON parses back to counts that agree with each other, or an input
// error naming stdin.
func checkAnalyze(t *testing.T, b []byte) *report.Report {
	t.Helper()
	_, out, err := analyzeBytes(b)
	if err != nil {
		var ie *engine.InputError
		var ce *capture.Error
		if !errors.As(err, &ie) || !errors.As(err, &ce) || ce.Path != "-" {
			t.Fatalf("an error that is not an input error naming stdin: %#v: %v", err, err)
		}
		return nil
	}
	var rep report.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	checkReport(t, &rep)
	return &rep
}

// checkReport asserts what every report must say of itself: the summary
// counts every input packet once, the buckets add up to the summary, and
// each breakdown adds up to its total.
func checkReport(t *testing.T, rep *report.Report) {
	t.Helper()
	if rep.Schema != report.Schema || len(rep.Inputs) != 1 || rep.Inputs[0].Path != "-" {
		t.Fatalf("schema %q, inputs %+v", rep.Schema, rep.Inputs)
	}
	var packets uint64
	for _, in := range rep.Inputs {
		packets += in.Packets
	}
	s := rep.Summary
	if s.Net.Packets != packets {
		t.Fatalf("summary counts %d packets, the input %d", s.Net.Packets, packets)
	}
	checkSection(t, "summary", &s)
	// A query times out once, maybe in a later bucket than its own.
	if s.DNS.Xacts.TimedOut > s.DNS.Queries {
		t.Fatalf("%d queries timed out of %d", s.DNS.Xacts.TimedOut, s.DNS.Queries)
	}
	var sum report.Section
	for i := range rep.Buckets {
		b := &rep.Buckets[i].Section
		checkSection(t, "bucket "+rep.Buckets[i].Start.String(), b)
		sum.Net.Packets += b.Net.Packets
		sum.Net.Bytes += b.Net.Bytes
		sum.DNS.Messages += b.DNS.Messages
		sum.DNS.Queries += b.DNS.Queries
		sum.DNS.Xacts.Total += b.DNS.Xacts.Total
	}
	if sum.Net.Packets != s.Net.Packets || sum.Net.Bytes != s.Net.Bytes || sum.DNS.Messages != s.DNS.Messages ||
		sum.DNS.Queries != s.DNS.Queries || sum.DNS.Xacts.Total != s.DNS.Xacts.Total {
		t.Fatalf("buckets add up to %+v %+v, the summary says %+v %+v", sum.Net.Packets, sum.DNS.Messages, s.Net.Packets, s.DNS.Messages)
	}
	if packets > 0 && len(rep.Buckets) == 0 {
		t.Fatalf("%d packets in no bucket", packets)
	}
	for k, v := range rep.Integrity {
		if v == 0 {
			t.Fatalf("integrity %s counts 0", k)
		}
	}
}

func checkSection(t *testing.T, where string, s *report.Section) {
	t.Helper()
	n, d := s.Net, s.DNS
	fail := func(what string, got, want uint64) {
		t.Helper()
		t.Fatalf("%s: %s: %d, want %d\nnet %+v\ndns %+v", where, what, got, want, n, d)
	}
	if got := n.IPv4 + n.IPv6 + n.NonIP; got != n.Packets {
		fail("ipv4+ipv6+non_ip", got, n.Packets)
	}
	if got := n.In + n.Out + n.UnknownDir; got != n.Packets {
		fail("in+out+unknown_dir", got, n.Packets)
	}
	if got := n.UDP + n.TCP + n.OtherL4; got != n.IPv4+n.IPv6 {
		fail("udp+tcp+other_l4", got, n.IPv4+n.IPv6)
	}
	if n.Fragments > n.IPv4+n.IPv6 {
		fail("fragments", n.Fragments, n.IPv4+n.IPv6)
	}
	if got := d.Queries + d.Responses; got != d.Messages {
		fail("queries+responses", got, d.Messages)
	}
	if got := d.UDP + d.TCP; got != d.Messages {
		fail("udp+tcp messages", got, d.Messages)
	}
	if got := d.IPv4 + d.IPv6; got != d.Messages {
		fail("ipv4+ipv6 messages", got, d.Messages)
	}
	if d.Malformed > d.Messages {
		fail("malformed", d.Malformed, d.Messages)
	}
	var rcodes, qtypes uint64
	for _, v := range d.Rcodes {
		rcodes += v
	}
	for _, v := range d.Qtypes {
		qtypes += v
	}
	if rcodes != d.Responses {
		fail("rcodes", rcodes, d.Responses)
	}
	if qtypes > d.Queries {
		fail("qtypes", qtypes, d.Queries)
	}
	if d.Xacts.Total > d.Responses {
		fail("xacts", d.Xacts.Total, d.Responses)
	}
}

// TestAnalyzeSeeds holds the lab captures, whole, to what FuzzAnalyze
// checks of its inputs, so the invariants are known to hold on real traffic.
func TestAnalyzeSeeds(t *testing.T) {
	for _, name := range []string{"lab-eth.pcap", "lab-tcp.pcap", "lab.pcapng", "knot.dnstap", "attack-amplification.pcap"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			rep := checkAnalyze(t, b)
			if rep == nil || rep.Summary.DNS.Messages == 0 {
				t.Fatal("no DNS messages")
			}
			// The schema check is too slow for every fuzz run; here, once.
			_, out, _ := analyzeBytes(b)
			if err := report.Validate(out); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestAnalyzeCommandInput holds the command to what it does with inputs
// the engine refuses: exit 2 and a message naming the input.
func TestAnalyzeCommandInput(t *testing.T) {
	for name, in := range map[string][]byte{"empty": nil, "short": {0xd4, 0xc3}, "unknown": []byte("not a capture at all")} {
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"analyze", "--format", "json", "--progress", "never", "-"}, bytes.NewReader(in), &out, &errb)
			if code != exitUsage || !strings.HasPrefix(errb.String(), "visor: -") || out.Len() > 0 {
				t.Fatalf("exit %d, stderr %q, %d bytes of report", code, errb.String(), out.Len())
			}
		})
	}
}

// TestAnalyzeInputErrorNoLeak: a run that ends in an input error must stop
// its shards and merger, or every such input in a fuzz worker keeps their
// goroutines and buffers (MBs) for good, and the worker slows to a crawl.
func TestAnalyzeInputErrorNoLeak(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "knot.dnstap"))
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	for i := 0; i < 10; i++ {
		if _, _, err := analyzeBytes(b[:100]); err == nil {
			t.Fatal("a cut dnstap frame read without error")
		}
	}
	for i := 0; i < 100 && runtime.NumGoroutine() > before; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines before, %d after 10 failed runs", before, n)
	}
}
