package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRSSAC002Format: --format rssac002 on lab-eth.pcap writes one day's
// four files with the capture's counts (tshark's: 530 and 370 UDP queries
// over IPv4 and IPv6, 157 TCP queries and responses each; 9, 4 and 1
// distinct sources), the same with --exact-sources and without; the flags
// are checked before any input is read. The comparison with dnscap's
// plugin is the lab's TestRSSAC002AgainstDnscap.
func TestRSSAC002Format(t *testing.T) {
	in := "../../testdata/lab-eth.pcap"
	for _, exact := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "out")
		args := []string{"analyze", "--format", "rssac002", "--service", "lab.example", "--instance", "site1", "-o", dir, in}
		if exact {
			args = append(args, "--exact-sources")
		}
		if r := runVisor(args...); r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		read := func(metric string) string {
			b, err := os.ReadFile(filepath.Join(dir, "lab.example-site1-20261127-"+metric+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		for metric, want := range map[string][]string{
			"traffic-volume": {"dns-udp-queries-received-ipv4: 530\n", "dns-udp-queries-received-ipv6: 370\n",
				"dns-tcp-queries-received-ipv4: 157\n", "dns-tcp-queries-received-ipv6: 157\n",
				"dns-udp-responses-sent-ipv4: 530\n", "dns-tcp-responses-sent-ipv6: 157\n"},
			"traffic-sizes":  {"udp-request-sizes:\n  32-47: 816\n  48-63: 84\n", "  3264-3279: 6\n"},
			"rcode-volume":   {"0: 584\n", "3: 594\n"},
			"unique-sources": {"num-sources-ipv4: 9\n", "num-sources-ipv6: 4\n", "num-sources-ipv6-aggregate: 1\n"},
		} {
			got := read(metric)
			head := "---\nversion: rssac002v5\nservice: lab.example\nstart-period: 2026-11-27T00:00:00Z\nmetric: " + metric + "\n"
			if !strings.Contains(got, head) || !strings.HasPrefix(got, "# instance: site1\n# the capture covers 05:59:53 to 05:59:56 UTC") {
				t.Errorf("exact %v: %s:\n%s", exact, metric, got)
			}
			for _, w := range want {
				if !strings.Contains(got, w) {
					t.Errorf("exact %v: %s lacks %q:\n%s", exact, metric, w, got)
				}
			}
			if metric == "unique-sources" && strings.Contains(got, "HyperLogLog") == exact {
				t.Errorf("exact %v: the estimate comment is wrong:\n%s", exact, got)
			}
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "rssac002", "--service", "x", in}, "-o DIR"},
		{[]string{"--format", "rssac002", "-o", t.TempDir(), in}, "--service"},
		{[]string{"--format", "rssac002", "--service", "a/b", "-o", t.TempDir(), in}, "--service/--instance"},
		{[]string{"--format", "rssac002", "--service", "x", "--bucket", "7m", "-o", t.TempDir(), in}, "divide a day"},
		{[]string{"--format", "json", "--service", "x", in}, "are for --format rssac002"},
	} {
		r := runVisor(append([]string{"analyze"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
}
