package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/visor-dns/visor/internal/truth"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func found(kind, keyName, key string, start, end time.Duration, count float64) Found {
	return Found{Kind: kind, Severity: "high", Summary: "s", Start: t0.Add(start), Peak: t0.Add(start), End: t0.Add(end),
		Evidence: map[string]any{keyName: key, "queries": count}}
}

func TestScore(t *testing.T) {
	attack := &CorpusTruth{Scenario: "a", Expect: []Expected{{Expect: truth.Expect{Kind: "random_subdomain", Zone: "victim.example"}, Launch: TimeString(t0)}}}
	ordinary := &CorpusTruth{Scenario: "o", Expect: []Expected{}}
	rs := found("random_subdomain", "zone", "victim.example", 500*time.Millisecond, 5*time.Second, 1000)
	for _, c := range []struct {
		name   string
		truth  *CorpusTruth
		fs     []Found
		misses []string
		fp     int
	}{
		{"found", attack, []Found{rs}, nil, 0},
		{"late", attack, []Found{found("random_subdomain", "zone", "victim.example", 2500*time.Millisecond, 5*time.Second, 1)},
			[]string{"random_subdomain(victim.example) starts 2.5s from the launch"}, 0},
		{"early", attack, []Found{found("random_subdomain", "zone", "victim.example", -2100*time.Millisecond, 5*time.Second, 1)},
			[]string{"random_subdomain(victim.example) starts -2.1s from the launch"}, 0},
		{"parent zone", attack, []Found{found("random_subdomain", "zone", "example", 0, time.Second, 1)},
			[]string{"no random_subdomain(victim.example)", "false positives random_subdomain(example)"}, 1},
		{"explained twice", attack, []Found{rs, found("query_flood", "prefix", "198.51.100.0/24", 0, time.Second, 1)},
			[]string{"false positives query_flood(198.51.100.0/24)"}, 1},
		{"none", attack, nil, []string{"no random_subdomain(victim.example)"}, 0},
		{"ordinary", ordinary, nil, nil, 0},
		{"ordinary finding", ordinary, []Found{found("tcp_syn_flood", "target", "198.51.100.2", 0, time.Second, 1)},
			[]string{"false positives tcp_syn_flood(198.51.100.2)"}, 1},
	} {
		r := Score(c.truth, time.Second, c.fs)
		if strings.Join(r.Misses, "|") != strings.Join(c.misses, "|") || r.FalsePositives != c.fp || r.Pass() != (len(c.misses) == 0) {
			t.Errorf("%s: misses %q, false positives %d; want %q, %d", c.name, r.Misses, r.FalsePositives, c.misses, c.fp)
		}
	}
	if r := Score(attack, time.Second, []Found{rs}); len(r.StartErr) != 1 || r.StartErr[0] != 500*time.Millisecond {
		t.Errorf("start error %v, want [500ms]", r.StartErr)
	}
}

func TestConsistent(t *testing.T) {
	attack := &CorpusTruth{Scenario: "a", Expect: []Expected{{Expect: truth.Expect{Kind: "random_subdomain", Zone: "victim.example"}, Launch: TimeString(t0)}}}
	rows := []Row{
		Score(attack, time.Second, []Found{found("random_subdomain", "zone", "victim.example", 0, 10*time.Second, 1000)}),
		Score(attack, 10*time.Second, []Found{found("random_subdomain", "zone", "victim.example", 900*time.Millisecond, 10*time.Second, 1040)}),
		Score(attack, time.Minute, []Found{found("random_subdomain", "zone", "victim.example", 0, 12*time.Second, 1100)}),
		Score(attack, 5*time.Minute, []Found{found("random_subdomain", "zone", "victim.example", 0, 10*time.Second, 1000),
			found("nxdomain_flood", "zone", "victim.example", 0, 10*time.Second, 1000)}),
	}
	Consistent(rows)
	want := [][]string{nil, nil,
		{"random_subdomain(victim.example) end 2s from its end at 1s", "random_subdomain(victim.example) queries 1100, 1000 at 1s"},
		{"false positives nxdomain_flood(victim.example)"}}
	for i, r := range rows {
		if strings.Join(r.Misses, "|") != strings.Join(want[i], "|") {
			t.Errorf("%s: misses %q, want %q", BucketName(r.Bucket), r.Misses, want[i])
		}
	}
	card := Scorecard(rows)
	for _, w := range []string{"2 of 4 rows pass.", "| a | 5m | `random_subdomain(victim.example)` | `random_subdomain(victim.example) nxdomain_flood(victim.example)` | +0.00s | 1 | **MISS** |",
		"- a at 1m: random_subdomain(victim.example) end 2s"} {
		if !strings.Contains(card, w) {
			t.Errorf("the scorecard lacks %q:\n%s", w, card)
		}
	}
}

