//go:build lab

package scenarios

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/visor-dns/visor/internal/lab"
	"github.com/visor-dns/visor/internal/truth"
	"github.com/visor-dns/visor/report"
)

// The findings corpus (issue 18; docs/findings-scorecard.md): attacks made
// with real tools in the lab, each captured with its truth, then analysed
// at four bucket sizes and scored.
//
//	VISOR_CORPUS_OUT=DIR    keep each scenario as DIR/NAME/{capture.pcap,truth.json}
//	VISOR_CORPUS_IN=DIR     score the scenarios of DIR instead of making them (no root)
//	VISOR_CORPUS_ONLY=RE    make only the scenarios whose name matches RE
//	VISOR_SCORECARD=FILE    write the scorecard (Markdown) to FILE
//	VISOR_BIN=FILE          score with this visor binary instead of building one
//	VISOR_BIN_LABEL=TEXT    what the scorecard calls that binary

const (
	cpIodined  = "198.51.100.3"      // iodined, for t.corp.example
	cpDns2tcpd = "198.51.100.4"      // dns2tcpd, for t.shop.example
	cpTunnel   = "198.51.100.193"    // iodined's tunnel address
	cpTunNet   = cpTunnel + "/27"    // the tunnel's network (client side: .194-.222)
	cpCrawler  = "198.51.100.20"     // the crawler-like client
	cpMail     = "198.51.100.21"     // the mail server
	cpTCPLoad  = "198.51.100.30"     // the DNS-over-TCP load client
	cpBusy     = "198.51.100.40"     // heavy ordinary traffic of a tunnel's parent zone
	cpNX       = "198.51.100.50"     // the NXDOMAIN flooder
	cpSF       = "198.51.100.51"     // the SERVFAIL storm's client
	cpSYN      = "198.51.100.52"     // hping3's source
	cpRefl     = "198.51.100.66"     // the reflection's target (its address is "spoofed")
	cpSlow     = "198.51.100.88"     // the low-and-slow client
	cpPTR      = "198.51.100.22"     // the PTR sweeper
	cpDNSSEC   = "198.51.100.23"     // the validating resolver's client
	cpValid    = "198.51.100.5"      // the validating unbound
	cpCat      = "198.51.100.60"     // the short-label tunnel's client
	cpRefl6    = "2001:db8:100::66"  // the IPv6 reflection's target
	cpSpoof6   = "2001:db8:200::/48" // spoofed sources, routed back to the client's link
	cpBot6     = "2001:db8:100::1"   // IPv6 bots: 2001:db8:100::101 ...
	cpBots6    = 20                  // ... to ::120
	cpBot0     = 101                 // bots: 198.51.100.101 ...
	cpBots     = 40                  // ... to .140
	cpPassword = "visor-corpus-pw1"  // iodine's
)

// corpusZones are the knotd zones beyond the crawler's.
var corpusZones = []string{"visor-lab.example", "victim.example", "flood.example", "amp.example",
	"corp.example", "shop.example", "slow.example", "100.51.198.in-addr.arpa"}

// corpusTemplated are knotd zones made from a shared template: the
// blocklists (dnsbl.zone) and zones where every name exists (crawl.zone).
var corpusTemplated = map[string]string{"bl.example": "dnsbl.zone", "rbl.example": "dnsbl.zone",
	"cdn.example": "crawl.zone", "trk.example": "crawl.zone", "cat.example": "crawl.zone", "signed.example": "crawl.zone"}

type corpusLab struct {
	n   *lab.Net
	dir string
	// mix is the ordinary mix's query file; crawl the crawler zones.
	mix   string
	crawl []string
	out   string // VISOR_CORPUS_OUT
	// client is a tunnel's client, stopped after the capture
	client *lab.Proc
	// longBG is the long scenarios' background piece, and its launches
	longBG         string
	longBGLaunched []lab.Launch
}

type corpusScenario struct {
	name, desc string
	// mix is how long (s) the ordinary background runs; the attack is
	// launched 2 s in.
	mix int
	// upstream: capture unbound's upstream side (lo in the server
	// namespace) instead of the client's veth.
	upstream bool
	// setup runs before the capture starts (a tunnel's server) and
	// returns what ends it after the capture.
	setup func(t *testing.T, c *corpusLab, r *recorder) func()
	run   func(t *testing.T, c *corpusLab, r *recorder)
	// build makes the capture itself (the long scenarios).
	build func(t *testing.T, c *corpusLab, r *recorder) string
}

// recorder collects a scenario's truth while it runs.
type recorder struct {
	mu    sync.Mutex
	truth lab.CorpusTruth
	pend  []pending
}

// pending is an expected finding whose launch is the first packet match
// accepts at or after the wall-clock launch.
type pending struct {
	e     lab.Expected
	after time.Time
	match func(*lab.Pkt) bool
}

// run runs fn as one launched program and records it.
func (r *recorder) run(role, tool string, args, sources, servers []string, fn func() (sent uint64, note string)) {
	args = append([]string(nil), args...)
	for i := 1; i < len(args); i++ {
		if args[i-1] == "-d" {
			args[i] = filepath.Base(args[i]) // a query file of the lab's temporary directory
		}
	}
	l := lab.Launch{Role: role, Tool: tool, Args: args, Sources: sources, Servers: servers, Start: lab.TimeString(time.Now())}
	l.Sent, l.Note = fn()
	l.End = lab.TimeString(time.Now())
	r.mu.Lock()
	r.truth.Launched = append(r.truth.Launched, l)
	r.mu.Unlock()
}

// expect records a finding visor must report, launched now: its launch is
// the first packet match accepts from now on.
func (r *recorder) expect(e truth.Expect, match func(*lab.Pkt) bool) {
	r.mu.Lock()
	r.pend = append(r.pend, pending{lab.Expected{Expect: e}, time.Now(), match})
	r.mu.Unlock()
}

// TestFindingsCorpus makes the findings corpus (or reads a kept one),
// analyses every capture with each of lab.ScoreBuckets, prints the
// scorecard and fails for every row that misses (lab.Score, lab.Consistent).
func TestFindingsCorpus(t *testing.T) {
	var dirs, notMade []string
	var made string
	if in := os.Getenv("VISOR_CORPUS_IN"); in != "" {
		m, _ := filepath.Glob(filepath.Join(in, "*", "truth.json"))
		var first string
		for _, f := range m {
			dirs = append(dirs, filepath.Dir(f))
			if c, err := lab.ReadCorpusTruth(filepath.Dir(f)); err == nil && (first == "" || c.First < first) {
				first = c.First
			}
		}
		made = "kept (made " + strings.Replace(first[:min(len(first), 16)], "T", " ", 1) + " UTC)"
		if len(dirs) == 0 {
			t.Fatalf("no scenario (NAME/truth.json) in %s", in)
		}
	} else {
		t0 := time.Now()
		dirs, notMade = makeCorpus(t)
		made = fmt.Sprintf("made in %s", time.Since(t0).Round(time.Second))
	}
	sort.Strings(dirs)
	t0 := time.Now()
	var rows []lab.Row
	for _, d := range dirs {
		rows = append(rows, scoreScenario(t, d)...)
	}
	which := os.Getenv("VISOR_BIN")
	if l := os.Getenv("VISOR_BIN_LABEL"); l != "" {
		which = l
	} else if which == "" {
		which = "built from the tree"
		if commit, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
			which += " at " + strings.TrimSpace(string(commit))
		}
	}
	card := fmt.Sprintf("Scored %s UTC with visor %s: %d scenarios, corpus %s, scored at %d bucket sizes in %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04"), which, len(dirs), made,
		len(lab.ScoreBuckets), time.Since(t0).Round(100*time.Millisecond))
	if len(notMade) > 0 {
		card += "Not made: " + strings.Join(notMade, ", ") + ".\n\n"
	}
	card += lab.Scorecard(rows)
	fmt.Printf("\n%s\n", card)
	if f := os.Getenv("VISOR_SCORECARD"); f != "" {
		if err := lab.WriteScorecard(f, card); err != nil {
			t.Error(err)
		}
	}
	for i := range rows {
		if r := &rows[i]; !r.Pass() {
			t.Errorf("%s at %s: %s", r.Scenario, lab.BucketName(r.Bucket), strings.Join(r.Misses, "; "))
		}
	}
}

