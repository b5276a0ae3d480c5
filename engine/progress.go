package engine

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/visor-dns/visor"
)

// progress draws one status line on stderr: bytes read of the total and
// packets per second of wall time.
type progress struct {
	w       io.Writer
	on      bool
	total   int64
	srcs    []visor.Source
	start   time.Time
	last    time.Time
	packets uint64
}

// consumer is a source that can tell how many bytes of its file it read.
type consumer interface{ Consumed() int64 }

func newProgress(mode string, stderr io.Writer, paths []string, srcs []visor.Source) *progress {
	p := &progress{w: stderr, srcs: srcs, start: time.Now()}
	switch mode {
	case "always":
		p.on = true
	case "auto":
		if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			p.on = true
		}
	}
	for _, path := range paths {
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
			p.total += st.Size()
		}
	}
	return p
}

func (p *progress) update(packets uint64) {
	p.packets = packets
	if !p.on {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	p.draw(now)
}

func (p *progress) draw(now time.Time) {
	var read int64
	for _, s := range p.srcs {
		if c, ok := s.(consumer); ok {
			read += c.Consumed()
		}
	}
	rate := float64(p.packets) / max(now.Sub(p.start).Seconds(), 1e-3)
	pct := ""
	if p.total > 0 {
		pct = fmt.Sprintf(" (%3.0f%%)", 100*float64(read)/float64(p.total))
	}
	fmt.Fprintf(p.w, "\rvisor: %s of %s%s, %d packets, %.2f M packets/s   ", mib(read), mib(p.total), pct, p.packets, rate/1e6)
}

func (p *progress) done() {
	if p.on {
		p.draw(time.Now())
		fmt.Fprintln(p.w)
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
