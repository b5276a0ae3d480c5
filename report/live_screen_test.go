package report_test

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/visor-dns/visor/engine"
	"github.com/visor-dns/visor/report"
)

// TestLiveScreen draws the live view of a capture with a finding on
// terminals of several sizes: no line wider than the terminal, no more
// lines than it has (so the header never scrolls away), the header first,
// the cut counted on the last line; the 80x24 screen is a golden.
func TestLiveScreen(t *testing.T) {
	cfg := engine.Config{Inputs: []string{"../testdata/attack-random-subdomain.pcap"}, Bucket: time.Second, Top: 10,
		DNSPorts: []uint16{53}, XactTimeout: 5 * time.Second, Slow: 500 * time.Millisecond, Progress: "never", Version: "test"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	rep, err := engine.Analyze(context.Background(), &cfg, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	st := report.LiveStatus{Source: "veth-with-a-long-name0", Up: 83 * time.Second, Packets: 1234567, Bytes: 98765432,
		PPS: 4321.5, Dropped: 12}
	for _, c := range []struct{ w, h int }{{80, 24}, {100, 30}, {160, 50}, {40, 10}} {
		t.Run(itoa(c.w)+"x"+itoa(c.h), func(t *testing.T) {
			var b bytes.Buffer
			if err := report.WriteLiveScreen(&b, rep, st, report.TableOptions{Top: 10, Width: c.w}, c.h); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if !strings.HasPrefix(out, "\x1b[H") || !strings.HasSuffix(out, "\x1b[J") {
				t.Errorf("the screen is not drawn from home and cleared below: %q...", out[:min(len(out), 20)])
			}
			out = strings.TrimSuffix(strings.TrimPrefix(out, "\x1b[H"), "\x1b[J")
			if strings.HasSuffix(out, "\n") {
				t.Errorf("a newline after the last line scrolls the screen")
			}
			lines := strings.Split(out, "\n")
			width := max(c.w, 60) // the table's narrowest
			if len(lines) > c.h {
				t.Errorf("%d lines on a %d-line terminal: the header scrolls away", len(lines), c.h)
			}
			for i, l := range lines {
				l = strings.TrimSuffix(l, "\x1b[K")
				if n := utf8.RuneCountInString(l); n > width {
					t.Errorf("line %d is %d columns, more than %d: %q", i+1, n, width, l)
				}
				lines[i] = l
			}
			if !strings.HasPrefix(lines[0], "visor live on veth-with-a-long-name0") {
				t.Errorf("first line %q", lines[0])
			}
			if last := lines[len(lines)-1]; c.h < 50 && !strings.Contains(last, "more lines") {
				t.Errorf("the cut is not said on the last line %q", last)
			}
			if c.w != 80 {
				return
			}
			got := strings.Join(lines, "\n") + "\n"
			path := filepath.Join("testdata", "live-screen.80x24.golden")
			if flag.Lookup("update").Value.String() == "true" {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./report -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("screen differs from %s (go test ./report -update rewrites it)\ngot:\n%s", path, got)
			}
		})
	}
}