// scoreScenario analyses one scenario's capture at every bucket size.
func scoreScenario(t *testing.T, dir string) []lab.Row {
	c, err := lab.ReadCorpusTruth(dir)
	if err != nil {
		t.Error(err)
		return nil
	}
	// a binary given from outside may be of another version than the
	// schema: only the tree's own is validated
	bin, validate := os.Getenv("VISOR_BIN"), false
	if bin == "" {
		bin, validate = lab.Visor(t), true
	}
	rows := make([]lab.Row, len(lab.ScoreBuckets))
	var wg sync.WaitGroup
	for i, b := range lab.ScoreBuckets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var fs []lab.Found
			out, err := exec.Command(bin, "analyze", "--format", "json", "--bucket", b.String(), filepath.Join(dir, c.Capture)).Output()
			if e, ok := err.(*exec.ExitError); ok {
				err = fmt.Errorf("%w: %s", err, e.Stderr)
			}
			if err == nil {
				if validate {
					err = report.Validate(out)
				}
				if err == nil {
					fs, err = lab.ReportFindings(out)
				}
			}
			rows[i] = lab.Score(c, b, fs)
			if err != nil {
				t.Errorf("%s at %s: %v", c.Scenario, b, err)
				rows[i].Misses = append(rows[i].Misses, "visor analyze failed")
			}
		}()
	}
	wg.Wait()
	lab.Consistent(rows)
	return rows
}

// makeCorpus makes every scenario and returns their directories, and the
// scenarios not made, each with why.
func makeCorpus(t *testing.T) (dirs, notMade []string) {
	c := newCorpusLab(t)
	var only *regexp.Regexp
	if s := os.Getenv("VISOR_CORPUS_ONLY"); s != "" {
		only = regexp.MustCompile(s)
	}
	for _, sc := range corpusScenarios() {
		if only != nil && !only.MatchString(sc.name) {
			continue
		}
		var skipped bool
		made := false
		t.Run("make/"+sc.name, func(t *testing.T) {
			defer func() { skipped = t.Skipped() }()
			t0 := time.Now()
			d := c.make(t, sc)
			t.Logf("%s made in %s", sc.name, time.Since(t0).Round(time.Millisecond))
			dirs, made = append(dirs, d), true
		})
		switch {
		case skipped:
			notMade = append(notMade, sc.name+" (skipped: a program is missing, see the log)")
		case !made:
			notMade = append(notMade, sc.name+" (failed, see the log)")
			t.Errorf("scenario %s was not made: its rows are missing from the scorecard", sc.name)
		}
	}
	return dirs, notMade
}

func newCorpusLab(t *testing.T) *corpusLab {
	lab.Require(t, "ip", "knotd", "unbound", "dnsperf", "kdig", "tcpdump", "ethtool")
	cli := []string{c4 + "/24"}
	for _, a := range []string{cpCrawler, cpMail, cpTCPLoad, cpBusy, cpNX, cpSF, cpSYN, cpRefl, cpSlow, cpPTR, cpCat, cpDNSSEC} {
		cli = append(cli, a+"/32")
	}
	for i := 0; i < cpBots; i++ {
		cli = append(cli, fmt.Sprintf("198.51.100.%d/32", cpBot0+i))
	}
	cli = append(cli, c6+"/64", cpRefl6+"/128")
	for _, a := range bots6(cpBots6) {
		cli = append(cli, a+"/128")
	}
	c := &corpusLab{dir: t.TempDir(), out: os.Getenv("VISOR_CORPUS_OUT")}
	c.n = lab.NewNet(t, lab.NetConfig{
		SrvAddrs: []string{s4u + "/24", s4k + "/24", cpIodined + "/24", cpDns2tcpd + "/24", cpValid + "/24", s6u + "/64", s6k + "/64"},
		CliAddrs: cli, Blackholes: []string{dead + "/32"}, NoOffload: true,
	})
	c.crawl = crawlZones()
	files := map[string]string{}
	zones := append(append([]string{}, corpusZones...), c.crawl...)
	for _, z := range c.crawl {
		files[z] = "crawl.zone"
	}
	for z, f := range corpusTemplated {
		files[z] = f
		zones = append(zones, z)
	}
	knot := c.n.StartKnot(c.dir, lab.Knot{Listen: []string{s4k, s6k}, UDPMaxPayload: 4096, LogLevel: "warning",
		Zones: zones, ZoneFiles: files, Signed: map[string]bool{"signed.example": true}})
	stubs := map[string]string{"example": s4k, "broken.example": dead, ".": dead}
	for _, z := range zones[:len(corpusZones)] {
		stubs[z] = s4k
	}
	for z := range corpusTemplated {
		stubs[z] = s4k
	}
	ub := c.n.StartUnbound(c.dir, "unbound", lab.Unbound{
		Interfaces: []string{s4u, s6u}, Outgoing: []string{s4u},
		Extra: []string{"serve-expired: no", "infra-keep-probing: yes", "ratelimit: 0", "ip-ratelimit: 0",
			`local-zone: "100.51.198.in-addr.arpa." nodefault`,
			"num-queries-per-thread: 4096", "outgoing-range: 8192", "msg-cache-size: 64m", "rrset-cache-size: 64m"},
		Stubs: stubs,
	})
	c.n.WaitAnswer(s4k, "amp.example", "SOA", "hostmaster", knot)
	c.n.WaitAnswer(s4u, "www.corp.example", "A", "198.51.100.80", knot, ub)
	c.n.WaitAnswer(s4u, "www."+c.crawl[len(c.crawl)-1], "A", "198.51.100.91", knot, ub)
	c.mix = c.write(t, "mix.txt", ordinaryMix(c.crawl))
	c.validator(t, knot)
	return c
}

// validator starts a validating unbound on cpValid whose trust anchor is
// signed.example's key-signing key, as knotd made it.
func (c *corpusLab) validator(t *testing.T, knot *lab.Proc) {
	c.n.WaitAnswer(s4k, "signed.example", "DNSKEY", "257 3 13", knot)
	var ksk string
	for _, l := range strings.Split(c.n.Kdig("+short", "@"+s4k, "signed.example", "DNSKEY"), "\n") {
		if strings.HasPrefix(l, "257 ") {
			ksk = strings.TrimSpace(l)
		}
	}
	if ksk == "" {
		t.Fatal("signed.example has no key-signing key")
	}
	ub := c.n.StartUnbound(c.dir, "unbound-validating", lab.Unbound{
		Interfaces: []string{cpValid}, Outgoing: []string{cpValid},
		Extra: []string{`module-config: "validator iterator"`, `trust-anchor: "signed.example. DNSKEY ` + ksk + `"`, "aggressive-nsec: no",
			"ratelimit: 0", "ip-ratelimit: 0", "msg-cache-size: 64m", "rrset-cache-size: 64m"},
		Stubs: map[string]string{"signed.example": s4k, ".": dead},
	})
	c.n.WaitAnswer(cpValid, "www.signed.example", "A", "198.51.100.91", knot, ub)
}