func TestKey(t *testing.T) {
	f := Found{Evidence: map[string]any{"zones": []any{map[string]any{"name": "flood.example", "nxdomain": 3.0}}}}
	if f.Key() != "flood.example" {
		t.Errorf("key %q", f.Key())
	}
	fs, err := ReportFindings([]byte(`{"findings":[{"kind":"reflection","start":"2026-11-30T12:00:01.5Z","peak":"2026-11-30T12:00:02Z","end":"2026-11-30T12:00:03Z","evidence":{"target":"198.51.100.66"}}]}`))
	if err != nil || len(fs) != 1 || fs[0].Key() != "198.51.100.66" || !fs[0].Start.Equal(t0.Add(1500*time.Millisecond)) {
		t.Errorf("%+v, %v", fs, err)
	}
}

// writePcap writes UDP packets from src at the offsets from t0.
func writePcap(t *testing.T, path, src string, offs ...time.Duration) {
	err := writeNanoPcap(path, layers.LinkTypeEthernet, func(w *pcapgo.Writer) error {
		for _, o := range offs {
			b := UDP(t, src, "198.51.100.2", 5000, 53, []byte("x"))
			if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: t0.Add(o), CaptureLength: len(b), Length: len(b)}, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func offsets(t *testing.T, path string) []time.Duration {
	var out []time.Duration
	if err := eachPacket(path, func(ci gopacket.CaptureInfo, _ []byte) error {
		out = append(out, ci.Timestamp.Sub(t0))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTileRetimeMerge(t *testing.T) {
	dir := t.TempDir()
	bg, atk := filepath.Join(dir, "bg.pcap"), filepath.Join(dir, "atk.pcap")
	writePcap(t, bg, "198.51.100.10", 0, 500*time.Millisecond, 1200*time.Millisecond)
	writePcap(t, atk, "198.51.100.88", 100*time.Millisecond, 200*time.Millisecond)
	tiled, stretched, out := filepath.Join(dir, "tiled.pcap"), filepath.Join(dir, "str.pcap"), filepath.Join(dir, "out.pcap")
	if err := Tile(bg, tiled, 3, time.Second); err != nil {
		t.Fatal(err)
	}
	ms := time.Millisecond
	if got, want := offsets(t, tiled), []time.Duration{0, 500 * ms, 1000 * ms, 1500 * ms, 2000 * ms, 2500 * ms}; !equal(got, want) {
		t.Errorf("tiled %v, want %v", got, want)
	}
	first := t0.Add(100 * ms)
	if err := Retime(atk, stretched, func(x time.Time) time.Time { return t0.Add(1200*ms + x.Sub(first)*10) }); err != nil {
		t.Fatal(err)
	}
	if err := Merge(out, tiled, stretched); err != nil {
		t.Fatal(err)
	}
	if got, want := offsets(t, out), []time.Duration{0, 500 * ms, 1000 * ms, 1200 * ms, 1500 * ms, 2000 * ms, 2200 * ms, 2500 * ms}; !equal(got, want) {
		t.Errorf("merged %v, want %v", got, want)
	}
	at, err := FirstPacket(out, t0.Add(1300*ms), FromAny("198.51.100.88"))
	if err != nil || !at.Equal(t0.Add(2200*ms)) {
		t.Errorf("first packet %s, %v; want +2.2s", at.Sub(t0), err)
	}
	if _, err := FirstPacket(out, t0, FromAny("198.51.100.99")); err == nil {
		t.Error("a packet from nowhere was found")
	}
	first2, last, n, err := Span(out)
	if err != nil || !first2.Equal(t0) || !last.Equal(t0.Add(2500*ms)) || n != 8 {
		t.Errorf("span %s %s %d %v", first2, last, n, err)
	}
}

func equal(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWriteScorecard(t *testing.T) {
	p := filepath.Join(t.TempDir(), "card.md")
	if err := WriteScorecard(p, "one\n"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, []byte("# Title\n\n"+ScorecardBegin+"\nold\n"+ScorecardEnd+"\n\nafter\n"), 0o644)
	if err := WriteScorecard(p, "new\n"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "# Title\n\n"+ScorecardBegin+"\nnew\n"+ScorecardEnd+"\n\nafter\n" {
		t.Errorf("%q", b)
	}
}
