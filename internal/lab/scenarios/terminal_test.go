//go:build lab

package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/visor-dns/visor/engine"
	"github.com/visor-dns/visor/internal/lab"
)

// The terminal tests run visor in a real terminal emulator (tmux) of 80x24
// and read its screen back: what a person sees.
const termW, termH = 80, 24

var termEnv = []string{"LANG=C.UTF-8", "TERM=screen"}

var (
	etaRE     = regexp.MustCompile(`\[\d+[hms0-9]*:\d+[hms0-9]*\]`) // [elapsed:ETA]
	elapsedRE = regexp.MustCompile(`\[\d+[hms0-9]*\]`)
)

// bigCapture repeats the packets of testdata/lab-eth.pcap: a
// file large enough for a progress display; it returns the path and its
// packet count.
func bigCapture(t *testing.T, copies int) (string, uint64) {
	t.Helper()
	in := lab.Testdata(t, "lab-eth.pcap")
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "big.pcap")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(data[:24]) // the pcap file header, then the records again and again
	for i := 0; i < copies; i++ {
		if _, err := f.Write(data[24:]); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	one := lab.Analyze(t, in)
	return out, one.Summary.Net.Packets * uint64(copies)
}

// checkScreen fails on a line wider than the terminal.
func checkScreen(t *testing.T, what string, lines []string) {
	t.Helper()
	for i, l := range lines {
		if n := utf8.RuneCountInString(l); n > termW {
			t.Errorf("%s: line %d is %d columns on an %d-column terminal: %q", what, i+1, n, termW, l)
		}
	}
	if len(lines) > termH {
		t.Errorf("%s: %d lines on a %d-line screen", what, len(lines), termH)
	}
}

// slowly lets pid run 3 ms in every 60 ms (SIGCONT/SIGSTOP) until it ends,
// calling each between two slices: a fast run stretched over seconds, as
// a large file on a slow disk is, without a large file.
func slowly(pid int, each func()) {
	for syscall.Kill(pid, syscall.SIGCONT) == nil {
		time.Sleep(2 * time.Millisecond)
		if syscall.Kill(pid, syscall.SIGSTOP) != nil {
			return
		}
		each()
		time.Sleep(57 * time.Millisecond)
	}
}

// TestTerminalProgress: `visor analyze FILE` on an 80x24 terminal shows a
// progress bar with percent, packets, rate, elapsed and ETA on ONE line
// redrawn in place (nothing scrolls), and its last state is true: 100 %
// and the run's packet count. From a FIFO (no size): bytes read and rate,
// no percentage.
func TestTerminalProgress(t *testing.T) {
	bin := lab.Visor(t)
	big, packets := bigCapture(t, 200)
	dir := t.TempDir()
	t.Run("file", func(t *testing.T) {
		out := filepath.Join(dir, "file.json")
		// The shell stops itself before it becomes visor: slowly starts it.
		m := lab.NewTmux(t, "", termW, termH, termEnv,
			"sh -c "+lab.Quote("kill -STOP $$; exec "+lab.ShellLine(bin, "analyze", big, "--format", "json", "-o", out)))
		pid := m.PID()
		var mid []string
		slowly(pid, func() {
			if mid == nil {
				if s := m.Screen(); strings.Contains(strings.Join(s, "\n"), "%") {
					mid = s
				}
			}
		})
		lab.WaitFor(t, 10*time.Second, "visor to exit", func() bool { ok, _ := m.Exited(); return ok })
		if _, code := m.Exited(); code != 0 {
			t.Fatalf("exit %d; screen:\n%s", code, strings.Join(m.All(), "\n"))
		}
		if mid == nil {
			t.Fatalf("no progress was drawn during the run; screen:\n%s", strings.Join(m.All(), "\n"))
		}
		checkScreen(t, "during the run", trimBlank(mid))
		t.Logf("during the run:\n%s", strings.Join(trimBlank(mid), "\n"))
		if s := strings.Join(mid, "\n"); !strings.Contains(s, "packets") || !strings.Contains(s, "|") || !etaRE.MatchString(s) {
			t.Errorf("the bar during the run has no packets, bar, or [elapsed:ETA]:\n%s", s)
		}
		final := withoutExit(m.Screen())
		checkScreen(t, "at the end", final)
		t.Logf("at the end:\n%s", strings.Join(final, "\n"))
		var bars []string
		for _, l := range final {
			if strings.Contains(l, "visor:") {
				bars = append(bars, l)
			}
		}
		if len(bars) != 1 {
			t.Fatalf("%d progress lines on the screen, want one redrawn in place:\n%s", len(bars), strings.Join(final, "\n"))
		}
		want := fmt.Sprintf("%s packets", engine.ProgressCount(packets))
		if !strings.Contains(bars[0], "100%") || !strings.Contains(bars[0], want) || !elapsedRE.MatchString(bars[0]) {
			t.Errorf("last progress line %q: want 100%%, %q and [elapsed]", bars[0], want)
		}
		if rep := lab.ReadReport(t, out); rep.Summary.Net.Packets != packets {
			t.Errorf("report: %d packets, want %d", rep.Summary.Net.Packets, packets)
		}
	})
	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(dir, "in.fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "fifo.json")
		m := lab.NewTmux(t, "", termW, termH, termEnv, lab.ShellLine(bin, "analyze", fifo, "--format", "json", "-o", out))
		data, err := os.ReadFile(big)
		if err != nil {
			t.Fatal(err)
		}
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		// about 2.5 s of writing, in 50 pieces
		var mid []string
		step := len(data)/50 + 1
		for off := 0; off < len(data); off += step {
			if _, err := w.Write(data[off:min(off+step, len(data))]); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			if off > len(data)/2 && mid == nil {
				mid = m.Screen()
			}
		}
		w.Close()
		if !lab.Poll(10*time.Second, func() bool { ok, _ := m.Exited(); return ok }) {
			t.Fatalf("visor did not end after the FIFO closed; screen:\n%s", strings.Join(m.All(), "\n"))
		}
		if _, code := m.Exited(); code != 0 {
			t.Fatalf("exit %d; screen:\n%s", code, strings.Join(m.All(), "\n"))
		}
		s := strings.Join(mid, "\n")
		if !strings.Contains(s, "MiB read") || strings.Contains(s, "%") {
			t.Errorf("progress from a FIFO: want bytes read and no percentage:\n%s", s)
		}
		final := withoutExit(m.Screen())
		checkScreen(t, "at the end", final)
		want := fmt.Sprintf("%s packets", engine.ProgressCount(packets))
		if last := strings.Join(final, "\n"); !strings.Contains(last, want) {
			t.Errorf("last progress %q: want %q", last, want)
		}
	})
}