// sub is a directory of its own for a scenario's files.
func (c *corpusLab) sub(t *testing.T, name string) string {
	d := filepath.Join(c.dir, "files-"+name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func (c *corpusLab) write(t *testing.T, name string, lines []string) string {
	p := filepath.Join(c.dir, name)
	lab.WriteLines(t, p, lines)
	return p
}

// floodFor4s is a scenario (8 s of ordinary mix) whose attack is one
// dnsperf for 4 s from src: the queries q, written as file, to server at
// qps, with the dnsperf options extra; it expects e.
func floodFor4s(name, desc string, e truth.Expect, src, server, qps, file string, q []string, note string, extra ...string) corpusScenario {
	return corpusScenario{name: name, mix: 8, desc: desc, run: func(t *testing.T, c *corpusLab, r *recorder) {
		f := c.write(t, file, q)
		r.expect(e, lab.FromAny(src))
		args := append([]string{"-t", "2", "-f", family(src), "-a", src, "-s", server}, extra...)
		c.dnsperfAll(r, "attack", [][]string{append(args, "-d", f, "-l", "4", "-Q", qps)}, note)
	}}
}

// numbered returns n queries made with format, %d standing for 1 to n.
func numbered(format string, n int) []string {
	q := make([]string, n)
	for i := range q {
		q[i] = fmt.Sprintf(format, i+1)
	}
	return q
}

// background runs the ordinary mix for secs seconds: 150 q/s through
// unbound and 50 q/s to knotd, from c4.
func (c *corpusLab) background(t *testing.T, r *recorder, secs int) func() {
	l := fmt.Sprint(secs)
	var wg sync.WaitGroup
	for _, x := range []struct {
		server, qps string
	}{{s4u, "150"}, {s4k, "50"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := []string{"-t", "2", "-f", "inet", "-a", c4, "-s", x.server, "-d", c.mix, "-l", l, "-Q", x.qps}
			r.run("background", "dnsperf", args, []string{c4}, []string{x.server}, func() (uint64, string) {
				d := c.n.Dnsperf(args...)
				return d.Sent, "the ordinary mix (" + filepath.Base(c.mix) + ")"
			})
		}()
	}
	return wg.Wait
}

// make runs one scenario and writes its capture and truth under
// c.dir/corpus/NAME (and $VISOR_CORPUS_OUT/NAME).
func (c *corpusLab) make(t *testing.T, sc corpusScenario) string {
	r := &recorder{truth: lab.CorpusTruth{Scenario: sc.name, Description: sc.desc, Expect: []lab.Expected{}}}
	var path string
	if sc.setup != nil {
		defer sc.setup(t, c, r)()
	}
	if sc.build != nil {
		path = sc.build(t, c, r)
	} else {
		path = filepath.Join(c.dir, sc.name+".pcap")
		var capt *lab.Capture
		if sc.upstream {
			capt = c.n.Tcpdump(c.n.Srv, path, "-i", "lo", "udp port 53 or tcp port 53")
		} else {
			capt = c.n.Tcpdump(c.n.Cli, path, "-i", c.n.CliIf)
		}
		wait := c.background(t, r, sc.mix)
		time.Sleep(2 * time.Second)
		if sc.run != nil {
			sc.run(t, c, r)
		}
		wait()
		time.Sleep(1500 * time.Millisecond)
		capt.Stop(t)
	}
	for _, p := range r.pend {
		at, err := lab.FirstPacket(path, p.after, p.match)
		if err != nil {
			t.Fatalf("the launch of %s(%s): %v", p.e.Kind, p.e.Key(), err)
		}
		p.e.Launch = lab.TimeString(at)
		r.truth.Expect = append(r.truth.Expect, p.e)
	}
	first, last, pkts, err := lab.Span(path)
	if err != nil {
		t.Fatal(err)
	}
	r.truth.First, r.truth.Last, r.truth.Packets = lab.TimeString(first), lab.TimeString(last), pkts
	dir := filepath.Join(c.dir, "corpus", sc.name)
	if err := lab.WriteCorpus(dir, path, &r.truth); err != nil {
		t.Fatal(err)
	}
	if c.out != "" {
		if err := lab.WriteCorpus(filepath.Join(c.out, sc.name), path, &r.truth); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// family is dnsperf's -f for a source address.
func family(addr string) string {
	if strings.Contains(addr, ":") {
		return "inet6"
	}
	return "inet"
}

// bots6 returns the first k IPv6 bot addresses.
func bots6(k int) []string {
	var out []string
	for i := 0; i < k; i++ {
		out = append(out, fmt.Sprintf("%s%02d", cpBot6, i+1))
	}
	return out
}

// bots returns the first k bot addresses.
func bots(k int) []string {
	var out []string
	for i := 0; i < k; i++ {
		out = append(out, fmt.Sprintf("198.51.100.%d", cpBot0+i))
	}
	return out
}

func corpusScenarios() []corpusScenario {
	return []corpusScenario{
		{name: "ordinary-mix", mix: 8,
			desc: "the ordinary mix alone (200 q/s through unbound and to knotd, a few NXDOMAIN typos) and some kdig queries over UDP and TCP, ANY among them",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				r.run("background", "kdig", nil, []string{c4}, []string{s4u, s4k}, func() (uint64, string) {
					k := uint64(0)
					for _, s := range []string{s4u, s4k} {
						for _, q := range [][]string{{"visor-lab.example", "SOA"}, {"www.corp.example", "A"}, {"amp.example", "ANY"},
							{"nope.visor-lab.example", "A"}, {"x.broken.example", "A"}, {"visor-lab.example", "MX"}} {
							c.n.Kdig("+timeout=2", "@"+s, q[0], q[1])
							c.n.Kdig("+timeout=2", "+tcp", "@"+s, q[0], q[1])
							k += 2
						}
					}
					return k, "single queries, UDP and TCP"
				})
			}},
		{name: "random-unique", mix: 9,
			desc: "random-subdomain flood with unique names: 40 sources, each asking 50 names (8-16 random [a-z0-9] under victim.example, no name asked twice) at 10 q/s through unbound, inside the ordinary mix",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				files, _ := lab.RandomNames(t, c.sub(t, "random-unique"), 20261130, "victim.example", cpBots*50, cpBots*50, 50, 50)
				var runs [][]string
				for i, f := range files {
					runs = append(runs, []string{"-t", "2", "-f", "inet", "-a", bots(cpBots)[i], "-s", s4u, "-d", f, "-n", "1", "-Q", "10"})
				}
				r.expect(truth.Expect{Kind: "random_subdomain", Zone: "victim.example"}, lab.FromAny(bots(cpBots)...))
				c.dnsperfAll(r, "attack", runs, "2000 unique random names, 50 a source")
			}},
		{name: "random-shared-list", mix: 10,
			desc: "random-subdomain flood from 32 sources replaying one shared list (160 names: 125 random labels under victim.example and 35 names that exist, so about 78 % NXDOMAIN) at 20 q/s each, straight to knotd: every name is asked 32 times",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				var q []string
				real := []string{"www.victim.example A", "ns1.victim.example A", "victim.example SOA", "victim.example NS", "www.victim.example AAAA"}
				for i, l := range lab.RandomLabels(20261131, "abcdefghijklmnopqrstuvwxyz0123456789", 12, 125) {
					q = append(q, l+".victim.example A")
					if i%18 == 0 || i%18 == 9 || i%18 == 5 || i%18 == 14 || i%18 == 17 {
						q = append(q, real[i%len(real)])
					}
				}
				f := c.write(t, "shared.txt", q)
				var runs [][]string
				for _, b := range bots(32) {
					runs = append(runs, []string{"-t", "2", "-f", "inet", "-a", b, "-s", s4k, "-d", f, "-n", "1", "-Q", "20"})
				}
				r.expect(truth.Expect{Kind: "random_subdomain", Zone: "victim.example"}, lab.FromAny(bots(32)...))
				c.dnsperfAll(r, "attack", runs, fmt.Sprintf("one shared list of %d names, replayed by every source", len(q)))
			}},
		{name: "random-subzone", mix: 9,
			desc: "random-subdomain flood one level down: 20 sources, each asking 40 unique random names under img.shop.example (a name without children: NXDOMAIN) at 10 q/s through unbound, while shop.example carries 300 q/s of ordinary names from 198.51.100.40",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				files, _ := lab.RandomNames(t, c.sub(t, "random-subzone"), 20261202, "img.shop.example", 800, 800, 40, 1)
				var wg sync.WaitGroup
				wg.Add(1)
				go func() { defer wg.Done(); c.busy(t, r, "shop.example", 6) }()
				time.Sleep(time.Second)
				var runs [][]string
				for i, f := range files {
					runs = append(runs, []string{"-t", "2", "-f", "inet", "-a", bots(20)[i], "-s", s4u, "-d", f, "-n", "1", "-Q", "10"})
				}
				r.expect(truth.Expect{Kind: "random_subdomain", Zone: "img.shop.example"}, lab.FromAny(bots(20)...))
				c.dnsperfAll(r, "attack", runs, "800 unique random names under img.shop.example, 40 a source")
				wg.Wait()
			}},
		floodFor4s("nxdomain-repeated", "NXDOMAIN flood of 6 repeated names (gone1..6.flood.example) at 500 q/s for 4 s from one source, straight to knotd",
			truth.Expect{Kind: "nxdomain_flood", Zone: "flood.example"}, cpNX, s4k, "500", "nx.txt", numbered("gone%d.flood.example A", 6), "6 names, each asked again and again"),
		floodFor4s("servfail-storm", "SERVFAIL storm: 200 q/s for 4 s of 30 names under broken.example, whose servers (198.51.100.254) are a blackhole behind unbound",
			truth.Expect{Kind: "servfail_storm", Zone: "broken.example"}, cpSF, s4u, "200", "servfail.txt", numbered("host%d.broken.example A", 30), "unreachable upstream"),
		floodFor4s("reflection-any", "ANY and 3 kB TXT queries with EDNS (4096) at 150 q/s for 4 s in the name of 198.51.100.66 (its address, as a spoofer would), straight to knotd: large, fragmented answers towards the target",
			truth.Expect{Kind: "reflection", Target: cpRefl}, cpRefl, s4k, "150", "amp.txt", []string{"amp.example ANY", "big.amp.example TXT"}, "ANY and large TXT", "-e"),
		{name: "syn-flood-hping3", mix: 8,
			desc: "hping3 SYN flood: 3000 SYNs at 1000/s to knotd's port 53 from 198.51.100.52 (no socket there: its kernel answers the SYN-ACKs with RST)",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				args := []string{"-S", "-p", "53", "-a", cpSYN, "-i", "u1000", "-c", "3000", "-q", s4k}
				r.expect(truth.Expect{Kind: "tcp_syn_flood", Target: s4k}, func(p *lab.Pkt) bool { return p.SYN && !p.ACK && p.Src.String() == cpSYN })
				r.run("attack", "hping3", args, []string{cpSYN}, []string{s4k}, func() (uint64, string) {
					out := c.n.Hping3(args...)
					return 3000, strings.TrimSpace(out)
				})
			}},
		{name: "syn-flood-spoofed", mix: 8,
			desc: "SYN flood from 4 spoofed sources (198.51.100.181-184: no host has them, so knotd's SYN-ACKs wait on ARP and never leave): 4 hping3 at 250 SYNs/s each for 3 s to knotd's port 53",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				var srcs []string
				for i := 181; i <= 184; i++ {
					srcs = append(srcs, fmt.Sprintf("198.51.100.%d", i))
				}
				r.expect(truth.Expect{Kind: "tcp_syn_flood", Target: s4k}, func(p *lab.Pkt) bool { return p.SYN && !p.ACK && p.Dst.String() == s4k })
				r.run("attack", "hping3", []string{"-S", "-p", "53", "-a", "198.51.100.18[1-4]", "-i", "u4000", "-c", "750", "-q", s4k}, srcs, []string{s4k}, func() (uint64, string) {
					var wg sync.WaitGroup
					for _, a := range srcs {
						wg.Add(1)
						go func() { defer wg.Done(); c.n.Hping3("-S", "-p", "53", "-a", a, "-i", "u4000", "-c", "750", "-q", s4k) }()
					}
					wg.Wait()
					return 3000, "4 hping3 at once, one a spoofed source"
				})
			}},
		{name: "tcp-load-dnsperf", mix: 9,
			desc: "a legitimate DNS-over-TCP load from one client (198.51.100.30) to knotd: 8 rounds of dnsperf -m tcp, each opening 100 connections and sending the mix's 100 queries once (800 handshakes in about 5 s, every one completed)",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				f := c.write(t, "tcpload.txt", ordinaryMix(c.crawl)[:100])
				args := []string{"-t", "2", "-m", "tcp", "-c", "100", "-f", "inet", "-a", cpTCPLoad, "-s", s4k, "-d", f, "-n", "1", "-Q", "400"}
				r.run("load", "dnsperf", args, []string{cpTCPLoad}, []string{s4k}, func() (uint64, string) {
					var sent uint64
					for i := 0; i < 8; i++ {
						sent += c.n.Dnsperf(args...).Sent
						time.Sleep(300 * time.Millisecond)
					}
					return sent, "8 rounds, one after the other: DNS over TCP, not an attack"
				})
			}},
		tunnelScenario("tunnel-iodine", 12, "iodine", "iodine", "t.corp.example",
			"iodine (IP over DNS, NULL records, through unbound) under t.corp.example, delegated to iodined on 198.51.100.3, carrying a 160 KiB file over TCP inside the tunnel at 32 KiB/s; corp.example also serves 300 q/s of ordinary names from 198.51.100.40. The launch is iodine's start: its set-up (under a second), then the transfer",
			func(t *testing.T, c *corpusLab) (uint64, string) {
				data := lab.RandomBytes(1, 160<<10)
				got := c.carried(t, "iodine", cpTunnel+":9000", data, 10*time.Second, func() (stop func()) {
					c.client = c.n.Iodine(s4u, "t.corp.example", cpPassword) // the tunnel's set-up, then the transfer
					if err := lab.Send(c.n.Cli, cpTunnel+":9000", lab.NewPaced(bytes.NewReader(data), 32<<10), 40*time.Second); err != nil {
						t.Errorf("the transfer through iodine: %v", err)
					}
					return nil
				})
				return got, "iodine -f -r -P ... 198.51.100.1 t.corp.example, then TCP to 198.51.100.193:9000 through the tunnel: bytes carried"
			}),
		tunnelScenario("tunnel-dns2tcp", 11, "dns2tcp", "dns2tcpc", "t.shop.example",
			"dns2tcp (TCP over DNS, TXT records, through unbound) under t.shop.example, delegated to dns2tcpd on 198.51.100.4, carrying a 128 KiB file at 32 KiB/s to a TCP service behind it; shop.example also serves 300 q/s of ordinary names from 198.51.100.40",
			func(t *testing.T, c *corpusLab) (uint64, string) {
				data := lab.RandomBytes(2, 128<<10)
				got := c.carried(t, "dns2tcp", cpDns2tcpd+":9001", data, 40*time.Second, func() (stop func()) {
					p := c.n.Dns2tcpc(s4u, "t.shop.example", "xfer", lab.NewPaced(bytes.NewReader(data), 32<<10))
					return func() { p.Stop(syscall.SIGTERM) } // it ends by itself once its stdin has, or polls on
				})
				return got, "bytes carried through the tunnel (dns2tcpc -r xfer, stdin)"
			}),
		{name: "ordinary-busy-zone", mix: 9,
			desc: "the ordinary mix and 300 q/s of ordinary names under corp.example (the tunnels' parent zones, without a tunnel) from 198.51.100.40",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				c.busy(t, r, "corp.example", 6)
			}},
		{name: "ordinary-crawler", mix: 13,
			desc: "a crawler-like client (198.51.100.20) resolving 3000 distinct real-looking host names (www, cdn-eu-3, img7, static.news, ...) across 120 zones through unbound at 300 q/s, each once, inside the ordinary mix: many distinct but legitimate names",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				c.crawler(t, r, 1)
			}},
		{name: "ordinary-resolver-upstream", mix: 13, upstream: true,
			desc: "a resolver's upstream side: what unbound asks knotd (lo of the server namespace) while a crawler-like client resolves 3000 other real-looking host names across 120 zones at 300 q/s and the ordinary mix runs",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				c.crawler(t, r, 2)
			}},
		{name: "ordinary-mail-server", mix: 10,
			desc: "a mail server's lookups (198.51.100.21): for each of the crawler's 120 zones MX, SPF (TXT), _dmarc TXT and DKIM keys (TXT, ~300 bytes, two selectors), and its A and AAAA: 840 queries at 150 q/s through unbound: TXT-heavy, large answers to its own queries",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				var q []string
				for i, z := range c.crawl {
					q = append(q, z+" MX", z+" TXT", "_dmarc."+z+" TXT", fmt.Sprintf("%s._domainkey.%s TXT", []string{"selector1", "s2048", "google", "k1", "mail"}[i%5], z),
						fmt.Sprintf("s%d._domainkey.%s TXT", 2020+i%6, z), "mail."+z+" A", "mail."+z+" AAAA")
				}
				f := c.write(t, "mail.txt", q)
				c.dnsperfAll(r, "background", [][]string{{"-t", "2", "-f", "inet", "-a", cpMail, "-s", s4u, "-d", f, "-n", "1", "-Q", "150"}},
					"a mail server checking senders' MX, SPF, DMARC and DKIM")
			}},
		{name: "random-ipv6", mix: 7,
			desc: "random-subdomain flood over IPv6: 20 sources (2001:db8:100::101-120), each asking 30 unique random names (8-16 [a-z0-9]) under victim.example at 10 q/s to unbound's IPv6 address (2001:db8:100::1), inside the ordinary (IPv4) mix",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				_, files := lab.RandomNames(t, c.sub(t, "random-ipv6"), 20261203, "victim.example", cpBots6*30, 0, 1, 30)
				var runs [][]string
				for i, f := range files {
					runs = append(runs, []string{"-t", "2", "-f", "inet6", "-a", bots6(cpBots6)[i], "-s", s6u, "-d", f, "-n", "1", "-Q", "10"})
				}
				r.expect(truth.Expect{Kind: "random_subdomain", Zone: "victim.example"}, lab.FromAny(bots6(cpBots6)...))
				c.dnsperfAll(r, "attack", runs, "600 unique random names over IPv6, 30 a source")
			}},
		floodFor4s("reflection-ipv6", "ANY and 3 kB TXT queries with EDNS (4096) at 150 q/s for 4 s over IPv6 in the name of 2001:db8:100::66, straight to knotd's 2001:db8:100::2: large answers, IPv6-fragmented, towards the target",
			truth.Expect{Kind: "reflection", Target: cpRefl6}, cpRefl6, s6k, "150", "amp6.txt", []string{"amp.example ANY", "big.amp.example TXT"}, "ANY and large TXT over IPv6", "-e"),
		{name: "random-dga-words", mix: 7,
			desc: "random-subdomain flood of dictionary-made names (bluehorse-42, cloudapplecar, river-stone: real words, low character entropy): 30 sources, 40 unique names each under victim.example at 10 q/s through unbound",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				names := wordNames(20261204, 30*40)
				var runs [][]string
				for i, b := range bots(30) {
					var q []string
					for _, n := range names[i*40 : (i+1)*40] {
						q = append(q, n+".victim.example A")
					}
					runs = append(runs, []string{"-t", "2", "-f", "inet", "-a", b, "-s", s4u, "-d", c.write(t, fmt.Sprintf("dga-%d.txt", i), q), "-n", "1", "-Q", "10"})
				}
				r.expect(truth.Expect{Kind: "random_subdomain", Zone: "victim.example"}, lab.FromAny(bots(30)...))
				c.dnsperfAll(r, "attack", runs, "1200 unique dictionary-made names, 40 a source")
			}},
		{name: "random-tcp", mix: 7,
			desc: "random-subdomain flood over TCP only: 12 sources, each dnsperf -m tcp asking 40 unique random names under victim.example at 10 q/s through unbound",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				files, _ := lab.RandomNames(t, c.sub(t, "random-tcp"), 20261205, "victim.example", 12*40, 12*40, 40, 1)
				var runs [][]string
				for i, f := range files {
					runs = append(runs, []string{"-t", "2", "-m", "tcp", "-c", "2", "-f", "inet", "-a", bots(12)[i], "-s", s4u, "-d", f, "-n", "1", "-Q", "10"})
				}
				r.expect(truth.Expect{Kind: "random_subdomain", Zone: "victim.example"}, lab.FromAny(bots(12)...))
				c.dnsperfAll(r, "attack", runs, "480 unique random names over TCP, 40 a source")
			}},
		{name: "tunnel-short-labels", mix: 9,
			desc: "a dnscat2-style tunnel that keeps labels short: one client (198.51.100.60) asking 50 q/s for 5 s TXT, CNAME and MX names made of 18-30 hex characters (a session header and a few bytes of data) split into labels of at most 16, under cat.example through unbound; dnsperf sends the names (dnscat2 is not packaged)",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				f := c.write(t, "cat.txt", catNames(20261206, 250))
				r.expect(truth.Expect{Kind: "dns_tunneling", Zone: "cat.example"}, lab.FromAny(cpCat))
				c.dnsperfAll(r, "tunnel", [][]string{{"-t", "2", "-f", "inet", "-a", cpCat, "-s", s4u, "-d", f, "-n", "1", "-Q", "50"}},
					"250 hex-encoded names, each once (a tunnel's upstream)")
			}},
		{name: "random-spoofed-v6", mix: 7,
			desc: "random-subdomain flood from 2000 spoofed sources: 2000 UDP queries, each from a random address of its own in 2001:db8:200::/48 (no host has them; knotd's answers are routed back to the client's link and captured there), for unique random names under victim.example straight to knotd's 2001:db8:100::2 at 500 q/s, sent through a raw socket",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				if out, err := exec.Command("ip", "-n", c.n.Srv, "-6", "route", "replace", cpSpoof6, "via", c6).CombinedOutput(); err != nil {
					t.Fatalf("ip route: %v: %s", err, out)
				}
				names := lab.RandomLabels(20261208, "abcdefghijklmnopqrstuvwxyz0123456789", 12, 2000)
				srcs := lab.RandomLabels(20261209, "0123456789abcdef", 20, 2000)
				pkts := make([][]byte, len(names))
				for i, n := range names {
					q, err := lab.TCPQuery(n + ".victim.example")
					if err != nil {
						t.Fatal(err)
					}
					s := srcs[i]
					src := fmt.Sprintf("2001:db8:200:%s:%s:%s:%s:%s", s[0:4], s[4:8], s[8:12], s[12:16], s[16:20])
					pkts[i] = lab.UDP(t, src, s6k, uint16(1024+i), 53, q[2:])[14:] // no Ethernet header
				}
				r.expect(truth.Expect{Kind: "random_subdomain", Zone: "victim.example"}, func(p *lab.Pkt) bool {
					return netip.MustParsePrefix(cpSpoof6).Contains(p.Src)
				})
				r.run("attack", "raw socket (lab.SpoofedUDP)", nil, []string{cpSpoof6 + " (2000 random addresses)"}, []string{s6k}, func() (uint64, string) {
					if err := lab.SpoofedUDP(c.n.Cli, pkts, 500); err != nil {
						t.Errorf("spoofed queries: %v", err)
					}
					return uint64(len(pkts)), "2000 queries, one a spoofed source, unique random names"
				})
			}},
		{name: "flood-spoofed-v6", mix: 8,
			desc: "a query flood from spoofed sources: 6000 UDP queries for one ordinary name (www.corp.example A, answered), each from a random address of its own in 2001:db8:200::/48 (a /64 each: no source nor prefix floods), straight to knotd's 2001:db8:100::2 at 2000 q/s, sent through a raw socket; the finding is the flood to knotd",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				if out, err := exec.Command("ip", "-n", c.n.Srv, "-6", "route", "replace", cpSpoof6, "via", c6).CombinedOutput(); err != nil {
					t.Fatalf("ip route: %v: %s", err, out)
				}
				q, err := lab.TCPQuery("www.corp.example")
				if err != nil {
					t.Fatal(err)
				}
				srcs := lab.RandomLabels(20261211, "0123456789abcdef", 20, 6000)
				pkts := make([][]byte, len(srcs))
				for i, s := range srcs {
					src := fmt.Sprintf("2001:db8:200:%s:%s:%s:%s:%s", s[0:4], s[4:8], s[8:12], s[12:16], s[16:20])
					pkts[i] = lab.UDP(t, src, s6k, uint16(1024+i%60000), 53, q[2:])[14:] // no Ethernet header
				}
				r.expect(truth.Expect{Kind: "query_flood", Target: s6k}, func(p *lab.Pkt) bool {
					return netip.MustParsePrefix(cpSpoof6).Contains(p.Src)
				})
				r.run("attack", "raw socket (lab.SpoofedUDP)", nil, []string{cpSpoof6 + " (6000 random addresses)"}, []string{s6k}, func() (uint64, string) {
					if err := lab.SpoofedUDP(c.n.Cli, pkts, 2000); err != nil {
						t.Errorf("spoofed queries: %v", err)
					}
					return uint64(len(pkts)), "6000 queries for www.corp.example, one a spoofed source"
				})
			}},
		{name: "random-far-zone", mix: 7,
			desc: "random-subdomain attack on a far zone seen at the resolver's client side: 20 sources, 30 unique random names each under broken.example (its servers, 198.51.100.254, a blackhole: unbound answers SERVFAIL) at 10 q/s through unbound",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				files, _ := lab.RandomNames(t, c.sub(t, "random-far-zone"), 20261210, "broken.example", 600, 600, 30, 1)
				var runs [][]string
				for i, f := range files {
					runs = append(runs, []string{"-t", "2", "-f", "inet", "-a", bots(20)[i], "-s", s4u, "-d", f, "-n", "1", "-Q", "10"})
				}
				r.expect(truth.Expect{Kind: "random_subdomain", Zone: "broken.example"}, lab.FromAny(bots(20)...))
				c.dnsperfAll(r, "attack", runs, "600 unique random names under an unreachable zone, 30 a source")
			}},
		{name: "ordinary-dnssec", mix: 8, upstream: true,
			desc: "a DNSSEC-validating resolver's upstream side: a client (198.51.100.23) asks a validating unbound (198.51.100.5, trust anchor signed.example's key) with DO for 1500 distinct host names under the signed zone signed.example (knotd signs it: ECDSA, NSEC; wildcard answers with their RRSIG and NSEC proof; no aggressive use of NSEC, so each name goes upstream) at 300 q/s; captured where unbound asks knotd (lo of the server namespace): DO queries, DNSKEY, signed answers",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				c.dnsperfAll(r, "background", [][]string{{"-t", "2", "-D", "-f", "inet", "-a", cpDNSSEC, "-s", cpValid, "-d", c.write(t, "dnssec.txt", signedNames(1500)), "-n", "1", "-Q", "300"}},
					"1500 names under a signed zone, each once, through a validating resolver")
			}},
		{name: "ordinary-dnsbl-ptr", mix: 7,
			desc: "legitimate lookups that look like an attack: a mail server (198.51.100.21) checking 250 senders against two blocklists (reversed IPv4 under bl.example and rbl.example: 500 distinct names, nearly all NXDOMAIN) at 100 q/s through unbound, and a PTR sweep of 198.51.100.0/24 (256 names, mostly NXDOMAIN) from 198.51.100.22 at 50 q/s",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				var q, ptr []string
				for i := 0; i < 250; i++ {
					ip := fmt.Sprintf("%d.%d.%d.%d", i%256, (i*7)%200, []int{113, 2, 100}[i%3], []int{203, 192, 198}[i%3])
					q = append(q, ip+".bl.example A", ip+".rbl.example A")
				}
				for i := 0; i < 256; i++ {
					ptr = append(ptr, fmt.Sprintf("%d.100.51.198.in-addr.arpa PTR", i))
				}
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					c.dnsperfAll(r, "background", [][]string{{"-t", "2", "-f", "inet", "-a", cpPTR, "-s", s4u, "-d", c.write(t, "ptr.txt", ptr), "-n", "1", "-Q", "50"}},
						"a PTR sweep of 198.51.100.0/24")
				}()
				c.dnsperfAll(r, "background", [][]string{{"-t", "2", "-f", "inet", "-a", cpMail, "-s", s4u, "-d", c.write(t, "dnsbl.txt", q), "-n", "1", "-Q", "100"}},
					"a mail server's DNSBL lookups: 250 senders, two lists")
				wg.Wait()
			}},
		{name: "ordinary-cdn-hex", mix: 7,
			desc: "CDN and tracking names with long hex labels (a1b2c3d4e5f6.cdn.example, 32-hex ids under trk.example: 150 names) asked again and again by 40 clients (198.51.100.101-140), each over the whole list in its own order at 10 q/s through unbound: all NOERROR",
			run: func(t *testing.T, c *corpusLab, r *recorder) {
				names := cdnNames(20261207, 150)
				var runs [][]string
				for i, b := range bots(cpBots) {
					q := make([]string, len(names))
					for j := range names {
						q[j] = names[(j*7+i*13)%len(names)]
					}
					runs = append(runs, []string{"-t", "2", "-f", "inet", "-a", b, "-s", s4u, "-d", c.write(t, fmt.Sprintf("cdn-%d.txt", i), q), "-l", "4", "-Q", "10"})
				}
				c.dnsperfAll(r, "background", runs, "150 hex-labelled CDN and tracking names, every client over all of them")
			}},
		{name: "ordinary-long-crawler", build: buildLong(false),
			desc: "benign and slow: 3 new real-looking host names a second across 120 zones (1800 in 10 minutes, from the crawler-like 198.51.100.20 through unbound, all NOERROR) inside 200 ordinary queries a second, in an 11-minute capture assembled from real pieces (see built)"},
		{name: "low-and-slow", build: buildLong(true),
			desc: "low and slow: 3 random names a second under slow.example (1800 in 10 minutes, from 198.51.100.88 through unbound, all NXDOMAIN) inside 200 ordinary queries a second, in an 11-minute capture assembled from real pieces (see built)"},
	}
}

