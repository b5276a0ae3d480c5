package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/report"
)

// stampedLive yields its packets at the capture times given, then stays
// idle.
type stampedLive struct {
	fakeLive
	ts []int64
}

func (f *stampedLive) Next(p *visor.Packet) error {
	n := f.info.Packets
	if err := f.fakeLive.Next(p); err != nil {
		return err
	}
	p.TS = f.ts[n]
	return nil
}

// TestLiveSummary: visor live --format summary's summary gives the live
// run's report (every bucket, the totals, the findings), also once written
// to a file and read back.
func TestLiveSummary(t *testing.T) {
	src := &stampedLive{fakeLive: fakeLive{info: visor.InputInfo{Path: "veth-test", Format: "afpacket"}}}
	base := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC).UnixNano()
	for i := 0; i < 40; i++ {
		rcode := dns.RcodeSuccess
		if i%4 == 0 {
			rcode = dns.RcodeNameError
		}
		for j, p := range dnsPair(t, uint16(i), "h.example.", rcode) {
			src.pkts = append(src.pkts, p)
			src.ts = append(src.ts, base+int64(i)*int64(100*time.Millisecond)+int64(j)*int64(3*time.Millisecond))
		}
	}
	cfg := liveTestConfig(t, time.Second)
	rec, err := newLiveRecorder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec.skipEmpty = true
	lo := &Live{Interface: "veth-test", Snaplen: MaxSnaplen, Count: uint64(len(src.pkts))}
	var out, errOut bytes.Buffer
	rep, sum, err := runLive(context.Background(), cfg, lo, nil, src, nil, nil, rec, &out, &errOut)
	if err != nil {
		t.Fatalf("%v (stderr %q)", err, errOut.String())
	}
	defer rep.Close()
	defer sum.Close()
	if len(rep.Buckets) != 4 || rep.Summary.DNS.Queries != 40 {
		t.Fatalf("live report: %d buckets, %d queries; want 4 and 40", len(rep.Buckets), rep.Summary.DNS.Queries)
	}
	path := filepath.Join(t.TempDir(), "live.vsum")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sum.Write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	read, err := ReadSummary(path)
	if err != nil {
		t.Fatal(err)
	}
	defer read.Close()
	want := reportCore(t, rep)
	for name, s := range map[string]*Summary{"in memory": sum, "read back": read} {
		srep, err := s.Report()
		if err != nil {
			t.Fatal(err)
		}
		if got := reportCore(t, srep); got != want {
			t.Errorf("%s: the summary's report differs from the live run's:\n got %s\nwant %s", name, got, want)
		}
		if len(srep.Inputs) != 1 || srep.Inputs[0].Path != "veth-test" || srep.Inputs[0].Packets != 80 {
			t.Errorf("%s: inputs %+v, want veth-test with 80 packets", name, srep.Inputs)
		}
		srep.Close()
	}
}

// reportCore is the JSON of what a summary must keep of a run: every
// bucket's and the totals' net and DNS sections, the findings and the
// integrity. (The packet-rate quantiles and empty encrypted-DNS tops of a
// live report are not compared: a live report leaves them out.)
func reportCore(t *testing.T, r *report.Report) string {
	t.Helper()
	if err := r.LoadBuckets(); err != nil {
		t.Fatal(err)
	}
	type section struct {
		Start, End report.Timestamp
		Net        report.Net
		DNS        report.DNS
	}
	core := func(start, end report.Timestamp, s report.Section) section {
		s.Net.Rates.PPS = report.Quantiles{}
		return section{start, end, s.Net, s.DNS}
	}
	var secs []section
	for _, b := range r.Buckets {
		secs = append(secs, core(b.Start, b.End, b.Section))
	}
	secs = append(secs, core(0, 0, r.Summary))
	b, err := json.Marshal(struct {
		Sections  []section
		Findings  []report.Finding
		Integrity map[string]uint64
	}{secs, r.Findings, r.Integrity})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
