package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/visor-dns/visor/report"
)

// splitCapture cuts in into pieces with editcap (-c packets a piece, or
// -i seconds a piece) and returns their paths in order.
func splitCapture(t *testing.T, in, dir string, args ...string) []string {
	t.Helper()
	if _, err := exec.LookPath("editcap"); err != nil {
		t.Skip("editcap (wireshark-common, scripts/deps.sh) is not installed")
	}
	out := filepath.Join(dir, "piece.pcap")
	if b, err := exec.Command("editcap", append(args, in, out)...).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v: %s", err, b)
	}
	ps, _ := filepath.Glob(filepath.Join(dir, "piece_*.pcap"))
	slices.Sort(ps)
	return ps
}

// composed names the capture composeCapture makes.
const composed = "composed.pcap"

// composeCapture writes to path two minutes of testdata's ordinary traffic
// (attack-ordinary.pcap twenty times over) with a random-subdomain attack
// at 40 s, a query flood at 52 s and an NXDOMAIN flood at 85 s, each
// capture shifted in time, the packets in time order.
func composeCapture(t *testing.T, path string) string {
	t.Helper()
	type pkt struct {
		ci   gopacket.CaptureInfo
		data []byte
	}
	var all []pkt
	var t0 time.Time
	add := func(name string, at time.Duration) {
		f, err := os.Open(filepath.Join("..", "..", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		r, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		var shift time.Duration
		for i := 0; ; i++ {
			data, ci, err := r.ReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if t0.IsZero() {
					t0 = ci.Timestamp
				}
				shift = t0.Add(at).Sub(ci.Timestamp)
			}
			ci.Timestamp = ci.Timestamp.Add(shift)
			all = append(all, pkt{ci, data})
		}
	}
	for i := range 20 {
		add("attack-ordinary.pcap", time.Duration(i)*6*time.Second)
	}
	add("attack-random-subdomain.pcap", 40*time.Second)
	add("attack-query-flood.pcap", 52*time.Second)
	add("attack-nxdomain.pcap", 85*time.Second)
	slices.SortStableFunc(all, func(a, b pkt) int { return a.ci.Timestamp.Compare(b.ci.Timestamp) })
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for _, p := range all {
		if err := w.WritePacket(p.ci, p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	r := runVisor(args...)
	if r.code != 0 {
		t.Fatalf("visor %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// jsonReport reads a JSON report as untyped values.
func jsonReport(t *testing.T, s string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMergePieces is issue 21's acceptance test: a capture cut into 2, 8
// and 32 pieces (by packets and by time), each piece analysed by its own
// visor run into a summary, the summaries merged in several orders and
// trees, against the analysis of the whole capture: every counter, rcode,
// qtype, transaction and timeout equal; top lists equal where exact and
// within their error otherwise; cardinalities within the sketch's error;
// latency quantiles within 1 %; findings the same, judged again on the
// pieces' findings states (every attack capture of testdata). Each piece is
// analysed by a visor process of its own. Every order and tree gives the
// same report.
func TestMergePieces(t *testing.T) {
	cases := []struct {
		capture string
		split   []string
		bucket  string // 1s when empty
	}{
		{"attack-nxdomain.pcap", []string{"-c", "1782"}, ""},        // 2 pieces
		{"attack-nxdomain.pcap", []string{"-c", "446"}, ""},         // 8
		{"attack-nxdomain.pcap", []string{"-c", "112"}, ""},         // 32
		{"attack-random-subdomain.pcap", []string{"-c", "683"}, ""}, // 8
		{"attack-random-subdomain.pcap", []string{"-i", "1"}, ""},   // by seconds
		{"lab-eth.pcap", []string{"-c", "1284"}, ""},                // 2, UDP and TCP
		{"lab-eth.pcap", []string{"-c", "321"}, ""},                 // 8
		{"lab-eth.pcap", []string{"-c", "81"}, ""},                  // 32
		{"unbound-client.pcap", []string{"-c", "33"}, ""},           // 32
		// Every attack of testdata: its finding judged on the merged
		// pieces' findings states.
		// (Cut where no IP fragment is parted from its datagram's first:
		// fragments are not joined across files, docs/summaries.md.)
		{"attack-amplification.pcap", []string{"-c", "157"}, ""},    // 8
		{"attack-amplification.pcap", []string{"-c", "600"}, ""},    // 3
		{"attack-query-flood.pcap", []string{"-c", "5238"}, ""},     // 2
		{"attack-query-flood.pcap", []string{"-c", "1310"}, ""},     // 8
		{"attack-servfail.pcap", []string{"-c", "220"}, ""},         // 8
		{"attack-servfail.pcap", []string{"-i", "1"}, ""},           // by seconds
		{"attack-syn-flood.pcap", []string{"-c", "511"}, ""},        // 8
		{"attack-syn-flood.pcap", []string{"-c", "128"}, ""},        // 32
		{"attack-tunnel.pcap", []string{"-c", "784"}, ""},           // 2
		{"attack-tunnel.pcap", []string{"-c", "49"}, ""},            // 32
		{"attack-random-subdomain.pcap", []string{"-c", "171"}, ""}, // 32
		{"attack-ordinary.pcap", []string{"-c", "91"}, ""},          // 8, no finding
		// Two minutes of ordinary traffic with three attacks in it, in
		// buckets that hold whole detection windows: the summaries write
		// the findings states of their inner buckets pruned.
		{composed, []string{"-c", "17000"}, "10s"}, // 2
		{composed, []string{"-c", "11200"}, "10s"}, // 3
		{composed, []string{"-i", "50"}, "10s"},    // by 50 seconds
		{composed, []string{"-i", "50"}, "20s"},
	}
	dir := t.TempDir()
	comp := composeCapture(t, filepath.Join(dir, composed))
	for _, c := range cases {
		t.Run(c.capture+strings.Join(c.split, "")+c.bucket, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join("..", "..", "testdata", c.capture)
			if c.capture == composed {
				in = comp
			}
			bucket := cmp.Or(c.bucket, "1s")
			common := []string{"--bucket", bucket, "--progress", "never"}
			whole := jsonReport(t, mustRun(t, append([]string{"analyze", "-j", "1", "--format", "json", in}, common...)...))
			pieces := splitCapture(t, in, dir, c.split...)
			var sums []string
			for i, p := range pieces {
				// Each piece in a process of its own, as on other machines.
				s := filepath.Join(dir, fmt.Sprintf("p%02d.vsum", i))
				childRun(t, append([]string{"analyze", "--format", "summary", "-o", s, p}, common...)...)
				sums = append(sums, s)
			}
			// Orders and trees.
			merged := map[string]string{}
			merged["in order"] = mustRun(t, append([]string{"merge", "--format", "json"}, sums...)...)
			rev := slices.Clone(sums)
			slices.Reverse(rev)
			merged["reversed"] = mustRun(t, append([]string{"merge", "--format", "json"}, rev...)...)
			shuf := slices.Clone(sums)
			rand.New(rand.NewPCG(1, uint64(len(sums)))).Shuffle(len(shuf), func(i, j int) { shuf[i], shuf[j] = shuf[j], shuf[i] })
			merged["shuffled"] = mustRun(t, append([]string{"merge", "--format", "json"}, shuf...)...)
			// A tree: pairs merged into summaries, then those merged.
			level := shuf
			for n := 0; len(level) > 1; n++ {
				var next []string
				for i := 0; i < len(level); i += 2 {
					if i+1 == len(level) {
						next = append(next, level[i])
						continue
					}
					out := filepath.Join(dir, fmt.Sprintf("t%d-%d.vsum", n, i))
					mustRun(t, "merge", "--format", "summary", "-o", out, level[i], level[i+1])
					next = append(next, out)
				}
				level = next
			}
			merged["pairwise tree"] = mustRun(t, "merge", "--format", "json", level[0])
			if len(sums) > 2 {
				// A chain: ((a+b)+c)+...
				acc := sums[0]
				for i, s := range sums[1:] {
					out := filepath.Join(dir, fmt.Sprintf("c%d.vsum", i))
					mustRun(t, "merge", "--format", "summary", "-o", out, acc, s)
					acc = out
				}
				merged["chain"] = mustRun(t, "merge", "--format", "json", acc)
			}
			first := merged["in order"]
			for name, m := range merged {
				if stripInputs(t, m) != stripInputs(t, first) {
					t.Errorf("%s: the merge differs from the merge in order", name)
				}
			}
			got := jsonReport(t, first)
			compareMerged(t, whole, got)
			// Findings: judged again on the merged findings states of the
			// files, the whole capture's (kind, severity, times; the
			// evidence below when no TCP message was cut).
			if gf, wf := findingsWhen(got), findingsWhen(whole); !slices.Equal(gf, wf) {
				t.Errorf("findings of the merged files %v, whole %v", gf, wf)
			}
			if want := wantFinding(t, in); want != "" && !slices.Contains(findingKinds(got), want) {
				t.Errorf("findings %v: the capture's %s is missing", findingKinds(got), want)
			}
			// -j: the pieces analysed in this process, in parallel, merged
			// with their findings states: the whole capture's report, findings
			// judged again included.
			jrep := jsonReport(t, mustRun(t, append(append([]string{"analyze", "-j", "4", "--format", "json"}, common...), pieces...)...))
			if num(got["integrity"].(map[string]any)["tcp_segments_unsynced"]) == num(whole["integrity"].(map[string]any)["tcp_segments_unsynced"]) {
				gj, _ := json.Marshal(got["findings"])
				wj, _ := json.Marshal(whole["findings"])
				if string(gj) != string(wj) {
					t.Errorf("findings of the merged files:\n%s\nwhole:\n%s", gj, wj)
				}
				// Findings: the same kind, severity and times; their
				// evidence may differ in what a findings state does not
				// join across a piece's boundary (a name's query in one
				// piece, its NXDOMAIN in the next).
				jf, wf := findingsWhen(jrep), findingsWhen(whole)
				if !slices.Equal(jf, wf) {
					t.Errorf("-j 4 findings %v, whole %v", jf, wf)
				}
				for _, r := range []map[string]any{jrep, whole} {
					delete(r, "inputs")
					delete(r, "findings")
				}
				a, _ := json.Marshal(jrep)
				b, _ := json.Marshal(whole)
				if c.capture == composed {
					// Its top lists hold many names asked once: their
					// order among equals may differ (within their error).
					compareMerged(t, whole, jrep)
				} else if string(a) != string(b) {
					t.Errorf("-j 4 over the pieces differs from the whole capture's report")
				}
			}
			t.Logf("%d pieces: merged report as the whole capture's", len(pieces))
		})
	}
}

// childRun runs visor with args in a child process (the test binary as
// visor: TestMain), failing the test on a non-zero exit.
func childRun(t *testing.T, args ...string) {
	t.Helper()
	for _, a := range args {
		if strings.ContainsAny(a, " \t\n") {
			t.Fatalf("argument %q: the child's arguments are split on spaces", a)
		}
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "VISOR_TEST_MAIN=1", "VISOR_TEST_ARGS="+strings.Join(args, " "))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("visor %s (child process): %v: %s", strings.Join(args, " "), err, b)
	}
}

// wantFinding is the kind of finding a testdata capture's .findings.json
// says it has ("" for none, or no such file).
func wantFinding(t *testing.T, capture string) string {
	b, err := os.ReadFile(capture + ".findings.json")
	if err != nil {
		return ""
	}
	var f struct{ Kind string }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Kind
}

// findingsWhen lists a report's findings as kind, severity, start, end.
func findingsWhen(r map[string]any) []string {
	var out []string
	fs, _ := r["findings"].([]any)
	for _, f := range fs {
		m := f.(map[string]any)
		out = append(out, fmt.Sprint(m["kind"], " ", m["severity"], " ", m["start"], " ", m["end"]))
	}
	return out
}

// findingKinds lists a report's findings' distinct kinds.
func findingKinds(r map[string]any) []string {
	var ks []string
	fs, _ := r["findings"].([]any)
	for _, f := range fs {
		ks = append(ks, f.(map[string]any)["kind"].(string))
	}
	slices.Sort(ks)
	return slices.Compact(ks)
}

// stripInputs is a report's JSON without its inputs' list (paths of
// intermediate summaries do not appear there, but their order may).
func stripInputs(t *testing.T, s string) string {
	v := jsonReport(t, s)
	delete(v, "inputs")
	b, _ := json.Marshal(v)
	return string(b)
}

// compareMerged compares the merged report with the whole capture's.
// Messages of a DNS-over-TCP stream cut by a piece's boundary are lost
// (the next piece's reassembly starts unsynced): the difference must then
// be what integrity counts.
func compareMerged(t *testing.T, whole, got map[string]any) {
	t.Helper()
	wi, gi := whole["integrity"].(map[string]any), got["integrity"].(map[string]any)
	cut := num(gi["tcp_segments_unsynced"]) - num(wi["tcp_segments_unsynced"])
	if cut < 0 {
		t.Errorf("integrity tcp_segments_unsynced %v below the whole capture's %v", gi["tcp_segments_unsynced"], wi["tcp_segments_unsynced"])
	}
	var diffs []string
	var tcpLoss float64
	walk(whole["summary"], got["summary"], "summary", func(path string, w, g any) {
		wv, gv := num(w), num(g)
		switch {
		case strings.Contains(path, ".latency_us.") || strings.Contains(path, ".rates.") || strings.Contains(path, ".sizes_quantiles") || strings.Contains(path, "_quantiles."):
			if !within(wv, gv, 0.01) {
				diffs = append(diffs, fmt.Sprintf("%s: %v, whole %v (over 1%%)", path, g, w))
			}
		case strings.Contains(path, ".cardinality."):
			if !within(wv, gv, 0.02) {
				diffs = append(diffs, fmt.Sprintf("%s: %v, whole %v (over 2%%)", path, g, w))
			}
		case strings.Contains(path, ".top."):
			// Compared as lists below.
		case differ(w, g):
			if path == "summary.dns.messages" {
				tcpLoss = wv - gv
			}
			diffs = append(diffs, fmt.Sprintf("%s: %v, whole %v", path, g, w))
		}
	})
	if len(diffs) > 0 && (cut == 0 || tcpLoss > cut) {
		t.Errorf("the merge differs from the whole capture's analysis:\n%s", strings.Join(diffs, "\n"))
	} else if len(diffs) > 0 {
		t.Logf("%d DNS messages in TCP streams cut by a boundary (integrity tcp_segments_unsynced +%v); differences:\n%s", int(tcpLoss), cut, strings.Join(diffs, "\n"))
	}
	compareTops(t, whole, got, cut > 0)
	wb, gb := whole["buckets"].([]any), got["buckets"].([]any)
	if len(wb) != len(gb) {
		t.Fatalf("%d buckets, whole %d", len(gb), len(wb))
	}
	if cut == 0 {
		for i := range wb {
			walk(wb[i], gb[i], fmt.Sprintf("buckets[%d]", i), func(path string, w, g any) {
				if strings.Contains(path, ".top.") || strings.Contains(path, "quantiles") || strings.Contains(path, "latency") || strings.Contains(path, "cardinality") || strings.Contains(path, "rates") {
					return
				}
				if differ(w, g) {
					t.Errorf("%s: %v, whole %v", path, g, w)
				}
			})
		}
	}
}

// compareTops checks every top list: equal where both are exact (every
// error 0), else every whole-capture count within the merged estimate's
// error.
func compareTops(t *testing.T, whole, got map[string]any, lossy bool) {
	for _, sec := range []string{"net", "dns"} {
		wt := whole["summary"].(map[string]any)[sec].(map[string]any)["top"].(map[string]any)
		gt := got["summary"].(map[string]any)[sec].(map[string]any)["top"].(map[string]any)
		for k, wl := range wt {
			w, g := items(wl), items(gt[k])
			exact := true
			for _, it := range append(slices.Clone(w), g...) {
				if it.err != 0 {
					exact = false
				}
			}
			for _, gi := range g {
				for _, wi := range w {
					if wi.name != gi.name {
						continue
					}
					if exact && !lossy && wi.est != gi.est {
						t.Errorf("top %s.%s %s: %v, whole %v", sec, k, gi.name, gi.est, wi.est)
					}
					if !exact && (wi.est > gi.est+gi.err+wi.err || gi.est > wi.est+gi.err+wi.err) {
						t.Errorf("top %s.%s %s: %v±%v, whole %v±%v", sec, k, gi.name, gi.est, gi.err, wi.est, wi.err)
					}
				}
			}
		}
	}
}

type topItem struct {
	name     string
	est, err float64
}

func items(v any) []topItem {
	l, _ := v.([]any)
	var out []topItem
	for _, x := range l {
		m := x.(map[string]any)
		out = append(out, topItem{m["name"].(string), num(m["estimate"]), num(m["error"])})
	}
	return out
}

// walk calls fn on every leaf of w with the same leaf of g.
func walk(w, g any, path string, fn func(path string, w, g any)) {
	switch wv := w.(type) {
	case map[string]any:
		gv, _ := g.(map[string]any)
		keys := map[string]bool{}
		for k := range wv {
			keys[k] = true
		}
		for k := range gv {
			keys[k] = true
		}
		for k := range keys {
			walk(wv[k], gv[k], path+"."+k, fn)
		}
	case []any:
		if strings.Contains(path, ".top.") {
			fn(path, w, g)
			return
		}
		gv, _ := g.([]any)
		for i := range max(len(wv), len(gv)) {
			var a, b any
			if i < len(wv) {
				a = wv[i]
			}
			if i < len(gv) {
				b = gv[i]
			}
			walk(a, b, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	default:
		fn(path, w, g)
	}
}

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case nil:
		return 0
	}
	return math.NaN()
}

// differ compares two leaves: numbers as numbers, the rest as text.
func differ(w, g any) bool {
	_, a := w.(float64)
	_, b := g.(float64)
	if a || b || w == nil || g == nil {
		return num(w) != num(g)
	}
	return fmt.Sprint(w) != fmt.Sprint(g)
}

func within(a, b, rel float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))
}

// TestSplitBy: --split-by input gives one part per input beside the
// whole, in JSON (valid against the schema), the table and OpenMetrics
// (input label); --split-by label groups the summaries by their labels.
func TestSplitBy(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join("..", "..", "testdata", "lab-eth.pcap")
	pieces := splitCapture(t, in, dir, "-c", "1284")
	common := []string{"--bucket", "1s", "--progress", "never"}
	out := mustRun(t, append(append([]string{"analyze", "--split-by", "input", "--format", "json"}, common...), pieces...)...)
	if err := report.Validate([]byte(out)); err != nil {
		t.Fatalf("schema: %v", err)
	}
	r := jsonReport(t, out)
	parts := r["parts"].([]any)
	if len(parts) != 2 {
		t.Fatalf("%d parts, want 2", len(parts))
	}
	sum := 0.0
	for i, p := range parts {
		pm := p.(map[string]any)
		if pm["by"] != "input" || pm["key"] != pieces[i] {
			t.Errorf("part %d: by %v key %v, want input %s", i, pm["by"], pm["key"], pieces[i])
		}
		sum += num(pm["summary"].(map[string]any)["net"].(map[string]any)["packets"])
	}
	if whole := num(r["summary"].(map[string]any)["net"].(map[string]any)["packets"]); sum != whole || whole != 2567 {
		t.Errorf("parts' packets %v, whole %v, want 2567", sum, whole)
	}
	om := mustRun(t, append(append([]string{"analyze", "--split-by", "input", "--format", "openmetrics"}, common...), pieces...)...)
	for _, p := range pieces {
		if !strings.Contains(om, `visor_net_packets_total{input="`+p+`"}`) {
			t.Errorf("OpenMetrics has no packets series of input %s", p)
		}
	}
	if !strings.Contains(om, "visor_net_packets_total ") {
		t.Errorf("OpenMetrics has no packets series of the whole")
	}
	table := mustRun(t, append(append([]string{"analyze", "--split-by", "input"}, common...), pieces...)...)
	if strings.Count(table, "== input ") != 2 {
		t.Errorf("the table names %d parts, want 2", strings.Count(table, "== input "))
	}
	// By label: the summaries of two servers.
	var sums []string
	for i, p := range pieces {
		s := filepath.Join(dir, fmt.Sprintf("s%d.vsum", i))
		mustRun(t, append([]string{"analyze", "--format", "summary", "--label", fmt.Sprintf("server=ns%d", i+1), "-o", s, p}, common...)...)
		sums = append(sums, s)
	}
	lr := jsonReport(t, mustRun(t, append([]string{"merge", "--split-by", "label", "--format", "json"}, sums...)...))
	var keys []string
	for _, p := range lr["parts"].([]any) {
		keys = append(keys, p.(map[string]any)["key"].(string))
	}
	if !slices.Equal(keys, []string{"server=ns1", "server=ns2"}) {
		t.Errorf("label parts %v", keys)
	}
}