// tunnelUp starts a tunnel's server before the capture (it sends nothing
// until asked); it returns what stops it and the tunnel's client.
func (c *corpusLab) tunnelUp(t *testing.T, r *recorder, tool string) func() {
	var p *lab.Proc
	switch tool {
	case "iodine":
		p = c.n.Iodined(cpIodined, cpTunNet, "t.corp.example", cpPassword)
	case "dns2tcp":
		p = c.n.Dns2tcpd(c.dir, cpDns2tcpd, "t.shop.example", "xfer:"+cpDns2tcpd+":9001")
	}
	return func() {
		if c.client != nil {
			c.client.Stop(syscall.SIGTERM)
			c.client = nil
		}
		p.Stop(syscall.SIGTERM)
	}
}

// tunnelScenario is a tunnel's scenario: the server's side of tool
// (tunnelUp) up before the capture, heavy ordinary traffic under sub's
// parent zone and, 1.5 s later, the transfer through the tunnel under sub,
// made by client; it expects dns_tunneling about sub.
func tunnelScenario(name string, mix int, tool, client, sub, desc string, transfer func(*testing.T, *corpusLab) (uint64, string)) corpusScenario {
	return corpusScenario{name: name, mix: mix, desc: desc,
		setup: func(t *testing.T, c *corpusLab, r *recorder) func() { return c.tunnelUp(t, r, tool) },
		run: func(t *testing.T, c *corpusLab, r *recorder) {
			_, parent, _ := strings.Cut(sub, ".")
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); c.busy(t, r, parent, 9) }()
			time.Sleep(1500 * time.Millisecond)
			r.expect(truth.Expect{Kind: "dns_tunneling", Zone: sub}, lab.QueryUnder(sub))
			r.run("attack", client, nil, []string{c4}, []string{s4u}, func() (uint64, string) { return transfer(t, c) })
			wg.Wait()
		}}
}

