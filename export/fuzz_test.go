package export

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/visor-dns/visor/analyzers"
	"github.com/visor-dns/visor/anonymize"
	"github.com/visor-dns/visor/capture"
	"github.com/visor-dns/visor/internal/fuzzcap"
)

// FuzzExport edits the lab captures' TCP connections and datagrams
// (fuzzcap programs) and exports them as NDJSON through the whole path
// (decode, reassembly, pairing, the open-row ring, names, the writer),
// with an anonymizer: every line is one JSON object of every column, a
// row with both halves has a latency, and the stats count the lines.
func FuzzExport(f *testing.F) {
	var cs []*fuzzcap.Capture
	for _, name := range []string{"lab-tcp.pcap", "lab-eth.pcap"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		c, err := fuzzcap.ReadPcap(b)
		if err != nil {
			f.Fatal(err)
		}
		cs = append(cs, c)
	}
	for _, p := range fuzzcap.Seeds(cs, 6) {
		f.Add(p)
	}
	an, _ := anonymize.New([]byte("0123456789abcdef0123456789abcdef"), 32, 128)
	f.Fuzz(func(t *testing.T, prog []byte) {
		c := fuzzcap.Run(cs, prog)
		src, err := capture.OpenReader("fuzz.pcap", io.NopCloser(bytes.NewReader(c.Pcap())), 0)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		w, _ := NewWriter("ndjson", &buf, []string{"fuzz.pcap"})
		st, err := Run(context.Background(), src, analyzers.Options{DNSPorts: []uint16{53}, Anonymize: an}, w, nil)
		if err == nil {
			err = w.Close()
		}
		if err != nil {
			return // a capture the reader refuses mid-way: said as an error, not a panic
		}
		sc := bufio.NewScanner(&buf)
		sc.Buffer(nil, 1<<20)
		n := uint64(0)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("row %d: %v: %s", n+1, err, sc.Bytes())
			}
			if len(m) != len(Columns) {
				t.Fatalf("row %d has %d columns", n+1, len(m))
			}
			if m["query_size"] != nil && m["response_size"] != nil && m["latency_ns"] == nil {
				t.Fatalf("row %d: both halves, no latency", n+1)
			}
			if s, ok := m["client"].(string); ok {
				if a, err := netip.ParseAddr(s); err != nil || a.Is4() && a.As4()[0] == 198 && a.As4()[1] == 51 && a.As4()[2] == 100 {
					t.Fatalf("row %d: client %q (real, or not an address)", n+1, s)
				}
			}
			n++
		}
		if n != st.Rows {
			t.Fatalf("%d lines, stats say %d rows", n, st.Rows)
		}
	})
}
