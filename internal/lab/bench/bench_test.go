//go:build bench

package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/visor-dns/visor/internal/lab"
	"github.com/visor-dns/visor/report"
)

const (
	srv = "198.51.100.2"
	cli = "198.51.100.10"

	// targets of issue 6
	tPPS     = 3.0 // M packets/s
	tRSSMB   = 150
	tFlatPct = 10
	tCardPct = 2
	// and of issue 23 (visor export)
	tExportPPS   = 1.5
	tExportRSSMB = 300
)

// knobs are the VISORBENCH_* environment variables (docs/performance.md).
type knobs struct {
	queries, doublings, runs int
	qps                      string
	export                   []string
	reuse, clean             bool
	base, head               string
}

func readKnobs(t *testing.T) knobs {
	k := knobs{
		queries:   envInt(t, "VISORBENCH_QUERIES", 3000000),
		qps:       strconv.Itoa(envInt(t, "VISORBENCH_QPS", 150000)),
		doublings: envInt(t, "VISORBENCH_DOUBLINGS", 10),
		runs:      envInt(t, "VISORBENCH_RUNS", 5),
		reuse:     os.Getenv("VISORBENCH_REUSE") == "1",
		clean:     os.Getenv("VISORBENCH_CLEAN") == "1",
		base:      os.Getenv("VISORBENCH_BASE"),
		head:      os.Getenv("VISORBENCH_HEAD"),
		export:    []string{"parquet", "csv"},
	}
	if v, ok := os.LookupEnv("VISORBENCH_EXPORT"); ok {
		k.export = strings.Fields(v)
	}
	if k.runs < 1 || k.doublings < 0 || k.doublings > 20 || k.queries < 1 || k.queries > 60466176 {
		t.Fatalf("VISORBENCH_RUNS >= 1, VISORBENCH_DOUBLINGS 0..20, VISORBENCH_QUERIES 1..36^5: %+v", k)
	}
	return k
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// best keeps, over one program's runs on one capture, the best wall time
// with its CPU seconds, the least CPU seconds, the highest peak RSS and
// every run's CPU seconds in round order (for paired ratios).
type best struct {
	wall, wallCPU, cpu time.Duration
	rss                int64
	cpus               []time.Duration
}

func (b *best) add(u lab.Usage) {
	if len(b.cpus) == 0 || u.Wall < b.wall {
		b.wall, b.wallCPU = u.Wall, u.CPU
	}
	if len(b.cpus) == 0 || u.CPU < b.cpu {
		b.cpu = u.CPU
	}
	b.rss = max(b.rss, u.MaxRSS)
	b.cpus = append(b.cpus, u.CPU)
}

// bin is one visor binary under test: head (the working tree) or base
// (VISORBENCH_BASE).
type bin struct{ name, path, desc string }

type bench struct {
	t    *testing.T
	w    string
	k    knobs
	bins []bin
	// results by bin name and capture ("mix") or capture and format ("mix-csv")
	analyze, export map[string]map[string]*best
	noBase          map[string]bool // export keys the base cannot make
}

// TestBench builds the captures (or reuses them), times visor and tshark
// on them, checks visor's cardinality and top qname2 against exact counts
// and prints the table and the targets' verdicts.
func TestBench(t *testing.T) {
	lab.Require(t, "ip", "knotd", "kdig", "dnsperf", "tcpdump", "tshark", "git")
	start := time.Now()
	k := readKnobs(t)
	w := "/tmp/visor-bench"
	if flag.NArg() > 0 {
		w = flag.Arg(0)
	}
	if err := os.MkdirAll(w, 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := filepath.Abs(w)
	if err != nil {
		t.Fatal(err)
	}
	logf("workdir %s; %d cores; load: %s", w, runtime.NumCPU(), lab.LoadAverage())
	if k.clean {
		t.Cleanup(func() {
			for _, f := range []string{"mix.pcap", "flood.pcap", "flood2.pcap", "queries.txt", "flood-names.txt", "flood-names.tmp"} {
				os.Remove(filepath.Join(w, f))
			}
			tmp, _ := filepath.Glob(filepath.Join(w, "tmp-*.pcap"))
			for _, f := range tmp {
				os.Remove(f)
			}
		})
	}
	b := &bench{t: t, w: w, k: k, analyze: map[string]map[string]*best{}, export: map[string]map[string]*best{}, noBase: map[string]bool{}}

	// 1. build
	logf("building visor")
	b.bins = []bin{{name: "head", path: filepath.Join(w, "visor")}}
	b.bins[0].desc = lab.BuildVisor(t, b.bins[0].path, k.head)
	if k.base != "" {
		logf("building visor at %s (VISORBENCH_BASE)", k.base)
		b.bins = append(b.bins, bin{name: "base", path: filepath.Join(w, "visor-base")})
		b.bins[1].desc = lab.BuildVisor(t, b.bins[1].path, k.base)
	}
	for _, x := range b.bins {
		b.analyze[x.name], b.export[x.name] = map[string]*best{}, map[string]*best{}
	}

	// 2. mix
	mix := filepath.Join(w, "mix.pcap")
	if k.reuse && nonEmpty(mix) {
		logf("reusing %s", mix)
	} else {
		logf("mix: lab-eth.pcap doubled %d times", k.doublings)
		// lab-eth.pcap spans 3.2 s: copy k shifted by 4k s keeps time ascending
		// (the copy-and-shift doublings of editcap -t 4*2^(i-1) + mergecap -a)
		tmp := filepath.Join(w, "tmp-mix.pcap")
		if err := lab.Tile(lab.Testdata(t, "lab-eth.pcap"), tmp, 1<<k.doublings, 4*time.Second); err != nil {
			t.Fatal(err)
		}
		rename(t, tmp, mix)
	}

	// 3. flood, flood2
	flood, flood2 := filepath.Join(w, "flood.pcap"), filepath.Join(w, "flood2.pcap")
	if k.reuse && nonEmpty(flood) {
		logf("reusing %s", flood)
	} else {
		if !t.Run("flood", func(t *testing.T) { buildFlood(t, w, k) }) {
			t.FailNow()
		}
		os.Remove(flood2)
	}
	if k.reuse && nonEmpty(flood2) {
		logf("reusing %s", flood2)
	} else {
		first, last, _, err := lab.Span(flood)
		if err != nil {
			t.Fatal(err)
		}
		shift := time.Duration(int(last.Sub(first).Seconds()+2)) * time.Second
		logf("flood x2: flood.pcap + a copy shifted by %d s", int(shift.Seconds()))
		tmp := filepath.Join(w, "tmp-flood2.pcap")
		if err := lab.Tile(flood, tmp, 2, shift); err != nil {
			t.Fatal(err)
		}
		rename(t, tmp, flood2)
	}

	// 4. timing
	caps := []string{"mix", "flood", "flood2"}
	pk := map[string]int{}
	for _, c := range caps {
		// counting reads the whole file: the same page-cache state for every run and tool
		_, _, n, err := lab.Span(filepath.Join(w, c+".pcap"))
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(filepath.Join(w, c+".pcap"))
		pk[c] = n
		logf("%s.pcap: %d packets, %d MB", c, n, fi.Size()>>20)
	}
	tsh := map[string]lab.Usage{}
	// The visor runs go in rounds (each capture once a round), with the
	// tshark runs between rounds: on this shared machine speed comes and
	// goes for tens of seconds at a time, and a capture's best of RUNS is
	// then taken over a few minutes rather than within one slow spell. With
	// a base, base and head run one after the other on each capture, in
	// turns (head first in odd rounds, base first in even ones).
	for r := 1; r <= k.runs; r++ {
		order := b.bins
		if r%2 == 0 {
			order = slices.Clone(b.bins)
			slices.Reverse(order)
		}
		for _, c := range caps {
			for _, x := range order {
				b.visorRun(x, c, r)
			}
		}
		for _, f := range k.export {
			for _, c := range []string{"mix", "flood"} {
				for _, x := range order {
					b.exportRun(x, c, f, r)
				}
			}
		}
		if r == k.runs/3+1 {
			tsh["mix"] = tsharkRun(t, w, "mix")
		}
		if r == 2*k.runs/3+1 {
			tsh["flood"] = tsharkRun(t, w, "flood")
		}
	}
	reps := map[string]*summary{}
	for _, c := range caps {
		reps[c] = readSummary(t, filepath.Join(w, c+".json"))
		var n uint64
		for _, in := range reps[c].Inputs {
			n += in.Packets
		}
		if n != uint64(pk[c]) {
			logf("WARNING: visor read %d packets of %s, the capture holds %d", n, c, pk[c])
		}
	}

	// accuracy
	ex := exactNames(t, w, k.reuse)
	sent := "?"
	if n, err := countLines(filepath.Join(w, "queries.txt")); err == nil {
		sent = strconv.Itoa(n)
	}
	logf("flood: %d distinct names in the capture (%s in the query file), %d queries, %d messages under .victim.example", ex.card, sent, ex.queries, ex.msgs)
	type acc struct {
		card      uint64
		cerr      float64
		q2, q2e   uint64
		qr, exact uint64
	}
	accs := map[string]acc{}
	for i, c := range []string{"flood", "flood2"} {
		d := reps[c].Summary.DNS
		a := acc{card: d.Cardinality.QName, qr: d.Queries + d.Responses, exact: uint64(ex.msgs) << i}
		a.cerr = (float64(a.card) - float64(ex.card)) * 100 / float64(ex.card)
		for _, it := range d.Top.QName2 {
			if it.Name == ".victim.example" {
				a.q2, a.q2e = it.Estimate, it.Error
				break
			}
		}
		accs[c] = a
	}

	// report
	head := b.analyze["head"]
	fmt.Println()
	fmt.Printf("== visor %s on %d cores, load average: %s\n", b.bins[0].desc, runtime.NumCPU(), lab.LoadAverage())
	fmt.Printf("   visor: best wall of %d runs, highest peak RSS of them; tshark: one run\n", k.runs)
	if s, err := os.ReadFile(filepath.Join(w, "dnsperf.log")); err == nil && len(s) > 0 {
		fmt.Printf("   flood: dnsperf %s\n", grepJoin(string(s), `Queries (sent|completed|lost)`, " "))
		e, _ := os.ReadFile(filepath.Join(w, "tcpdump.err"))
		fmt.Printf("   flood: tcpdump %s\n", grepJoin(string(e), `captured|dropped by kernel`, " "))
	}
	const row = "%-8s %10s | %8s %6s %8s %7s | %8s %6s %8s %7s | %6s %6s\n"
	fmt.Printf("\n"+row, "capture", "packets", "visor s", "cpu s", "Mpkt/s", "RSS MB", "tshark s", "cpu s", "Mpkt/s", "RSS MB", "speed", "memory")
	fmt.Println(strings.Repeat("-", 111))
	for _, c := range caps {
		v := head[c]
		cols := []any{c, strconv.Itoa(pk[c]), secs(v.wall), secs(v.wallCPU), pps(pk[c], v.wall), strconv.FormatInt(mb(v.rss), 10)}
		if u, ok := tsh[c]; ok {
			cols = append(cols, secs(u.Wall), secs(u.CPU), pps(pk[c], u.Wall), strconv.FormatInt(mb(u.MaxRSS), 10),
				fmt.Sprintf("%.1fx", u.Wall.Seconds()/v.wall.Seconds()), fmt.Sprintf("%.2fx", float64(v.rss)/float64(u.MaxRSS)))
		} else {
			cols = append(cols, "-", "-", "-", "-", "-", "-")
		}
		fmt.Printf(row, cols...)
	}
	fmt.Println("   Mpkt/s = packets / wall; cpu s = user + sys; speed = tshark wall / visor wall;")
	fmt.Println("   memory = visor peak RSS / tshark peak RSS")
	fmt.Println()
	fmt.Printf("%-8s %12s %12s %8s | %14s %8s %14s %14s\n", "capture", "exact names", "visor card", "error", ".victim.example", "error", "visor q+r", "exact msgs")
	for _, c := range []string{"flood", "flood2"} {
		a := accs[c]
		fmt.Printf("%-8s %12d %12d %7s%% | %14d %8d %14d %14d\n", c, ex.card, a.card, fmt.Sprintf("%+.2f", a.cerr), a.q2, a.q2e, a.qr, a.exact)
	}
	fmt.Println("   exact names: distinct lowercased DNS question names in flood.pcap (tshark); flood2 holds the same names")

	fmt.Println()
	fmt.Println("== targets (issue 6)")
	for _, c := range []string{"mix", "flood"} {
		p := mpps(pk[c], head[c].wall)
		verdict(fmt.Sprintf("%s >= 3.0 M packets/s", c), p >= tPPS, pps(pk[c], head[c].wall)+" M/s")
	}
	for _, c := range caps {
		verdict(fmt.Sprintf("%s peak RSS <= %d MB", c, tRSSMB), mb(head[c].rss) <= tRSSMB, fmt.Sprintf("%d MB", mb(head[c].rss)))
	}
	grow := float64(head["flood2"].rss-head["flood"].rss) * 100 / float64(head["flood"].rss)
	verdict(fmt.Sprintf("flat memory: flood x2 within %d%% of flood", tFlatPct), grow <= tFlatPct, fmt.Sprintf("%+.1f%%", grow))
	for _, c := range []string{"flood", "flood2"} {
		a := accs[c]
		e := fmt.Sprintf("%+.2f", a.cerr)
		abs, _ := strconv.ParseFloat(strings.TrimLeft(e, "+-"), 64)
		verdict(fmt.Sprintf("%s qname cardinality within %d%%", c, tCardPct), abs <= tCardPct, e+"%")
	}
	for _, c := range []string{"flood", "flood2"} {
		a := accs[c]
		verdict(fmt.Sprintf("%s top qname2 .victim.example within its error bound", c), a.q2 >= a.exact && a.q2-a.q2e <= a.exact,
			fmt.Sprintf("estimate %d error %d, exact %d", a.q2, a.q2e, a.exact))
	}
	if len(k.export) > 0 {
		fmt.Println()
		fmt.Printf("== visor export (issue 23): best wall of %d runs, highest peak RSS\n", k.runs)
		const erow = "%-8s %-8s %10s | %8s %8s %7s\n"
		fmt.Printf(erow, "capture", "format", "packets", "wall s", "Mpkt/s", "RSS MB")
		for _, f := range k.export {
			for _, c := range []string{"mix", "flood"} {
				e := b.export["head"][c+"-"+f]
				fmt.Printf(erow, c, f, strconv.Itoa(pk[c]), secs(e.wall), pps(pk[c], e.wall), strconv.FormatInt(mb(e.rss), 10))
			}
		}
		for _, f := range k.export {
			e := b.export["head"]["flood-"+f]
			verdict(fmt.Sprintf("export %s flood >= %g M packets/s", f, tExportPPS), mpps(pk["flood"], e.wall) >= tExportPPS, pps(pk["flood"], e.wall)+" M/s")
			verdict(fmt.Sprintf("export %s flood peak RSS <= %d MB", f, tExportRSSMB), mb(e.rss) <= tExportRSSMB, fmt.Sprintf("%d MB", mb(e.rss)))
		}
	}
	if k.base != "" {
		b.printPaired(caps)
	}
	fmt.Println()
	logf("done in %d s; reports and logs in %s", int(time.Since(start).Seconds()), w)
}

// printPaired prints base and head side by side, with the ratio of their
// CPU seconds: least of each, and the median of the rounds' ratios (each
// round's two runs are seconds apart, so the machine's slow spells touch
// both).
func (b *bench) printPaired(caps []string) {
	fmt.Println()
	fmt.Printf("== paired: base %s (%s) and head %s, in turns in the same %d rounds\n", b.k.base, b.bins[1].desc, b.bins[0].desc, b.k.runs)
	fmt.Println("   best wall, least cpu s, highest peak RSS of each; cpu ratio = head / base")
	const row = "%-8s %-14s | %8s %6s %7s | %8s %6s %7s | %9s %9s\n"
	fmt.Printf(row, "capture", "command", "base s", "cpu s", "RSS MB", "head s", "cpu s", "RSS MB", "cpu ratio", "median")
	fmt.Println(strings.Repeat("-", 100))
	line := func(c, cmd string, base, head *best) {
		if base == nil {
			fmt.Printf(row, c, cmd, "-", "-", "-", secs(head.wall), secs(head.cpu), strconv.FormatInt(mb(head.rss), 10), "-", "-")
			return
		}
		var rs []float64
		for i := range min(len(base.cpus), len(head.cpus)) {
			rs = append(rs, head.cpus[i].Seconds()/base.cpus[i].Seconds())
		}
		slices.Sort(rs)
		med := rs[len(rs)/2]
		if len(rs)%2 == 0 {
			med = (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2
		}
		fmt.Printf(row, c, cmd, secs(base.wall), secs(base.cpu), strconv.FormatInt(mb(base.rss), 10),
			secs(head.wall), secs(head.cpu), strconv.FormatInt(mb(head.rss), 10),
			fmt.Sprintf("%.3f", head.cpu.Seconds()/base.cpu.Seconds()), fmt.Sprintf("%.3f", med))
	}
	for _, c := range caps {
		line(c, "analyze", b.analyze["base"][c], b.analyze["head"][c])
	}
	for _, f := range b.k.export {
		for _, c := range []string{"mix", "flood"} {
			key := c + "-" + f
			line(c, "export "+f, b.export["base"][key], b.export["head"][key])
		}
	}
	fmt.Println("   cpu ratio < 1: head takes less CPU than base; figures move by +-20 % on a shared machine")
}

// visorRun times `visor analyze --format json` of capture c once.
func (b *bench) visorRun(x bin, c string, r int) {
	b.t.Helper()
	out := filepath.Join(b.w, c+".json")
	if x.name != "head" {
		out = filepath.Join(b.w, c+"-"+x.name+".json")
	}
	logf("visor%s %s run %d/%d (load: %s)", label(x), c, r, b.k.runs, lab.LoadAverage())
	u, stderr, err := measure(x.path, "analyze", "--progress", "never", "--format", "json", "-o", out, filepath.Join(b.w, c+".pcap"))
	if err != nil {
		b.t.Fatalf("visor%s failed on %s: %v\n%s", label(x), c, err, stderr)
	}
	logUsage(u)
	keep(b.analyze[x.name], c).add(u)
}

// exportRun times `visor export --format f` of capture c once; a base that
// cannot export f is left out of f's pairs.
func (b *bench) exportRun(x bin, c, f string, r int) {
	b.t.Helper()
	key := c + "-" + f
	if x.name == "base" && b.noBase[key] {
		return
	}
	out := filepath.Join(b.w, c+"."+f)
	defer os.Remove(out)
	logf("visor%s export %s %s run %d/%d (load: %s)", label(x), f, c, r, b.k.runs, lab.LoadAverage())
	u, stderr, err := measure(x.path, "export", "--progress", "never", "--format", f, "-o", out, filepath.Join(b.w, c+".pcap"))
	if err != nil {
		if x.name == "base" {
			logf("WARNING: the base cannot export %s of %s (%v: %s): no pair", f, c, err, strings.TrimSpace(stderr))
			b.noBase[key] = true
			delete(b.export["base"], key)
			return
		}
		b.t.Fatalf("visor export failed on %s: %v\n%s", c, err, stderr)
	}
	logUsage(u)
	keep(b.export[x.name], key).add(u)
}

func label(x bin) string {
	if x.name == "head" {
		return ""
	}
	return " " + x.name
}

func keep(m map[string]*best, key string) *best {
	if m[key] == nil {
		m[key] = &best{}
	}
	return m[key]
}

func measure(prog string, args ...string) (lab.Usage, string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(prog, args...)
	cmd.Stderr = &stderr
	u, err := lab.Measure(cmd)
	return u, stderr.String(), err
}

func logUsage(u lab.Usage) {
	logf("  wall %s s, cpu %s s, peak RSS %d MB", secs(u.Wall), secs(u.CPU), mb(u.MaxRSS))
}

// tsharkRun times `tshark -q -z dns,tree` of capture c once.
func tsharkRun(t *testing.T, w, c string) lab.Usage {
	logf("tshark -z dns,tree %s (load: %s)", c, lab.LoadAverage())
	out, err := os.Create(filepath.Join(w, "tshark-"+c+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("tshark", "-q", "-z", "dns,tree", "-r", filepath.Join(w, c+".pcap"))
	cmd.Stdout, cmd.Stderr = out, out
	u, err := lab.Measure(cmd)
	if err != nil {
		logf("WARNING: tshark exited non-zero on %s: %v", c, err)
	}
	logUsage(u)
	return u
}

// buildFlood makes flood.pcap: knotd authoritative for victim.example,
// dnsperf sending k.queries queries, each a distinct name under it, from
// the client namespace, tcpdump on the client veth.
func buildFlood(t *testing.T, w string, k knobs) {
	logf("flood: %d distinct names, dnsperf -Q %s", k.queries, k.qps)
	queries := filepath.Join(w, "queries.txt")
	writeQueries(t, queries, k.queries)
	// IPv4 only (dnsperf 2.10 and global IPv6 addresses do not mix)
	n := lab.NewNet(t, lab.NetConfig{SrvAddrs: []string{srv + "/24"}, CliAddrs: []string{cli + "/24"}, V4Only: true})
	os.RemoveAll(filepath.Join(w, "knot"))
	knotd := n.StartKnot(w, lab.Knot{Listen: []string{srv}, Zones: []string{"victim.example"}, LogLevel: "warning"})
	n.WaitAnswer(srv, "victim.example", "SOA", "hostmaster", knotd)
	logf("knotd answers")
	time.Sleep(time.Second)
	tmp := filepath.Join(w, "tmp-flood.pcap")
	capture := n.Tcpdump(n.Cli, tmp, "-i", n.CliIf, "-B", "262144")
	time.Sleep(500 * time.Millisecond)
	d := n.Dnsperf("-f", "inet", "-s", srv, "-a", cli, "-d", queries, "-n", "1", "-c", "16", "-T", "2", "-q", "1000", "-b", "4096",
		"-Q", k.qps, "-t", "2", "-S", "10")
	time.Sleep(2 * time.Second) // last answers
	// not Capture.Stop: drops under the flood are reported, not fatal
	capture.Proc.Stop(syscall.SIGINT)
	if err := os.WriteFile(filepath.Join(w, "dnsperf.log"), []byte(d.Output), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w, "tcpdump.err"), []byte(capture.Stderr()), 0o644); err != nil {
		t.Fatal(err)
	}
	logf("dnsperf: %s", grepJoin(d.Output, `Queries (sent|completed|lost)|Queries per second`, "; "))
	logf("tcpdump: %s", grepJoin(capture.Stderr(), `captured|received by filter|dropped by kernel`, "; "))
	if !nonEmpty(tmp) {
		t.Fatal("no flood capture")
	}
	rename(t, tmp, filepath.Join(w, "flood.pcap"))
}

// writeQueries writes n distinct names as dnsperf query lines: 3-8 random
// characters, then a 5-character base-36 permutation of the line number
// (x -> 48271x + 12345 mod 36^5 is a bijection), so no two lines share a
// name; every dnsperf client takes its next line from the one shared file
// (-n 1: each line is sent once).
func writeQueries(t *testing.T, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(20240601, 0))
	const cs = "abcdefghijklmnopqrstuvwxyz0123456789"
	var line []byte
	for i := range n {
		line = line[:0]
		for range 3 + r.IntN(6) {
			line = append(line, cs[r.IntN(36)])
		}
		var sfx [5]byte
		x := (i*48271 + 12345) % 60466176
		for j := 4; j >= 0; j-- {
			sfx[j], x = cs[x%36], x/36
		}
		line = append(append(line, sfx[:]...), ".victim.example A\n"...)
		bw.Write(line)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

type exact struct{ card, msgs, queries int }

// exactNames counts flood.pcap's DNS messages exactly with tshark: distinct
// lowercased question names (as 64-bit hashes: a collision among 3 M names
// has a chance of 2e-7), messages under .victim.example, queries.
func exactNames(t *testing.T, w string, reuse bool) exact {
	names, flood := filepath.Join(w, "flood-names.txt"), filepath.Join(w, "flood.pcap")
	if reuse && nonEmpty(names) && newer(names, flood) {
		logf("reusing %s", names)
	} else {
		logf("exact names of flood.pcap with tshark -T fields")
		tmp := filepath.Join(w, "flood-names.tmp")
		f, err := os.Create(tmp)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("tshark", "-r", flood, "-Y", "dns", "-T", "fields", "-e", "dns.flags.response", "-e", "dns.qry.name")
		cmd.Stdout = f
		if err := cmd.Run(); err != nil {
			logf("WARNING: tshark -T fields: %v", err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		rename(t, tmp, names)
	}
	f, err := os.Open(names)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var e exact
	seed := maphash.MakeSeed()
	var hs []uint64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		resp, name, _ := strings.Cut(strings.ToLower(sc.Text()), "\t")
		if strings.HasSuffix(name, ".victim.example") {
			e.msgs++
		}
		if resp == "0" || resp == "false" {
			e.queries++
		}
		if name != "" {
			hs = append(hs, maphash.String(seed, name))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", names, err)
	}
	slices.Sort(hs)
	e.card = len(slices.Compact(hs))
	return e
}

// summary is what the bench reads of a JSON report.
type summary struct {
	Inputs []struct {
		Packets uint64 `json:"packets"`
	} `json:"inputs"`
	Summary struct {
		DNS struct {
			Queries     uint64 `json:"queries"`
			Responses   uint64 `json:"responses"`
			Cardinality struct {
				QName uint64 `json:"qname"`
			} `json:"cardinality"`
			Top struct {
				QName2 []report.TopItem `json:"qname2"`
			} `json:"top"`
		} `json:"dns"`
	} `json:"summary"`
}

func readSummary(t *testing.T, path string) *summary {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &s
}

func verdict(what string, ok bool, detail string) {
	v := "MISS"
	if ok {
		v = "ok"
	}
	fmt.Printf("  %-4s %s (%s)\n", v, what, detail)
}

// grepJoin joins the lines of s that match re, trimmed, spaces squeezed,
// with sep.
func grepJoin(s, re, sep string) string {
	m := regexp.MustCompile(re)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if m.MatchString(l) {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
	}
	return strings.Join(out, sep)
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }

func mb(b int64) int64 { return b >> 20 }

func mpps(packets int, wall time.Duration) float64 { return float64(packets) / wall.Seconds() / 1e6 }

func pps(packets int, wall time.Duration) string {
	if wall <= 0 {
		return "inf"
	}
	return fmt.Sprintf("%.2f", mpps(packets, wall))
}

func nonEmpty(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Size() > 0
}

func newer(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && fa.ModTime().After(fb.ModTime())
}

func rename(t *testing.T, from, to string) {
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func countLines(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return bytes.Count(b, []byte{'\n'}), nil
}