// carried starts send, which sends data through a tunnel to addr in the
// server namespace, and returns how many bytes a TCP sink there received
// within wait (an error when short); then it calls the stop send returned,
// if any.
func (c *corpusLab) carried(t *testing.T, tool, addr string, data []byte, wait time.Duration, send func() (stop func())) uint64 {
	sink := lab.NewSink(t, c.n.Srv, addr)
	stop := send()
	got := sink.Received(int64(len(data)), wait)
	if stop != nil {
		stop()
	}
	if got != int64(len(data)) {
		t.Errorf("%s carried %d bytes of %d", tool, got, len(data))
	}
	return uint64(got)
}

// busy asks for secs seconds 300 ordinary names a second under zone (a
// corp.example-like zone) from cpBusy through unbound.
func (c *corpusLab) busy(t *testing.T, r *recorder, zone string, secs int) {
	q := []string{"www." + zone + " A", "mail." + zone + " A", zone + " MX", "vpn." + zone + " A", "intranet." + zone + " A", zone + " TXT"}
	for i := 1; i <= 200; i++ {
		q = append(q, fmt.Sprintf("h%d.%s A", i, zone))
		if i%10 == 0 {
			q = append(q, fmt.Sprintf("h%d.%s AAAA", i, zone))
		}
	}
	f := c.write(t, "busy-"+zone+".txt", q)
	c.dnsperfAll(r, "background", [][]string{{"-t", "2", "-f", "inet", "-a", cpBusy, "-s", s4u, "-d", f, "-l", fmt.Sprint(secs), "-Q", "300"}},
		fmt.Sprintf("heavy ordinary traffic under %s (%d names)", zone, len(q)))
}

