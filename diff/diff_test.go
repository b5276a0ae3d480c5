package diff_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/visor-dns/visor/diff"
	"github.com/visor-dns/visor/engine"
	"github.com/visor-dns/visor/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func analyse(t testing.TB, path string) *report.Report {
	t.Helper()
	cfg := &engine.Config{Inputs: []string{path}, Top: 10, Bucket: time.Minute, DNSPorts: []uint16{53},
		XactTimeout: 5 * time.Second, Slow: 500 * time.Millisecond, Progress: "never", Version: "test"}
	rep, err := engine.Analyze(context.Background(), cfg, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.LoadBuckets(); err != nil {
		t.Fatal(err)
	}
	return rep
}

// rewrite copies the pcap at src to dir/name, keeping the packets keep
// accepts, with their times moved by shift.
func rewrite(t *testing.T, src, dir, name string, shift time.Duration, keep func([]byte) bool) string {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	o, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	w := pcapgo.NewWriter(o)
	if err := w.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
		t.Fatal(err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if keep != nil && !keep(data) {
			continue
		}
		ci.Timestamp = ci.Timestamp.Add(shift)
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func noIPv6(frame []byte) bool {
	return len(frame) < 14 || binary.BigEndian.Uint16(frame[12:]) != 0x86dd
}

type pair struct {
	name          string
	before, after diff.Side
}

func pairs(t *testing.T) []pair {
	dir := t.TempDir()
	side := func(label, path string) diff.Side {
		rep := analyse(t, path)
		for i := range rep.Inputs {
			rep.Inputs[i].Path = label // the temporary directory is not in the goldens
		}
		return diff.Side{Label: label, Kind: "capture", Report: rep, Top: 10}
	}
	eth := "../testdata/lab-eth.pcap"
	return []pair{
		{"attack", side("attack-ordinary.pcap", "../testdata/attack-ordinary.pcap"),
			side("attack-random-subdomain.pcap", "../testdata/attack-random-subdomain.pcap")},
		{"shifted", side("lab-eth.pcap", eth),
			side("lab-eth+1h.pcap", rewrite(t, eth, dir, "shifted.pcap", time.Hour, nil))},
		{"no-ipv6", side("lab-eth.pcap", eth),
			side("lab-eth-ipv4.pcap", rewrite(t, eth, dir, "ipv4.pcap", 0, noIPv6))},
	}
}

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
		t.Fatalf("%v (go test ./diff -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test ./diff -update rewrites it)\ngot:\n%s", path, got)
	}
}

// The diffs of testdata captures, in every format, are their goldens; the
// JSON validates against the schema and the table fits 80 columns.
func TestGolden(t *testing.T) {
	for _, p := range pairs(t) {
		t.Run(p.name, func(t *testing.T) {
			d := diff.Compute(p.before, p.after, diff.Options{})
			var js, tab, md bytes.Buffer
			if err := diff.WriteJSON(&js, d); err != nil {
				t.Fatal(err)
			}
			if err := diff.Validate(js.Bytes()); err != nil {
				t.Errorf("the JSON does not validate: %v", err)
			}
			var back diff.Diff
			if err := json.Unmarshal(js.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			if err := diff.WriteTable(&tab, d, diff.TableOptions{}); err != nil {
				t.Fatal(err)
			}
			for i, l := range strings.Split(tab.String(), "\n") {
				if n := utf8.RuneCountInString(l); n > 80 {
					t.Errorf("table line %d is %d columns: %q", i+1, n, l)
				}
			}
			if err := diff.WriteMarkdown(&md, d); err != nil {
				t.Fatal(err)
			}
			golden(t, p.name+".json", js.Bytes())
			golden(t, p.name+".txt", tab.Bytes())
			golden(t, p.name+".md", md.Bytes())
		})
	}
}

// The same traffic an hour later is no change at all: every delta 0,
// no estimate changed, no name moved, every finding on both sides.
func TestShiftedIsNoChange(t *testing.T) {
	p := pairs(t)[1]
	d := diff.Compute(p.before, p.after, diff.Options{})
	if len(d.Counters) < 10 {
		t.Fatalf("only %d counters", len(d.Counters))
	}
	for _, c := range d.Counters {
		if c.Delta != 0 || c.Ratio == nil || *c.Ratio != 1 {
			t.Errorf("%s: %d -> %d", c.Name, c.Before, c.After)
		}
	}
	for _, e := range d.Estimates {
		if e.Changed {
			t.Errorf("estimate %s changed: %v -> %v", e.Name, e.Before, e.After)
		}
	}
	for _, s := range append(d.Rcodes, d.Qtypes...) {
		if s.ShareDelta != 0 {
			t.Errorf("share %s moved by %v", s.Name, s.ShareDelta)
		}
	}
	for _, td := range d.Tops {
		if len(td.Appeared)+len(td.Vanished)+len(td.Changed)+td.More != 0 {
			t.Errorf("%s: %+v", td.List, td)
		}
	}
	if len(d.Findings.OnlyBefore)+len(d.Findings.OnlyAfter) != 0 {
		t.Errorf("findings %+v", d.Findings)
	}
	if d.Before.Seconds == 0 || d.Before.Seconds != d.After.Seconds {
		t.Errorf("seconds %v and %v", d.Before.Seconds, d.After.Seconds)
	}
}

// Without its IPv6 packets, lab-eth loses exactly its IPv6 counts, and
// its IPv6 clients vanish from the client list.
func TestFilteredLosesIPv6(t *testing.T) {
	p := pairs(t)[2]
	d := diff.Compute(p.before, p.after, diff.Options{})
	by := map[string]diff.Counter{}
	for _, c := range d.Counters {
		by[c.Name] = c
	}
	b := p.before.Report.Summary
	if c := by["net.ipv6"]; c.After != 0 || c.Before != b.Net.IPv6 || c.Before == 0 {
		t.Errorf("net.ipv6 %+v", c)
	}
	if c := by["dns.ipv6"]; c.After != 0 || c.Delta != -int64(b.DNS.IPv6) {
		t.Errorf("dns.ipv6 %+v", c)
	}
	if c := by["dns.ipv4"]; c.Delta != 0 {
		t.Errorf("dns.ipv4 %+v", c)
	}
	var clients *diff.TopDiff
	for i := range d.Tops {
		if d.Tops[i].List == "dns.top.clients" {
			clients = &d.Tops[i]
		}
	}
	if clients == nil || len(clients.Vanished) == 0 {
		t.Fatalf("no client vanished: %+v", clients)
	}
	for _, c := range clients.Vanished {
		if !strings.Contains(c.Name, ":") {
			t.Errorf("IPv4 client %s vanished", c.Name)
		}
	}
	for _, c := range clients.Appeared {
		if strings.Contains(c.Name, ":") {
			t.Errorf("IPv6 client %s appeared", c.Name)
		}
	}
}

// The attack capture has its finding only after, and the victim zone
// among the names that appeared.
func TestAttackAppears(t *testing.T) {
	p := pairs(t)[0]
	d := diff.Compute(p.before, p.after, diff.Options{})
	var found bool
	for _, f := range d.Findings.OnlyAfter {
		if f.Kind == "random_subdomain" && f.Subject == "victim.example" {
			found = true
		}
	}
	if !found {
		t.Errorf("random_subdomain victim.example is not only after: %+v", d.Findings)
	}
}
