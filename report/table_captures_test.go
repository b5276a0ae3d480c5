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

// TestTableOfCaptures renders the table of every testdata capture at 80
// and 160 columns: no line is wider than the width (in runes), and the
// output matches testdata/captures/NAME.WIDTH.golden.
func TestTableOfCaptures(t *testing.T) {
	var inputs []string
	for _, pat := range []string{"*.pcap", "*.pcapng", "*.dnstap"} {
		m, err := filepath.Glob(filepath.Join("..", "testdata", pat))
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, m...)
	}
	if len(inputs) == 0 {
		t.Fatal("no testdata capture")
	}
	update := flag.Lookup("update").Value.String() == "true"
	for _, in := range inputs {
		cfg := engine.Config{Inputs: []string{in}, Bucket: time.Minute, Top: 10, DNSPorts: []uint16{53, 5353, 5355},
			XactTimeout: 5 * time.Second, Slow: 500 * time.Millisecond, Progress: "never", Version: "test"}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		rep, err := engine.Analyze(context.Background(), &cfg, nil, io.Discard)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		rep.Inputs[0].Path = filepath.Base(in)
		for _, width := range []int{80, 160} {
			for _, ascii := range []bool{false, true} {
				name := filepath.Base(in) + "." + itoa(width)
				if ascii {
					name += ".ascii"
				}
				t.Run(name, func(t *testing.T) {
					var b bytes.Buffer
					if err := report.WriteTableWith(&b, rep, report.TableOptions{Top: 10, Width: width, ASCII: ascii}); err != nil {
						t.Fatal(err)
					}
					for i, line := range strings.Split(b.String(), "\n") {
						if n := utf8.RuneCountInString(line); n > width {
							t.Errorf("line %d is %d columns wide, more than %d: %q", i+1, n, width, line)
						}
						if ascii {
							for _, r := range line {
								if r > 126 {
									t.Errorf("line %d has %q in ASCII mode: %q", i+1, r, line)
									break
								}
							}
						}
					}
					if ascii {
						return // the Unicode goldens cover the layout
					}
					path := filepath.Join("testdata", "captures", name+".golden")
					if update {
						if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
							t.Fatal(err)
						}
						return
					}
					want, err := os.ReadFile(path)
					if err != nil {
						t.Fatalf("%v (go test ./report -update writes it)", err)
					}
					if !bytes.Equal(b.Bytes(), want) {
						t.Errorf("table differs from %s (go test ./report -update rewrites it)\ngot:\n%s", path, b.Bytes())
					}
				})
			}
		}
		rep.Close()
	}
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
