package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/visor-dns/visor/report"
)

// FuzzAnalyze runs the whole analyze command over an arbitrary file: it
// exits 0 with a report that passes the JSON Schema, or 2 with a message,
// and never panics.
func FuzzAnalyze(f *testing.F) {
	for _, name := range []string{"lab-eth.pcap", "lab-sll2.pcap", "lab-tcp.pcap", "lab.pcapng"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 8192)])
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x0d, 0x0d, 0x0a})
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "in")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"analyze", "--format", "json", path}, bytes.NewReader(nil), &out, &errb)
		if strings.Contains(errb.String(), "panic") {
			t.Fatalf("panic: %s", errb.String())
		}
		switch code {
		case exitOK:
			if err := report.Validate(out.Bytes()); err != nil {
				t.Fatalf("report fails its schema: %v\n%s", err, out.String())
			}
		case exitUsage:
			if !strings.Contains(errb.String(), path) {
				t.Fatalf("exit 2 without naming the input: %q", errb.String())
			}
		default:
			t.Fatalf("exit %d; stderr: %s", code, errb.String())
		}
	})
}
