package lab

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Kdig runs `kdig +retry=0 +timeout=3 ARGS` from the client namespace and
// returns what it printed; a failed query is traffic like any other, not
// an error.
func (n *Net) Kdig(args ...string) string {
	out, _ := n.Command(n.Cli, "kdig", append([]string{"+retry=0", "+timeout=3"}, args...)...).CombinedOutput()
	return string(out)
}

// Dnsperf is what one dnsperf run reports.
type Dnsperf struct {
	Sent, Completed, Lost uint64
	Output                string
}

var dnsperfLine = regexp.MustCompile(`(?m)^\s*Queries (sent|completed|lost):\s+(\d+)`)

// Dnsperf runs `dnsperf ARGS` from the client namespace to its end. A
// dnsperf that prints no count fails t.
func (n *Net) Dnsperf(args ...string) Dnsperf {
	n.t.Helper()
	out, err := n.Command(n.Cli, "dnsperf", args...).CombinedOutput()
	d := Dnsperf{Output: string(out)}
	m := dnsperfLine.FindAllStringSubmatch(d.Output, -1)
	if len(m) == 0 {
		n.t.Errorf("dnsperf %s: %v, no counts:\n%s", strings.Join(args, " "), err, out)
		return d
	}
	for _, x := range m {
		v, _ := strconv.ParseUint(x[2], 10, 64)
		switch x[1] {
		case "sent":
			d.Sent = v
		case "completed":
			d.Completed = v
		case "lost":
			d.Lost = v
		}
	}
	return d
}

// DnsperfAll runs several dnsperf at once (one argument list each) and
// returns their reports in order.
func (n *Net) DnsperfAll(runs [][]string) []Dnsperf {
	out := make([]Dnsperf, len(runs))
	var wg sync.WaitGroup
	for i, args := range runs {
		wg.Add(1)
		go func() { defer wg.Done(); out[i] = n.Dnsperf(args...) }()
	}
	wg.Wait()
	return out
}

// Capture is a tcpdump or dumpcap writing a file.
type Capture struct {
	*Proc
	Path string
}

// Tcpdump starts `tcpdump -Z root -n ARGS -w PATH` in namespace ns and
// waits until it listens.
func (n *Net) Tcpdump(ns, path string, args ...string) *Capture {
	n.t.Helper()
	Require(n.t, "tcpdump")
	p := n.Start(ns, "tcpdump", append(append([]string{"-Z", "root", "-n"}, args...), "-w", path)...)
	p.WaitStderr(n.t, "listening on")
	return &Capture{p, path}
}

// Dumpcap starts `dumpcap -q -i IFACE -w PATH` (pcapng) in namespace ns
// and waits until it captures.
func (n *Net) Dumpcap(ns, iface, path string) *Capture {
	n.t.Helper()
	Require(n.t, "dumpcap")
	p := n.Start(ns, "dumpcap", "-q", "-i", iface, "-w", path)
	p.WaitStderr(n.t, "Capturing on")
	return &Capture{p, path}
}

var dumpcapDrops = regexp.MustCompile(`Packets received/dropped on interface .*: \d+/(\d+)`)

// Stop ends the capture (SIGINT) and fails t if it dropped packets or did
// not say how many it dropped.
func (c *Capture) Stop(t testing.TB) {
	t.Helper()
	c.Proc.Stop(syscall.SIGINT)
	s := c.Stderr()
	switch {
	case strings.Contains(s, "dropped by kernel"):
		if !regexp.MustCompile(`(?m)^0 packets dropped by kernel`).MatchString(s) {
			t.Fatalf("%s dropped packets:\n%s", c.Name, s)
		}
	case dumpcapDrops.MatchString(s):
		if m := dumpcapDrops.FindStringSubmatch(s); m[1] != "0" {
			t.Fatalf("%s dropped packets:\n%s", c.Name, s)
		}
	default:
		t.Fatalf("no drop statistics from %s:\n%s", c.Name, s)
	}
	t.Logf("%s %s: %s", c.Name, filepath.Base(c.Path), strings.Join(strings.Fields(s), " "))
}

// StopAll waits 2 s (the last answers and FINs land), then stops every capture.
func StopAll(t testing.TB, caps ...*Capture) {
	t.Helper()
	time.Sleep(2 * time.Second)
	for _, c := range caps {
		c.Stop(t)
	}
}

// FstrmCapture starts fstrm_capture in the server namespace, receiving
// dnstap on the Unix socket sock and writing it to path, and waits for
// the socket.
func (n *Net) FstrmCapture(sock, path string) *Proc {
	n.t.Helper()
	Require(n.t, "fstrm_capture")
	p := n.Start(n.Srv, "fstrm_capture", "-t", "protobuf:dnstap.Dnstap", "-u", sock, "-w", path)
	WaitFile(n.t, sock, p)
	return p
}

// WaitFile waits up to 10 s for path to exist.
func WaitFile(t testing.TB, path string, procs ...*Proc) {
	t.Helper()
	if !Poll(10*time.Second, func() bool { _, err := os.Stat(path); return err == nil }) {
		t.Fatalf("%s did not appear%s", path, logs(procs))
	}
}

// WriteLines writes lines, one a line, to path.
func WriteLines(t testing.TB, path string, lines []string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// RandomNames writes total distinct random names (8 to 16 of [a-z0-9]
// under zone) as dnsperf query lines of type A, one file a source address
// so that no name repeats (dnsperf reads its file from the top): the first
// n4 into dir/rnd4-K.txt, per4 a file, the rest into dir/rnd6-K.txt, per6
// a file. It returns the files' paths.
func RandomNames(t testing.TB, dir string, seed uint64, zone string, total, n4, per4, per6 int) (v4, v6 []string) {
	t.Helper()
	r := newRand(seed)
	const cs = "abcdefghijklmnopqrstuvwxyz0123456789"
	seen := map[string]bool{}
	files := map[string][]string{}
	var order []string
	for n := 0; n < total; {
		b := make([]byte, 8+r.intn(9))
		for i := range b {
			b[i] = cs[r.intn(len(cs))]
		}
		if seen[string(b)] {
			continue
		}
		seen[string(b)] = true
		var f string
		if n < n4 {
			f = filepath.Join(dir, fmt.Sprintf("rnd4-%d.txt", n/per4))
		} else {
			f = filepath.Join(dir, fmt.Sprintf("rnd6-%d.txt", (n-n4)/per6))
		}
		if _, ok := files[f]; !ok {
			order = append(order, f)
			if n < n4 {
				v4 = append(v4, f)
			} else {
				v6 = append(v6, f)
			}
		}
		files[f] = append(files[f], string(b)+"."+zone+" A")
		n++
	}
	for _, f := range order {
		WriteLines(t, f, files[f])
	}
	return v4, v6
}

// rnd is a small deterministic generator (splitmix64): the same seed
// gives the same names on every machine.
type rnd struct{ s uint64 }

func newRand(seed uint64) *rnd { return &rnd{seed} }

func (r *rnd) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rnd) intn(n int) int { return int(r.next() % uint64(n)) }

// Lines reads path's lines.
func Lines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// RandomLabels returns n random labels of length chars of charset (seeded:
// the same on every machine).
func RandomLabels(seed uint64, charset string, length, n int) []string {
	r := newRand(seed)
	out := make([]string, n)
	for i := range out {
		b := make([]byte, length)
		for j := range b {
			b[j] = charset[r.intn(len(charset))]
		}
		out[i] = string(b)
	}
	return out
}
