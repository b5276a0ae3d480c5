//go:build lab

package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/visor-dns/visor/internal/lab"
	"github.com/visor-dns/visor/report"
)

// TestRSSAC002AgainstDnscap is the RSSAC002 lab: kdig over UDP and TCP
// (one question a connection), answers truncated over UDP and retried over
// TCP, and dnsperf from six sources, against knotd over IPv4 and IPv6,
// captured by tcpdump. dnscap's own RSSAC002 plugin (rssm.so, Debian's
// dnscap) and `visor analyze --format rssac002` read the capture: every
// field of traffic-volume, traffic-sizes, rcode-volume and unique-sources
// is equal (docs/rssac002.md lists the differences by design, which this
// traffic does not show). The same capture's JSON report counts the
// truncated answers, their TCP retries, opcodes, sizes and EDNS sizes.
func TestRSSAC002AgainstDnscap(t *testing.T) {
	lab.Require(t, "ip", "knotd", "kdig", "dnsperf", "tcpdump", "dnscap")
	rssm, _ := filepath.Glob("/usr/lib/*/dnscap/rssm.so")
	if len(rssm) == 0 {
		t.Fatal("dnscap's rssm.so is not installed (Debian package dnscap)")
	}
	visor := lab.Visor(t)
	cli := []string{c4 + "/24", c6 + "/64"}
	for i := 101; i <= 104; i++ {
		cli = append(cli, fmt.Sprintf("198.51.100.%d/32", i))
	}
	for i := 101; i <= 102; i++ {
		cli = append(cli, fmt.Sprintf("2001:db8:100::%d/128", i))
	}
	n := lab.NewNet(t, lab.NetConfig{SrvAddrs: []string{s4k + "/24", s6k + "/64"}, CliAddrs: cli, NoOffload: true})
	dir := t.TempDir()
	knot := n.StartKnot(dir, lab.Knot{Listen: []string{s4k, s6k}, Zones: labZones}) // answers over 1232 bytes truncate
	n.WaitAnswer(s4k, "visor-lab.example", "SOA", "hostmaster", knot)
	n.WaitAnswer(s6k, "www.visor-lab.example", "A", "198.51.100.80", knot)
	mixed := filepath.Join(dir, "mixed.txt")
	lab.WriteLines(t, mixed, mixedQueries())
	time.Sleep(time.Second) // let IPv6 set-up chatter settle before capturing

	capture := n.Tcpdump(n.Cli, filepath.Join(dir, "rssac002.pcap"), "-i", n.CliIf)
	time.Sleep(500 * time.Millisecond)
	for _, s := range []string{s4k, s6k} {
		for _, q := range singles {
			n.Kdig("@"+s, "+bufsize=1232", q[0], q[1])
		}
		for _, q := range singles[:8] {
			n.Kdig("@"+s, "+tcp", q[0], q[1])
			n.Kdig("@"+s, q[0], q[1]) // no EDNS
			n.Kdig("@"+s, "+cookie", q[0], q[1])
		}
		// 3.4 kB: truncated over UDP (knotd's 1232-byte limit), kdig asks again over TCP
		n.Kdig("@"+s, "+bufsize=1232", "big.visor-lab.example", "TXT")
	}
	var runs [][]string
	for i := 101; i <= 104; i++ {
		runs = append(runs, []string{"-t", "3", "-f", "inet", "-a", fmt.Sprintf("198.51.100.%d", i), "-s", s4k, "-d", mixed, "-n", "1", "-Q", "200"})
	}
	for i := 101; i <= 102; i++ {
		runs = append(runs, []string{"-t", "3", "-f", "inet6", "-a", fmt.Sprintf("2001:db8:100::%d", i), "-s", s6k, "-d", mixed, "-n", "1", "-Q", "200"})
	}
	n.DnsperfAll(runs)
	lab.StopAll(t, capture)
	lab.Keep(t, capture.Path)

	// dnscap: TCP (-T) reassembled, one file for the whole capture.
	dc := filepath.Join(dir, "dnscap")
	out, err := exec.Command("dnscap", "-T", "-o", "use_layers=yes", "-o", "reassemble_tcp=yes", "-r", capture.Path,
		"-P", rssm[0], "-w", dc, "-Y", "-n", "lab", "-D").CombinedOutput()
	if err != nil {
		t.Fatalf("dnscap: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(dc + ".*")
	if len(files) != 1 {
		t.Fatalf("dnscap wrote %v, want one file\n%s", files, out)
	}
	want := readRSSAC(t, files[0])

	for _, exact := range []bool{true, false} {
		t.Run(fmt.Sprintf("exact-sources=%v", exact), func(t *testing.T) {
			od := filepath.Join(dir, fmt.Sprintf("visor-%v", exact))
			args := []string{"analyze", "--format", "rssac002", "--service", "lab", "-o", od, capture.Path}
			if exact {
				args = append(args, "--exact-sources")
			}
			if out, err := exec.Command(visor, args...).CombinedOutput(); err != nil {
				t.Fatalf("visor %v: %v\n%s", args, err, out)
			}
			got := map[string]string{}
			paths, _ := filepath.Glob(filepath.Join(od, "lab-*.yaml"))
			if len(paths) != 4 {
				t.Fatalf("visor wrote %v, want the four files of one day", paths)
			}
			for _, p := range paths {
				for k, v := range readRSSAC(t, p) {
					got[k] = v
				}
			}
			for _, k := range union(want, got) {
				if strings.HasSuffix(k, "/version") || strings.HasSuffix(k, "/start-period") {
					continue
				}
				if got[k] != want[k] {
					t.Errorf("%s: visor %q, dnscap %q", k, got[k], want[k])
				}
			}
			// (yaml.v3 reads start-period as a time)
			if got["traffic-volume/version"] != "rssac002v5" || !strings.Contains(got["traffic-volume/start-period"], " 00:00:00 +0000") {
				t.Errorf("version %q, start-period %q", got["traffic-volume/version"], got["traffic-volume/start-period"])
			}
			if got["traffic-volume/dns-tcp-responses-sent-ipv6"] == "0" || got["unique-sources/num-sources-ipv6"] != "2" ||
				got["unique-sources/num-sources-ipv4"] != "5" {
				t.Errorf("the lab traffic is not what it should be: %v", got)
			}
		})
	}

	// The depth counters of the same capture.
	r := lab.Analyze(t, capture.Path)
	d := r.Summary.DNS
	if d.Truncation.Responses != 2 || d.Truncation.TCPRetries != 2 {
		t.Errorf("truncation %+v, want 2 truncated UDP responses, both retried over TCP", d.Truncation)
	}
	if d.Opcodes["QUERY"] != d.Queries || len(d.Opcodes) != 1 {
		t.Errorf("opcodes %v, queries %d", d.Opcodes, d.Queries)
	}
	z := d.Sizes
	binned := sumBins(z.UDP.IPv4.Queries) + sumBins(z.UDP.IPv4.Responses) + sumBins(z.UDP.IPv6.Queries) + sumBins(z.UDP.IPv6.Responses) +
		sumBins(z.TCP.IPv4.Queries) + sumBins(z.TCP.IPv4.Responses) + sumBins(z.TCP.IPv6.Queries) + sumBins(z.TCP.IPv6.Responses)
	if binned != d.Messages {
		t.Errorf("size bins hold %d messages, the report %d", binned, d.Messages)
	}
	if e := d.EDNSDetail; e.UDPSizes["1232"] == 0 || e.Versions["0"] == 0 || e.Cookies == 0 {
		t.Errorf("EDNS detail %+v: kdig advertises 1232 bytes, EDNS version 0, and cookies", e)
	}
	t.Logf("opcodes %v, truncation %+v, EDNS %+v, query bytes %+v, response bytes %+v", d.Opcodes, d.Truncation, d.EDNSDetail, d.Sizes.QueryBytes, d.Sizes.ResponseBytes)
}

// readRSSAC reads the YAML documents of an RSSAC002 file into
// "metric/key" (and "metric/key/bin" for sizes) -> value.
func readRSSAC(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc map[any]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		metric := fmt.Sprint(doc["metric"])
		for k, v := range doc {
			ks := fmt.Sprint(k)
			if ks == "metric" || ks == "service" {
				continue
			}
			if m, ok := v.(map[string]any); ok {
				for bin, n := range m {
					out[metric+"/"+ks+"/"+bin] = fmt.Sprint(n)
				}
				continue
			}
			if m, ok := v.(map[any]any); ok {
				for bin, n := range m {
					out[metric+"/"+ks+"/"+fmt.Sprint(bin)] = fmt.Sprint(n)
				}
				continue
			}
			out[metric+"/"+ks] = fmt.Sprint(v)
		}
	}
	return out
}

func sumBins(l []report.SizeBin) uint64 {
	var n uint64
	for _, b := range l {
		n += b.Count
	}
	return n
}

func union(a, b map[string]string) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}
