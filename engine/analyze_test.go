package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func config(inputs ...string) *Config {
	return &Config{Inputs: inputs, Top: 10, Bucket: time.Minute, DNSPorts: []uint16{53},
		XactTimeout: 5 * time.Second, Slow: 500 * time.Millisecond, Progress: "never"}
}

// A directory run reads its captures and says, and counts, what it skipped.
func TestAnalyzeDirectorySkips(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("../testdata/lab-eth.pcap")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a.pcap"), b, 0o644)
	os.WriteFile(filepath.Join(dir, "junk.bin"), []byte("not a capture at all, just bytes"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	var errb bytes.Buffer
	rep, err := Analyze(context.Background(), config(dir), nil, &errb)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Inputs) != 1 || rep.Summary.Net.Packets == 0 {
		t.Fatalf("inputs %v, packets %d", rep.Inputs, rep.Summary.Net.Packets)
	}
	if rep.Integrity["input_skipped"] != 2 {
		t.Errorf("integrity %v, want input_skipped 2", rep.Integrity)
	}
	for _, want := range []string{"junk.bin", "sub"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr does not name %s: %s", want, errb.String())
		}
	}
}

// A cancelled run reports what it read and says it was interrupted.
func TestAnalyzeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := Analyze(ctx, config("../testdata/lab-eth.pcap"), nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Integrity[IntegrityInterrupted] != 1 {
		t.Errorf("integrity %v", rep.Integrity)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"ok", func(*Config) {}, ""},
		{"no input", func(c *Config) { c.Inputs = nil }, "no input"},
		{"bad bucket", func(c *Config) { c.Bucket = 1500 * time.Millisecond }, "whole number"},
		{"bad bpf", func(c *Config) { c.BPF = "port" }, "bad filter"},
		{"NaN threshold", func(c *Config) { c.Thresholds = []string{"rs-names=NaN"} }, "finite"},
		{"unknown threshold", func(c *Config) { c.Thresholds = []string{"nope=1"} }, "threshold"},
		{"carve stdin", func(c *Config) { c.Inputs, c.CarveDir = []string{"-"}, "x" }, "stdin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := config("x.pcap")
			tc.edit(c)
			err := c.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
}

// A FIFO nobody writes to, or whose writer goes quiet, still ends with the
// cancellation: a report of what was read, marked interrupted.
func TestAnalyzeFIFOCancelled(t *testing.T) {
	lab, err := os.ReadFile("../testdata/lab-eth.pcap")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		write []byte // nil: no writer at all
	}{{"no writer", nil}, {"quiet writer", lab[:2000]}} {
		t.Run(tc.name, func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			if tc.write != nil {
				go func() {
					w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
					if err != nil {
						return
					}
					defer w.Close()
					w.Write(tc.write) // returns once visor has read it
					cancel()
					<-t.Context().Done()
				}()
			} else {
				go func() { time.Sleep(50 * time.Millisecond); cancel() }()
			}
			rep, err := Analyze(ctx, config(fifo), nil, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Integrity[IntegrityInterrupted] != 1 {
				t.Errorf("integrity %v", rep.Integrity)
			}
		})
	}
}

// --qname-regex and --qname-exclude keep and leave out names before
// anything is counted.
func TestAnalyzeQNamePatterns(t *testing.T) {
	all, err := Analyze(context.Background(), config("../testdata/lab-eth.pcap"), nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	only := config("../testdata/lab-eth.pcap")
	only.QNameRegex = `victim\.example$`
	in, err := Analyze(context.Background(), only, nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	not := config("../testdata/lab-eth.pcap")
	not.QNameExclude = `victim\.example$`
	out, err := Analyze(context.Background(), not, nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	a, i, o := all.Summary.DNS.Messages, in.Summary.DNS.Messages, out.Summary.DNS.Messages
	if i == 0 || o == 0 || i+o != a {
		t.Errorf("messages: all %d, matching %d, not matching %d", a, i, o)
	}
	bad := config("x.pcap")
	bad.QNameRegex = "("
	if err := bad.Validate(); !errors.Is(err, ErrQNameRegex) {
		t.Errorf("Validate: %v", err)
	}
}
