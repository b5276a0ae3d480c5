package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/visor-dns/visor/report"
)

// reportJSON is rep's JSON with objects' keys sorted (a finding's
// evidence read back from a summary is a map, not its typed struct).
func reportJSON(t *testing.T, rep *report.Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSummaryRoundTrip: a capture's report and the report of its summary,
// written to a file and read back, are the same.
func TestSummaryRoundTrip(t *testing.T) {
	for _, in := range []string{"lab-eth.pcap", "lab-tcp.pcap", "attack-nxdomain.pcap", "knot.dnstap", "attack-random-subdomain.pcap"} {
		t.Run(in, func(t *testing.T) {
			cfg := config(filepath.Join("..", "testdata", in))
			cfg.Jobs = 1
			want, err := Analyze(context.Background(), cfg, nil, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer want.Close()
			s, err := AnalyzeSummary(context.Background(), cfg, nil, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			path := filepath.Join(t.TempDir(), "x.vsum")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Write(f); err != nil {
				t.Fatal(err)
			}
			f.Close()
			r, err := ReadSummary(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := cfg.SummaryReport(r)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Close()
			if g, w := reportJSON(t, got), reportJSON(t, want); !bytes.Equal(g, w) {
				os.WriteFile("/tmp/got.json", g, 0o644)
				os.WriteFile("/tmp/want.json", w, 0o644)
				t.Fatalf("the summary's report differs from the capture's (/tmp/got.json, /tmp/want.json)")
			}
			st, _ := os.Stat(path)
			t.Logf("%s: summary %d bytes, %d buckets", in, st.Size(), r.Trailer.Buckets)
		})
	}
}
