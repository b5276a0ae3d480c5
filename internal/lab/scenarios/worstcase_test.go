//go:build lab

package scenarios

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/visor-dns/visor/internal/lab"
)

// TestWorstCase: generated hostile captures (half-open TCP, buffered
// partial messages, fragments that never complete, millions of distinct
// names) keep visor's peak RSS under VISOR_RSS_BOUND_MB (200) and show in
// integrity what the bounds dropped. VISOR_WORSTCASE_SCALE multiplies the
// sizes.
func TestWorstCase(t *testing.T) {
	bound, scale := envInt(t, "VISOR_RSS_BOUND_MB", 200), envInt(t, "VISOR_WORSTCASE_SCALE", 1)
	bin := lab.Visor(t)
	root, err := lab.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gencap := filepath.Join(dir, "gencap")
	build := exec.Command("go", "build", "-o", gencap, "./scripts/gencap")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./scripts/gencap: %v\n%s", err, out)
	}
	for _, c := range []struct {
		kind string
		n    int
		keys []string
	}{
		{"halfopen", 300000, []string{"tcp_streams_evicted"}},
		{"tcpbuf", 200000, []string{"tcp_streams_evicted"}},
		{"fragflood", 200000, []string{"ip_fragments_evicted", "ip_fragments_incomplete"}},
		{"names", 2000000, []string{"dns_queries_unanswered_at_end"}},
	} {
		t.Run(c.kind, func(t *testing.T) {
			pcap, out := filepath.Join(dir, c.kind+".pcap"), filepath.Join(dir, c.kind+".json")
			if b, err := exec.Command(gencap, c.kind, strconv.Itoa(c.n*scale), pcap).CombinedOutput(); err != nil {
				t.Fatalf("gencap %s: %v\n%s", c.kind, err, b)
			}
			defer os.Remove(pcap)
			cmd := exec.Command(bin, "analyze", "--format", "json", "-o", out, pcap)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("visor analyze: %v\n%s", err, b)
			}
			mb := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss / 1024
			var r struct {
				Integrity map[string]uint64 `json:"integrity"`
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			t.Logf("%-10s %9d records  peak RSS %4d MB  integrity %v", c.kind, c.n*scale, mb, r.Integrity)
			if mb >= int64(bound) {
				t.Errorf("peak RSS %d MB, over the %d MB bound", mb, bound)
			}
			for _, k := range c.keys {
				if r.Integrity[k] == 0 {
					t.Errorf("integrity lacks %s", k)
				}
			}
		})
	}
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		t.Fatalf("%s=%q: %v", name, s, fmt.Errorf("want a positive integer"))
	}
	return v
}