// crawler resolves 3000 real-looking names (seed picks them) from
// cpCrawler through unbound at 300 q/s.
func (c *corpusLab) crawler(t *testing.T, r *recorder, seed uint64) {
	f := c.write(t, fmt.Sprintf("crawl-%d.txt", seed), crawlNames(c.crawl, seed, 3000))
	c.dnsperfAll(r, "background", [][]string{{"-t", "2", "-f", "inet", "-a", cpCrawler, "-s", s4u, "-d", f, "-n", "1", "-Q", "300"}},
		"3000 distinct real-looking names across 120 zones, each once")
}

// buildLong returns the builder of an 11-minute capture made from two real
// pieces: 10 s of the ordinary mix alone (captured once, shared by both
// long scenarios), tiled 66 times (660 s, as editcap -t and mergecap -a
// would); and 1800 names sent at 120 q/s (15 s) alone, their times
// stretched 40 times (3 q/s over 600 s) and placed 30 s in; the two merged
// in time order. attack: random names under slow.example (low and slow);
// else real-looking names across the crawler's zones (benign, as slow).
func buildLong(attack bool) func(t *testing.T, c *corpusLab, r *recorder) string {
	return func(t *testing.T, c *corpusLab, r *recorder) string {
		const (
			piece   = 10 * time.Second
			copies  = 66
			stretch = 40
			offset  = 30 * time.Second
		)
		if c.longBG == "" {
			bg := filepath.Join(c.dir, "long-bg.pcap")
			capt := c.n.Tcpdump(c.n.Cli, bg, "-i", c.n.CliIf)
			bgr := &recorder{}
			c.background(t, bgr, int(piece/time.Second)+1)()
			capt.Stop(t)
			c.longBG, c.longBGLaunched = bg, bgr.truth.Launched
		}
		// the background's launches stand as they ran (the first piece)
		r.truth.Launched = append(r.truth.Launched, c.longBGLaunched...)

		name, src, zone, note := "long-crawl", cpCrawler, "", "1800 real-looking names across 120 zones, each once"
		var file string
		if attack {
			name, src, zone, note = "long-slow", cpSlow, "slow.example", "1800 random names under slow.example"
			files, _ := lab.RandomNames(t, c.sub(t, name), 20261201, zone, 1800, 1800, 1800, 1)
			file = files[0]
		} else {
			file = c.write(t, "long-crawl.txt", crawlNames(c.crawl, 3, 1800))
		}
		piecePath := filepath.Join(c.dir, name+".pcap")
		capt := c.n.Tcpdump(c.n.Cli, piecePath, "-i", c.n.CliIf)
		args := []string{"-t", "2", "-f", "inet", "-a", src, "-s", s4u, "-d", file, "-n", "1", "-Q", "120"}
		sent := c.n.Dnsperf(args...).Sent
		time.Sleep(1500 * time.Millisecond)
		capt.Stop(t)

		bgFirst, _, _, err := lab.Span(c.longBG)
		if err != nil {
			t.Fatal(err)
		}
		pFirst, pLast, _, err := lab.Span(piecePath)
		if err != nil {
			t.Fatal(err)
		}
		tiled := filepath.Join(c.dir, "long-bg-tiled.pcap")
		if err := lab.Tile(c.longBG, tiled, copies, piece); err != nil {
			t.Fatal(err)
		}
		at := bgFirst.Add(offset)
		stretched := filepath.Join(c.dir, name+"-stretched.pcap")
		if err := lab.Retime(piecePath, stretched, func(x time.Time) time.Time { return at.Add(x.Sub(pFirst) * stretch) }); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(c.dir, name+"-built.pcap")
		if err := lab.Merge(out, tiled, stretched); err != nil {
			t.Fatal(err)
		}
		role := "background"
		if attack {
			role = "attack"
			r.pend = append(r.pend, pending{lab.Expected{Expect: truth.Expect{Kind: "random_subdomain", Zone: zone}}, time.Time{}, lab.FromAny(src)})
		}
		args[9] = filepath.Base(args[9])
		r.truth.Launched = append(r.truth.Launched, lab.Launch{Role: role, Tool: "dnsperf", Args: args, Sources: []string{src}, Servers: []string{s4u},
			Start: lab.TimeString(at), End: lab.TimeString(at.Add(pLast.Sub(pFirst) * stretch)), Sent: sent,
			Note: note + ", sent at 120 q/s and stretched 40 times: 3 a second"})
		r.truth.Built = fmt.Sprintf("two real captures: 10 s of the ordinary mix alone (from %s), repeated %d times back to back (copy k shifted by k*10 s); "+
			"the queries of %s (%s) sent at 120 q/s alone, their times stretched %d times (the responses' delays too) and placed %s after the first packet; "+
			"merged in time order (lab.Tile, lab.Retime, lab.Merge)", lab.TimeString(bgFirst), copies, src, note, stretch, offset)
		return out
	}
}

