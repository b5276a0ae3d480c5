package engine

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/visor-dns/visor/report"
)

// Carving names come from the traffic: a zone of two 63-byte labels of
// non-printable bytes must give a bounded file name, and a carve that fails
// must not lose the report.
func TestHostileCarve(t *testing.T) {
	// As the report writes such a name: every byte escaped as \DDD.
	label := strings.Repeat(`\001`, 63)
	zone := label + "." + label + ".example"
	rep := &report.Report{Findings: []report.Finding{{Kind: "random_subdomain", Start: report.MustParseTimestamp("2024-05-01T12:00:00Z"), End: report.MustParseTimestamp("2024-05-01T12:00:01Z"),
		Evidence: map[string]any{"zone": zone}}}}
	cfg := &Config{Inputs: []string{"../testdata/lab-eth.pcap"}, DNSPorts: []uint16{53}, CarveDir: t.TempDir(),
		Top: 10, Bucket: time.Minute, XactTimeout: time.Second, Slow: time.Second}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	if err := Carve(context.Background(), cfg, rep, &errb); err != nil {
		t.Fatalf("carve: %v", err)
	}
	files, _ := os.ReadDir(cfg.CarveDir)
	if len(files) != 1 || len(files[0].Name()) > 100 {
		t.Fatalf("carved files %v", files)
	}
	if other := fileSafe(label+"x", carveKeyMax); other == fileSafe(label+"y", carveKeyMax) {
		t.Errorf("two keys share the name %s", other)
	}
}

func TestFileSafe(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"example.com", "example.com"},
		{"198.51.100.0_24", "198.51.100.0_24"},
		{"a/b", "a_b-"}, // changed: a hash follows
		{strings.Repeat("a", 100), strings.Repeat("a", carveKeyMax-9) + "-"},
	} {
		got := fileSafe(tc.in, carveKeyMax)
		if !strings.HasPrefix(got, tc.want) || len(got) > carveKeyMax {
			t.Errorf("fileSafe(%q) = %q, want prefix %q", tc.in, got, tc.want)
		}
	}
}
