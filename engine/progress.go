package engine

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/visor-dns/visor"
)

// Progress on stderr. On a terminal, a bar (github.com/schollz/progressbar):
// bytes read, the percentage of the files' bytes, packets per second,
// elapsed time and ETA; without a known total (stdin) bytes and rate only.
// Into a file or pipe (--progress always), one plain line every 10 s.
// Nothing for a run shorter than a second; the last line says where the
// run ended, never a stale "100 %".
const (
	progressQuiet    = time.Second // nothing before this
	progressTerminal = 200 * time.Millisecond
	progressPlain    = 10 * time.Second // between two plain lines
)

type progress struct {
	w        io.Writer
	on, tty  bool
	total    int64
	srcs     []visor.Source
	start    time.Time
	last     time.Time
	packets  uint64
	bar      *progressbar.ProgressBar
	drawn    bool
	lastLine string           // the last plain line, not repeated
	now      func() time.Time // time.Now; tests replace it
	barWidth int
}

// consumer is a source that can tell how many bytes of its file it read.
type consumer interface{ Consumed() int64 }

func newProgress(mode string, stderr io.Writer, paths []string, srcs []visor.Source) *progress {
	p := &progress{w: stderr, srcs: srcs, now: time.Now, barWidth: 20}
	p.start = p.now()
	f, ok := stderr.(*os.File)
	p.tty = ok && term.IsTerminal(int(f.Fd()))
	switch mode {
	case "always":
		p.on = true
	case "auto":
		p.on = p.tty
	}
	if p.tty {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w < 90 {
			p.barWidth = 10 // room for the numbers at 80 columns
		}
	}
	for _, path := range paths {
		if path == "-" {
			p.total = 0 // stdin: no total to measure against
			break
		}
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
			p.total += st.Size()
		} else if err == nil && st.IsDir() {
			p.total += dirSize(path)
		}
	}
	if p.on && p.tty {
		p.newBar()
	}
	return p
}

// dirSize is the size of the regular files directly in dir.
func dirSize(dir string) int64 {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
	}
	return n
}

func (p *progress) update(packets uint64) {
	p.packets = packets
	if !p.on {
		return
	}
	now := p.now()
	every := progressPlain
	if p.tty {
		every = progressTerminal
	}
	if now.Sub(p.start) < progressQuiet || now.Sub(p.last) < every {
		return
	}
	p.last = now
	p.draw(now)
}

func (p *progress) read() int64 {
	var read int64
	for _, s := range p.srcs {
		if c, ok := s.(consumer); ok {
			read += c.Consumed()
		}
	}
	return read
}

func (p *progress) draw(now time.Time) {
	p.drawn = true
	read := p.read()
	elapsed := now.Sub(p.start)
	pps := float64(p.packets) / max(elapsed.Seconds(), 1e-3)
	if !p.tty {
		if l := p.plain(read, elapsed, pps); l != p.lastLine {
			fmt.Fprintln(p.w, l)
			p.lastLine = l
		}
		return
	}
	if p.bar == nil {
		p.newBar()
	}
	if p.total > 0 && read > p.total {
		p.bar.ChangeMax64(read) // a file grew while read
	}
	desc := "visor:"
	if p.total <= 0 {
		desc += " " + mib(read) + " read,"
	}
	p.bar.Describe(fmt.Sprintf("%s %s packets, %s/s", desc, human(float64(p.packets)), human(pps)))
	p.bar.Set64(read)
}

// newBar makes the terminal's bar. It is made when the run starts, though
// drawn only after a second, so that its byte rate and ETA count from the
// start.
func (p *progress) newBar() {
	max := p.total
	if max <= 0 {
		max = -1 // a spinner: bytes and rate, no percentage
	}
	p.bar = progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetWidth(p.barWidth),
		progressbar.OptionShowBytes(true),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(p.total > 0),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(0), // update throttles already
		progressbar.OptionSetRenderBlankState(false),
		progressbar.OptionSpinnerType(14),
		// No spinner ticker of its own: it would draw before the quiet
		// second and after the last line; our updates draw.
		progressbar.OptionSetSpinnerChangeInterval(0),
	)
	p.bar.StartWithoutRender() // elapsed, rate and ETA from now
}

// plain is the line written into a file or pipe.
func (p *progress) plain(read int64, elapsed time.Duration, pps float64) string {
	s := fmt.Sprintf("visor: %s read", mib(read))
	if p.total > 0 {
		s += fmt.Sprintf(" of %s (%.0f %%)", mib(p.total), 100*float64(read)/float64(p.total))
	}
	return s + fmt.Sprintf(", %d packets, %s packets/s, %s elapsed", p.packets, human(pps), elapsed.Round(time.Second))
}

// done writes the last line, with where the run really ended, when
// anything was drawn.
func (p *progress) done() {
	if !p.on || !p.drawn {
		return
	}
	p.draw(p.now())
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// ProgressCount is how the progress line writes a packet count.
func ProgressCount(n uint64) string { return human(float64(n)) }

// human renders a count with k/M suffixes: 1234567 -> "1.23M".
func human(f float64) string {
	switch {
	case f >= 1e6:
		return fmt.Sprintf("%.2fM", f/1e6)
	case f >= 1e4:
		return fmt.Sprintf("%.1fk", f/1e3)
	}
	return fmt.Sprintf("%.0f", f)
}