// dnsperfAll runs dnsperf runs at once and records them as one launch.
func (c *corpusLab) dnsperfAll(r *recorder, role string, runs [][]string, note string) {
	var srcs, srvs []string
	seen := map[string]bool{}
	for _, a := range runs {
		for i := 0; i+1 < len(a); i++ {
			if (a[i] == "-a" || a[i] == "-s") && !seen[a[i]+a[i+1]] {
				seen[a[i]+a[i+1]] = true
				if a[i] == "-a" {
					srcs = append(srcs, a[i+1])
				} else {
					srvs = append(srvs, a[i+1])
				}
			}
		}
	}
	args := runs[0]
	if len(runs) > 1 {
		note = fmt.Sprintf("%d dnsperf at once (the first's arguments): %s", len(runs), note)
	}
	r.run(role, "dnsperf", args, srcs, srvs, func() (uint64, string) {
		var sent uint64
		for _, d := range c.n.DnsperfAll(runs) {
			sent += d.Sent
		}
		return sent, note
	})
}

// ordinaryMix is the ordinary background's query file: names that exist
// across the lab's zones, a few typos (NXDOMAIN).
func ordinaryMix(crawl []string) []string {
	q := []string{"visor-lab.example SOA", "visor-lab.example MX", "visor-lab.example TXT", "www.visor-lab.example A",
		"www.visor-lab.example AAAA", "mail.visor-lab.example A", "alias.visor-lab.example A",
		"www.corp.example A", "mail.corp.example A", "corp.example MX", "vpn.corp.example A", "intranet.corp.example A",
		"www.shop.example A", "shop.example MX", "www.slow.example A", "api.slow.example A",
		"www.victim.example A", "www.flood.example A", "amp.example A", "ns1.amp.example A",
		"wwww.visor-lab.example A", "mial.corp.example A"} // typos
	for i := 1; i <= 20; i++ {
		q = append(q, fmt.Sprintf("h%d.visor-lab.example A", i), fmt.Sprintf("h%d.corp.example A", i*7))
	}
	for i, z := range crawl {
		if i%8 == 0 {
			q = append(q, "www."+z+" A", "www."+z+" AAAA", z+" MX")
		}
	}
	return q
}

