package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dnstap "github.com/dnstap/golang-dnstap"
	framestream "github.com/farsightsec/golang-framestream"

	"github.com/visor-dns/visor/internal/lab"
	"github.com/visor-dns/visor/report"
)

// The hostile regression suite (issue 16): each reproduction as a small
// generated input and the outcome visor must give.

// tcpPcap is lab.TCPPcap for a test.
func tcpPcap(t *testing.T, segs []lab.Segment) []byte {
	t.Helper()
	b, err := lab.TCPPcap(net.HardwareAddr{2, 0, 0, 0, 0, 2}, segs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tcpQuery(t *testing.T, name string) []byte {
	t.Helper()
	b, err := lab.TCPQuery(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHostileTCP(t *testing.T) {
	q := tcpQuery(t, "a.example.test")
	for _, tc := range []struct {
		name    string
		segs    []lab.Segment
		queries float64
	}{
		// A SYN, then a segment half the sequence space away: a panic once.
		{"segment at seq+1+2^31", []lab.Segment{{Seq: 1000, SYN: true}, {Seq: 1001 + 1<<31, Data: q}}, 0},
		{"segment at seq+2^31", []lab.Segment{{Seq: 1000, SYN: true}, {Seq: 1000 + 1<<31, Data: q}}, 0},
		{"one byte then the rest 2^31 away", []lab.Segment{{Seq: 1000, SYN: true}, {Seq: 1001, Data: q[:1]}, {Seq: 1002 + 1<<31, Data: q[1:]}}, 0},
		{"in order", []lab.Segment{{Seq: 1000, SYN: true}, {Seq: 1001, Data: q}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runVisorStdin(tcpPcap(t, tc.segs), "analyze", "--format", "json", "-")
			if res.code != 0 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			var r struct {
				Summary struct {
					DNS struct {
						Queries float64 `json:"queries"`
					} `json:"dns"`
				} `json:"summary"`
			}
			if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
				t.Fatal(err)
			}
			if r.Summary.DNS.Queries != tc.queries {
				t.Errorf("queries %v, want %v", r.Summary.DNS.Queries, tc.queries)
			}
		})
	}
}

func TestHostileOutputs(t *testing.T) {
	dir := t.TempDir()
	lab := "../../testdata/lab-eth.pcap"
	old := filepath.Join(dir, "old.json")
	os.WriteFile(old, []byte("previous report"), 0o644)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"-o in a missing directory fails before reading", []string{"analyze", "-o", filepath.Join(dir, "missing", "x.json"), lab}, 2, "--output: cannot create"},
		{"-o a directory", []string{"analyze", "-o", dir, lab}, 2, "is a directory"},
		{"-o a full disk", []string{"analyze", "-o", "/dev/full", lab}, 2, "no space left"},
		{"check -o a full disk", []string{"check", "--assert", "net.packets > 0", "-o", "/dev/full", lab}, 2, "no space left"},
		{"--junit in a missing directory", []string{"check", "--assert", "net.packets > 0", "--junit", filepath.Join(dir, "no", "j.xml"), lab}, 2, "--junit"},
		{"live -o in a missing directory fails before capturing", []string{"live", "--dnstap-socket", filepath.Join(dir, "s"), "-o", "/missing/dir/x.json"}, 2, "--output"},
		{"NaN threshold", []string{"analyze", "--threshold", "rs-names=NaN", lab}, 2, "finite"},
		{"infinite threshold", []string{"analyze", "--threshold", "rs-names=+Inf", lab}, 2, "finite"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runVisor(tc.args...)
			if res.code != tc.code || !strings.Contains(res.stderr, tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", res.code, res.stderr, tc.code, tc.stderr)
			}
		})
	}
	if b, _ := os.ReadFile(old); string(b) != "previous report" {
		t.Errorf("an unrelated file changed: %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// A carve that fails must not lose the report.
func TestHostileCarve(t *testing.T) {
	// --carve into a path that cannot be a directory: report, then exit 2.
	res := runVisor("analyze", "--format", "json", "--bucket", "1s", "--carve", "/dev/null/x", "../../testdata/attack-random-subdomain.pcap")
	if res.code != 2 || !strings.Contains(res.stderr, "--carve") {
		t.Fatalf("exit %d, stderr %s", res.code, res.stderr)
	}
	if err := report.Validate([]byte(res.stdout)); err != nil {
		t.Fatalf("no whole report after a failed carve: %v", err)
	}
}

// pcapngEPB is a little-endian pcapng file: one Ethernet interface at
// microsecond resolution, then one Enhanced Packet Block a timestamp.
func pcapngEPB(t *testing.T, data []byte, micros ...uint64) []byte {
	t.Helper()
	var b bytes.Buffer
	le := func(v ...any) {
		for _, x := range v {
			binary.Write(&b, binary.LittleEndian, x)
		}
	}
	le(uint32(0x0A0D0D0A), uint32(28), uint32(0x1A2B3C4D), uint16(1), uint16(0), int64(-1), uint32(28))
	le(uint32(1), uint32(20), uint16(1), uint16(0), uint32(65535), uint32(20))
	pad := (4 - len(data)%4) % 4
	for _, us := range micros {
		n := uint32(32 + len(data) + pad)
		le(uint32(6), n, uint32(0), uint32(us>>32), uint32(us), uint32(len(data)), uint32(len(data)))
		b.Write(data)
		b.Write(make([]byte, pad))
		le(n)
	}
	return b.Bytes()
}

// Times past 2262 are input errors counted in integrity, never wrapped.
func TestHostileTimestamps(t *testing.T) {
	pkt := dnsPacket(t, 1, "a.example.test", false)
	good := uint64(1_700_000_000) * 1e6
	in := pcapngEPB(t, pkt, good, uint64(1)<<40*1e6, good+1)
	res := runVisorStdin(in, "analyze", "--format", "json", "-")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
		t.Fatal(err)
	}
	if r.Integrity["timestamp_out_of_range"] != 1 || r.Summary.Net.Packets != 2 {
		t.Fatalf("integrity %v, %d packets; want 1 out of range, 2 packets", r.Integrity, r.Summary.Net.Packets)
	}
	if !strings.HasPrefix(r.Inputs[0].LastTS.String(), "2023-") {
		t.Errorf("last_ts %s", r.Inputs[0].LastTS)
	}
}

// One bad dnstap frame is skipped and counted; the stream goes on.
func TestHostileDNSTapFrame(t *testing.T) {
	f, err := os.Open("../../testdata/unbound.dnstap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := framestream.NewReader(f, &framestream.ReaderOptions{ContentTypes: [][]byte{dnstap.FSContentType}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := framestream.NewWriter(&out, &framestream.WriterOptions{ContentTypes: [][]byte{dnstap.FSContentType}})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<16)
	frames := 0
	for {
		n, err := r.ReadFrame(buf)
		if err != nil {
			break
		}
		if frames == 5 {
			w.WriteFrame([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01}) // a length past the frame
		}
		w.WriteFrame(buf[:n])
		frames++
	}
	w.Close()
	res := runVisorStdin(out.Bytes(), "analyze", "--format", "json", "-")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	var rep report.Report
	json.Unmarshal([]byte(res.stdout), &rep)
	want := analyzeJSON(t, "../../testdata/unbound.dnstap")
	if rep.Integrity["dnstap_bad_frame"] != 1 || rep.Summary.DNS.Messages != want.Summary.DNS.Messages {
		t.Fatalf("integrity %v, %d messages; want dnstap_bad_frame 1 and all %d messages", rep.Integrity, rep.Summary.DNS.Messages, want.Summary.DNS.Messages)
	}
}

// Names from the traffic cannot make unbounded series in an OpenMetrics
// file either: --top-series folds the rest into __other__.
func TestOpenMetricsTopSeries(t *testing.T) {
	lab := "../../testdata/lab-eth.pcap"
	all := runVisor("analyze", "--format", "openmetrics", "--top-series", "0", lab)
	capped := runVisor("analyze", "--format", "openmetrics", "--top-series", "2", lab)
	if all.code != 0 || capped.code != 0 {
		t.Fatalf("exit %d, %d: %s %s", all.code, capped.code, all.stderr, capped.stderr)
	}
	if strings.Contains(all.stdout, "__other__") || !strings.Contains(capped.stdout, `qname="__other__"`) {
		t.Errorf("__other__ in the uncapped file: %v; in the capped one: %v",
			strings.Contains(all.stdout, "__other__"), strings.Contains(capped.stdout, "__other__"))
	}
	if !strings.Contains(capped.stderr, "visor: --top-series 2: visor_dns_top_qname_messages:") {
		t.Errorf("stderr does not say what was folded: %s", capped.stderr)
	}
	count := func(s, fam string) (n int) {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, fam+" ") || strings.HasPrefix(l, fam+"{") {
				n++
			}
		}
		return n
	}
	if a, c := count(all.stdout, "visor_dns_queries_total"), count(capped.stdout, "visor_dns_queries_total"); a != c || a == 0 {
		t.Errorf("a family with fixed labels changed: %d samples, then %d", a, c)
	}
}

// --strict fails on a problem with the input, in words, never on what is
// normal at a capture's edges (queries still open at its end).
func TestStrict(t *testing.T) {
	for _, f := range []string{"lab-eth.pcap", "lab.pcapng", "unbound.dnstap", "attack-random-subdomain.pcap"} {
		if res := runVisor("analyze", "--strict", "--format", "json", "../../testdata/"+f); res.code != 0 {
			t.Errorf("%s: exit %d: %s", f, res.code, res.stderr)
		}
	}
	pkt := dnsPacket(t, 1, "a.example.test", false)
	good := uint64(1_700_000_000) * 1e6
	res := runVisorStdin(pcapngEPB(t, pkt, good, uint64(1)<<40*1e6), "analyze", "--strict", "-")
	if res.code != 1 || !strings.Contains(res.stderr, "--strict") || strings.Contains(res.stderr, "map[") {
		t.Errorf("exit %d, stderr %q: want 1 and the problem in words", res.code, res.stderr)
	}
}
