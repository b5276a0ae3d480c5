//go:build lab

package scenarios

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/visor-dns/visor/internal/lab"
	"github.com/visor-dns/visor/internal/truth"
)

// TestOracle: this machine's tshark and dnstap-read, run again on every
// testdata capture, give the committed truth files byte for byte (a
// dnstap-read truth's tool version aside): the numbers the fast tier
// compares visor against stay the independent tools'.
func TestOracle(t *testing.T) {
	lab.RequirePrograms(t, "tshark", "dnstap-read")
	files, _ := filepath.Glob(lab.Testdata(t, "*.truth.json"))
	taps, _ := filepath.Glob(lab.Testdata(t, "*.dnstap-read.json"))
	if len(files) == 0 || len(taps) == 0 {
		t.Fatal("no truth files in testdata/")
	}
	for _, tf := range files {
		t.Run(filepath.Base(tf), func(t *testing.T) {
			c, err := truth.Tshark(strings.TrimSuffix(tf, ".truth.json"))
			if err != nil {
				t.Fatal(err)
			}
			sameFile(t, tf, c, truth.Write)
		})
	}
	for _, tf := range taps {
		t.Run(filepath.Base(tf), func(t *testing.T) {
			d, err := truth.DnstapRead(strings.TrimSuffix(tf, ".dnstap-read.json"))
			if err != nil {
				t.Fatal(err)
			}
			var committed truth.Tap
			if err := truth.Read(tf, &committed); err != nil {
				t.Fatal(err)
			}
			d.Tool = committed.Tool // the version of bind9-dnsutils may differ
			sameFile(t, tf, d, truth.Write)
		})
	}
}

// sameFile fails t unless write(v) gives the bytes of the file at path.
func sameFile(t *testing.T, path string, v any, write func(string, any) error) {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := write(out, v); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(out)
	if string(a) != string(b) {
		j, _ := json.Marshal(v)
		t.Errorf("this machine's truth differs from the committed %s:\ncommitted %s\nnow       %s", filepath.Base(path), a, j)
	}
}
