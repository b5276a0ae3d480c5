package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/capture"
	"github.com/visor-dns/visor/decode"
)

// realAddrs are the addresses a capture's packets (or dnstap messages)
// carry in their headers and Client Subnet options.
func realAddrs(t *testing.T, path string) []netip.Addr {
	t.Helper()
	src, err := capture.Open(path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	set := map[netip.Addr]bool{}
	var p visor.Packet
	var f visor.Frame
	var m decode.DNS
	for {
		if err := src.Next(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		var payload []byte
		if p.Tap != nil {
			set[p.Tap.QueryAddr], set[p.Tap.ResponseAddr] = true, true
			payload = p.Tap.Message
		} else if decode.Packet(&p, &f) == decode.OK && f.IPVersion != 0 {
			set[f.Src], set[f.Dst] = true, true
			if f.Proto == visor.TransportUDP {
				payload = f.Payload
			}
		}
		if payload != nil && decode.ParseDNS(payload, &m) && m.ECS {
			set[m.ECSAddr] = true
		}
	}
	var out []netip.Addr
	for a := range set {
		// Unspecified and loopback text ("::", "::1") would be found inside
		// any IPv6 text.
		if a.IsValid() && !a.IsUnspecified() && !a.IsLoopback() {
			out = append(out, a.Unmap())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

// parquetText is every value of a Parquet file, as text.
func parquetText(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := parquet.NewReader(f)
	var b bytes.Buffer
	rows := make([]parquet.Row, 64)
	for {
		n, err := r.ReadRows(rows)
		for _, row := range rows[:n] {
			for _, v := range row {
				fmt.Fprintf(&b, "%s\t", v.String())
			}
			b.WriteByte('\n')
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// No output of an anonymised run holds a real address of its capture, in
// text (reports, metrics, records) or in binary (carved packets); two runs
// with one key write the same bytes.
func TestAnonymizedOutputs(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	if err := os.WriteFile(key, []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	captures := []string{"lab-eth.pcap", "lab-tcp.pcap", "lab-sll2.pcap", "lab.pcapng", "unbound-client.pcap",
		"knot.dnstap", "unbound.dnstap", "attack-random-subdomain.pcap", "attack-nxdomain.pcap"}
	for _, c := range captures {
		t.Run(c, func(t *testing.T) {
			in := filepath.Join("..", "..", "testdata", c)
			real := realAddrs(t, in)
			if len(real) == 0 {
				t.Fatal("no address found in the capture")
			}
			out := t.TempDir()
			outputs := map[string][]byte{}
			for round := 0; round < 2; round++ {
				for _, args := range [][]string{
					{"analyze", "--format", "json", "--carve", filepath.Join(out, fmt.Sprint("carve", round))},
					{"analyze", "--format", "table"},
					{"analyze", "--format", "openmetrics"},
					{"analyze", "--format", "markdown"},
					{"analyze", "--format", "html"},
					{"export", "--format", "csv"},
					{"export", "--format", "ndjson"},
					{"export", "--format", "parquet"},
				} {
					name := strings.Join(args[:3], " ")
					os.MkdirAll(filepath.Join(out, fmt.Sprint(round)), 0o755)
					file := filepath.Join(out, fmt.Sprint(round), args[0]+"."+args[2])
					argv := append(append([]string{}, args...), "--anonymize", key, "--progress", "never", "-o", file, in)
					var stderr bytes.Buffer
					if code := run(context.Background(), argv, nil, io.Discard, &stderr); code != 0 {
						t.Fatalf("visor %s: exit %d: %s", strings.Join(argv, " "), code, stderr.String())
					}
					b, err := os.ReadFile(file)
					if err != nil {
						t.Fatal(err)
					}
					// html and markdown show the command line: its paths differ by round
					same := bytes.ReplaceAll(b, []byte(filepath.Join(out, fmt.Sprint(round))), []byte("DIR"))
					same = bytes.ReplaceAll(same, []byte(fmt.Sprint("carve", round)), []byte("carve"))
					if round == 1 && !bytes.Equal(same, outputs[name]) {
						t.Errorf("%s: two runs with one key differ", name)
					}
					outputs[name] = same
					if strings.HasSuffix(name, "parquet") {
						b = parquetText(t, file)
					}
					for _, a := range real {
						if bytes.Contains(b, []byte(a.String())) {
							t.Errorf("%s: %s is in the output", name, a)
						}
					}
				}
				carved, _ := filepath.Glob(filepath.Join(out, fmt.Sprint("carve", round), "*.pcap"))
				for _, f := range carved {
					b, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					for _, a := range real {
						if bytes.Contains(b, a.AsSlice()) {
							t.Errorf("carved %s holds %s (%x)", filepath.Base(f), a, a.AsSlice())
						}
					}
				}
			}
		})
	}
}