// TestTerminalLiveView: `visor live` on an 80x24 terminal while traffic
// flows: the header stays on the first line, the last closed bucket is
// shown, no line is wider than the terminal and nothing scrolls; Ctrl-C
// ends it with status 0 and the final report.
func TestTerminalLiveView(t *testing.T) {
	lab.Require(t, "ip")
	bin := lab.Visor(t)
	pcap, err := os.ReadFile(lab.Testdata(t, "attack-random-subdomain.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	n := liveNet(t)
	m := lab.NewTmux(t, n.Cli, termW, termH, termEnv, lab.ShellLine(bin, "live", "-i", n.CliIf, "--bucket", "1s", "--top", "5"))
	if !lab.Poll(10*time.Second, func() bool { return strings.HasPrefix(m.Screen()[0], "visor live on "+n.CliIf) }) {
		t.Fatalf("no live view; screen:\n%s", strings.Join(m.All(), "\n"))
	}
	for i := 0; i < 2; i++ {
		if err := lab.Inject(n.Srv, n.SrvIf, pcap); err != nil {
			t.Fatalf("injecting: %v", err)
		}
		time.Sleep(1500 * time.Millisecond)
	}
	var screen []string
	ok := lab.Poll(10*time.Second, func() bool {
		screen = m.Screen()
		return strings.Contains(strings.Join(screen, "\n"), "last bucket") && strings.Contains(strings.Join(screen, "\n"), "queries")
	})
	if !ok {
		t.Fatalf("no closed bucket shown; screen:\n%s", strings.Join(screen, "\n"))
	}
	checkScreen(t, "live view", trimBlank(screen))
	if !strings.HasPrefix(screen[0], "visor live on "+n.CliIf) {
		t.Errorf("the header scrolled away; first line %q", screen[0])
	}
	if len(trimBlank(screen)) < termH-2 {
		t.Errorf("the view uses %d of %d lines", len(trimBlank(screen)), termH)
	}
	t.Logf("live view:\n%s", strings.Join(screen, "\n"))
	m.Keys("C-c")
	lab.WaitFor(t, 10*time.Second, "visor live to exit", func() bool { ok, _ := m.Exited(); return ok })
	all := strings.Join(m.All(), "\n")
	if _, code := m.Exited(); code != 0 {
		t.Fatalf("exit %d after Ctrl-C:\n%s", code, all)
	}
	if !strings.Contains(all, "random_subdomain") {
		t.Errorf("the final report has no finding:\n%s", all)
	}
}

// withoutExit is the screen without the "[exit N]" line NewTmux adds and
// the blank rows.
func withoutExit(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, "[exit ") {
			continue
		}
		if i := strings.LastIndex(l, " [exit "); i >= 0 && strings.HasSuffix(l, "]") {
			l = l[:i] // a last line without a newline: the command's own part
		}
		out = append(out, l)
	}
	return trimBlank(out)
}

// trimBlank drops the empty rows tmux prints below the last line.
func trimBlank(lines []string) []string {
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}