// words makes dictionary-based DGA names.
var words = []string{"blue", "horse", "cloud", "apple", "car", "river", "stone", "green", "tiger", "happy", "silver",
	"market", "orange", "window", "garden", "rocket", "winter", "summer", "paper", "light", "dragon", "forest",
	"castle", "pencil", "yellow", "planet", "coffee", "mountain", "ocean", "purple", "falcon", "bridge", "candle",
	"doctor", "engine", "flower", "guitar", "island", "jungle", "kitten", "lemon", "mirror", "number", "pillow"}

// wordNames returns n distinct dictionary-made labels (two or three
// words, sometimes a dash and a number), seeded.
func wordNames(seed uint64, n int) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lab.RandomLabels(seed, "0123456789", 8, 50*n) {
		w := func(i int) string { return words[(int(l[i]-'0')*10+int(l[i+1]-'0'))%len(words)] }
		var name string
		switch l[6] {
		case '0', '1', '2':
			name = w(0) + w(2)
		case '3', '4', '5':
			name = w(0) + w(2) + w(4)
		case '6', '7':
			name = w(0) + w(2) + "-" + l[6:8]
		default:
			name = w(0) + "-" + w(2)
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
			if len(out) == n {
				break
			}
		}
	}
	return out
}

// catNames returns n dnscat2-style queries: hex of a 9-byte header and 0
// to 6 bytes of data (18 to 30 characters: under tun-len on average), in
// labels of at most 16, under cat.example.
func catNames(seed uint64, n int) []string {
	hex := lab.RandomLabels(seed, "0123456789abcdef", 40, n)
	types := []string{"TXT", "TXT", "TXT", "CNAME", "MX"}
	var out []string
	for i, h := range hex {
		h = h[:18+2*(i*5%7)]
		var labels []string
		for len(h) > 16 {
			labels, h = append(labels, h[:16]), h[16:]
		}
		labels = append(labels, h)
		out = append(out, strings.Join(labels, ".")+".cat.example "+types[i%len(types)])
	}
	return out
}

// signedNames returns n host names and types under signed.example, in
// 12 subzones (www.north.signed.example, api3.cedar.signed.example).
func signedNames(n int) []string {
	types := []string{"A", "AAAA", "A", "MX", "TXT"}
	var out []string
	for i := 0; i < n; i++ {
		h, a, k := crawlH[i%len(crawlH)], crawlA[(i/len(crawlH))%len(crawlA)], i/(len(crawlH)*len(crawlA))
		if k > 0 {
			h = fmt.Sprint(h, k)
		}
		out = append(out, fmt.Sprintf("%s.%s.signed.example %s", h, a, types[i%len(types)]))
	}
	return out
}

// cdnNames returns n CDN and tracking host names with hex labels.
func cdnNames(seed uint64, n int) []string {
	var out []string
	for i, h := range lab.RandomLabels(seed, "0123456789abcdef", 32, n) {
		switch i % 3 {
		case 0:
			out = append(out, h[:12]+".cdn.example A")
		case 1:
			out = append(out, "e"+h[:10]+".a.cdn.example AAAA")
		default:
			out = append(out, h+".trk.example A")
		}
	}
	return out
}

var (
	crawlA = []string{"north", "blue", "acme", "river", "pixel", "summit", "cedar", "harbor", "lumen", "orbit", "maple", "quartz"}
	crawlB = []string{"wind", "tech", "labs", "media", "shop", "news", "cloud", "works", "soft", "foods"}
	crawlH = []string{"www", "m", "api", "cdn", "img", "static", "assets", "mail", "blog", "shop", "news", "login",
		"auth", "media", "video", "docs", "status", "app", "beta", "support", "careers", "investors", "help", "store"}
)

// crawlZones are the 120 zones the crawler resolves names in.
func crawlZones() []string {
	var out []string
	for _, a := range crawlA {
		for _, b := range crawlB {
			out = append(out, a+b+".example")
		}
	}
	return out
}

// crawlNames are n real-looking host names across the crawler zones (seed
// picks which), each once.
func crawlNames(zones []string, seed uint64, n int) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lab.RandomLabels(seed, "0123456789", 6, 20*n) {
		z := zones[int(l[0]-'0')*12+int(l[1]-'0')%12]
		h := crawlH[(int(l[2]-'0')*10+int(l[3]-'0'))%len(crawlH)]
		var name string
		switch l[4] {
		case '0', '1', '2', '3':
			name = h + "." + z
		case '4', '5':
			name = fmt.Sprintf("%s%c.%s", h, l[5], z)
		case '6', '7':
			name = fmt.Sprintf("%s-%s-%c.%s", h, []string{"eu", "us", "ap"}[int(l[5]-'0')%3], l[1], z)
		default:
			name = fmt.Sprintf("%s.%s.%s", crawlH[int(l[5]-'0')], h, z)
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name+" A")
			if len(out) == n {
				break
			}
		}
	}
	return out
}
