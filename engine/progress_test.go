package engine

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/visor-dns/visor"
)

type fakeSource struct {
	visor.Source
	n int64
}

func (f *fakeSource) Consumed() int64 { return f.n }

func TestProgressPlain(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		steps []time.Duration // updates after t0
		lines int
		last  string
	}{
		{"under a second: nothing", []time.Duration{100 * time.Millisecond, 900 * time.Millisecond}, 0, ""},
		{"one line every 10 s, then the true last line", []time.Duration{2 * time.Second, 5 * time.Second, 12 * time.Second, 13 * time.Second, 25 * time.Second},
			3, "visor: 0.5 MiB read of 1.0 MiB (50 %), 5 packets, 0 packets/s, 25s elapsed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			src := &fakeSource{}
			p := &progress{w: &b, on: true, total: 1 << 20, srcs: []visor.Source{src}, start: t0}
			now := t0
			p.now = func() time.Time { return now }
			for i, d := range tt.steps {
				now = t0.Add(d)
				src.n = int64(i+1) << 20 / int64(2*len(tt.steps))
				p.update(uint64(i + 1))
			}
			p.done()
			lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			if b.Len() == 0 {
				lines = nil
			}
			if len(lines) != tt.lines {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), tt.lines, b.String())
			}
			if strings.Contains(b.String(), "\r") {
				t.Errorf("a carriage return in a file:\n%q", b.String())
			}
			if tt.lines > 0 && lines[len(lines)-1] != tt.last {
				t.Errorf("last line %q, want %q", lines[len(lines)-1], tt.last)
			}
		})
	}
}
