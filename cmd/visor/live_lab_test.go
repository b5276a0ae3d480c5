package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/sys/unix"

	"github.com/visor-dns/visor/report"
)

// The namespaces are named per process: concurrent runs do not meet.
var (
	labSrvNS = fmt.Sprintf("visorlv-srv-%d", os.Getpid())
	labCliNS = fmt.Sprintf("visorlv-cli-%d", os.Getpid())
)

const (
	labSrv    = "198.51.100.2"
	labCli    = "198.51.100.1"
	labPort   = "9753"
	labSrvMAC = "02:00:5e:00:53:02"
	labCliMAC = "02:00:5e:00:53:01"
)

// TestLiveLab is the live lab: two network namespaces joined by a veth pair, knotd
// answering in one, dnsperf asking from the other, `visor live` and tcpdump
// (the oracle) both capturing on the client's veth. Root only; skipped
// without the programs (scripts/deps.sh installs them).
func TestLiveLab(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if os.Geteuid() != 0 {
		t.Skip("the live lab needs root (network namespaces, AF_PACKET)")
	}
	for _, b := range []string{"ip", "knotd", "kdig", "dnsperf", "tcpdump"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("the live lab needs %s (scripts/deps.sh)", b)
		}
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "visor")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	labNet(t)
	queries := labKnot(t, dir)

	tcpdumpPcap := filepath.Join(dir, "tcpdump.pcap")
	td, tdErr := labStart(t, "tcpdump", "-i", "lv-cli", "-U", "-n", "-s", "0", "-w", tcpdumpPcap)
	labWaitFor(t, func() bool { return strings.Contains(tdErr.String(), "listening on") }, "tcpdump to listen")

	reportPath, writePath := filepath.Join(dir, "live.json"), filepath.Join(dir, "live.pcapng")
	vis, visErr := labStart(t, bin, "live", "-i", "lv-cli", "--bucket", "1s", "--host-spec", labSrv+"/32",
		"--format", "json", "-o", reportPath, "--listen", "127.0.0.1:"+labPort, "--write", writePath)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: dialInNetns(labCliNS)}}
	metricsURL := "http://127.0.0.1:" + labPort + "/metrics"
	labWaitFor(t, func() bool { _, err := labScrape(client, metricsURL); return err == nil }, "visor's /metrics")

	// dnsperf: 50 passes over the 18-line query file at 300 q/s: 900
	// queries over about 3 s, several buckets.
	perf := exec.Command("ip", "netns", "exec", labCliNS, "dnsperf", "-s", labSrv, "-d", queries, "-n", "50",
		"-Q", "300", "-c", "1", "-t", "2")
	var perfOut bytes.Buffer
	perf.Stdout, perf.Stderr = &perfOut, &perfOut
	if err := perf.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if mid, err := labScrape(client, metricsURL); err != nil {
		t.Errorf("/metrics during the run: %v", err)
	} else {
		q, c := value(mid, "visor_dns_queries_total"), value(mid, "visor_live_captured_packets_total")
		t.Logf("scrape during the run: visor_dns_queries_total %v, visor_live_captured_packets_total %v", q, c)
		if q <= 0 || q >= 900 || c <= 0 {
			t.Errorf("during the run: visor_dns_queries_total %v, visor_live_captured_packets_total %v; want a part of the run", q, c)
		}
	}
	if err := perf.Wait(); err != nil {
		t.Fatalf("dnsperf: %v\n%s", err, perfOut.String())
	}
	sent, completed := dnsperfCount(t, perfOut.String(), "Queries sent"), dnsperfCount(t, perfOut.String(), "Queries completed")
	t.Logf("dnsperf: %d sent, %d completed", sent, completed)
	if sent == 0 {
		t.Fatalf("dnsperf sent nothing:\n%s", perfOut.String())
	}

	// The last bucket closes about a second after its end on a quiet link.
	var fams map[string]*dto.MetricFamily
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var err error
		if fams, err = labScrape(client, metricsURL); err != nil {
			t.Fatalf("/metrics: %v", err)
		}
		if value(fams, "visor_dns_queries_total") == float64(sent) && value(fams, "visor_dns_responses_total") == float64(completed) {
			break
		}
	}
	if err := vis.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := labWait(vis, 10*time.Second); err != nil {
		t.Fatalf("visor live after SIGINT: %v (want exit 0)\n%s", err, visErr.String())
	}
	td.Process.Signal(syscall.SIGINT)
	labWait(td, 10*time.Second)

	live := labReport(t, reportPath)
	d := live.Summary.DNS
	t.Logf("visor live: %d packets, %d queries, %d responses, rcodes %v, integrity %v, %d buckets",
		live.Summary.Net.Packets, d.Queries, d.Responses, d.Rcodes, live.Integrity, len(live.Buckets))
	if d.Queries != sent || d.Responses != completed {
		t.Errorf("visor live: %d queries, %d responses; dnsperf sent %d, completed %d", d.Queries, d.Responses, sent, completed)
	}
	for _, c := range []struct {
		name string
		kv   []string
		want uint64
	}{
		{"visor_net_packets_total", nil, live.Summary.Net.Packets},
		{"visor_dns_queries_total", nil, d.Queries},
		{"visor_dns_responses_total", nil, d.Responses},
		{"visor_dns_rcode_total", []string{"rcode", "NOERROR"}, d.Rcodes["NOERROR"]},
		{"visor_dns_rcode_total", []string{"rcode", "NXDOMAIN"}, d.Rcodes["NXDOMAIN"]},
		{"visor_dns_qtype_total", []string{"qtype", "A"}, d.Qtypes["A"]},
		{"visor_dns_qtype_total", []string{"qtype", "AAAA"}, d.Qtypes["AAAA"]},
	} {
		if got := value(fams, c.name, c.kv...); got != float64(c.want) {
			t.Errorf("last scrape: %s%v = %v; the final report says %d", c.name, c.kv, got, c.want)
		}
	}
	// The oracle: tcpdump's capture of the same veth, and visor's own --write.
	for _, path := range []string{tcpdumpPcap, writePath} {
		out, err := exec.Command(bin, "analyze", "--format", "json", "--bucket", "1s", path).Output()
		if err != nil {
			t.Fatalf("visor analyze %s: %v", path, err)
		}
		var r report.Report
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatal(err)
		}
		o := r.Summary.DNS
		t.Logf("visor analyze %s: %d packets, %d queries, %d responses", filepath.Base(path), r.Summary.Net.Packets, o.Queries, o.Responses)
		if o.Queries != d.Queries || o.Responses != d.Responses || o.Rcodes["NXDOMAIN"] != d.Rcodes["NXDOMAIN"] || o.Xacts.Total != d.Xacts.Total {
			t.Errorf("%s: %d queries, %d responses, %d NXDOMAIN, %d xacts; live: %d, %d, %d, %d", filepath.Base(path),
				o.Queries, o.Responses, o.Rcodes["NXDOMAIN"], o.Xacts.Total, d.Queries, d.Responses, d.Rcodes["NXDOMAIN"], d.Xacts.Total)
		}
		if r.Summary.Net.Packets != live.Summary.Net.Packets {
			t.Errorf("%s: %d packets; live report: %d", filepath.Base(path), r.Summary.Net.Packets, live.Summary.Net.Packets)
		}
	}
}

// labNet makes the two namespaces and the veth pair, IPv4 only (dnsperf
// refuses IPv4 servers when global IPv6 addresses exist).
func labNet(t *testing.T) {
	del := func() {
		for _, ns := range []string{labCliNS, labSrvNS} {
			exec.Command("ip", "netns", "del", ns).Run()
		}
	}
	del()
	t.Cleanup(del)
	for _, args := range [][]string{
		{"netns", "add", labSrvNS},
		{"netns", "add", labCliNS},
		{"link", "add", "lv-cli", "address", labCliMAC, "netns", labCliNS, "type", "veth",
			"peer", "name", "lv-srv", "address", labSrvMAC, "netns", labSrvNS},
		{"-n", labSrvNS, "addr", "add", labSrv + "/24", "dev", "lv-srv"},
		{"-n", labCliNS, "addr", "add", labCli + "/24", "dev", "lv-cli"},
	} {
		labRun(t, "ip", args...)
	}
	for _, ns := range []string{labSrvNS, labCliNS} {
		labRun(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
		labRun(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	// static neighbours: no ARP, so every packet on the link is DNS
	labRun(t, "ip", "-n", labSrvNS, "neigh", "add", labCli, "lladdr", labCliMAC, "dev", "lv-srv", "nud", "permanent")
	labRun(t, "ip", "-n", labCliNS, "neigh", "add", labSrv, "lladdr", labSrvMAC, "dev", "lv-cli", "nud", "permanent")
	labRun(t, "ip", "-n", labSrvNS, "link", "set", "lv-srv", "up")
	labRun(t, "ip", "-n", labCliNS, "link", "set", "lv-cli", "up")
}

// labKnot starts knotd with one zone and returns dnsperf's query file:
// names that exist (NOERROR), one that does not (NXDOMAIN), A and AAAA.
func labKnot(t *testing.T, dir string) string {
	kd := filepath.Join(dir, "knot")
	for _, d := range []string{kd, filepath.Join(kd, "db"), filepath.Join(kd, "run")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	zone := "$ORIGIN live-lab.example.\n$TTL 300\n" +
		"@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A " + labSrv + "\n"
	var q strings.Builder
	for i := 1; i <= 8; i++ {
		zone += fmt.Sprintf("h%d A 198.51.100.%d\nh%d AAAA 2001:db8::%d\n", i, 100+i, i, i)
		fmt.Fprintf(&q, "h%d.live-lab.example A\nh%d.live-lab.example AAAA\n", i, i)
	}
	q.WriteString("missing.live-lab.example A\nlive-lab.example SOA\n")
	conf := fmt.Sprintf("server:\n    rundir: %q\n    listen: [ %s@53 ]\nlog:\n  - target: stderr\n    any: info\n"+
		"database:\n    storage: %q\ntemplate:\n  - id: default\n    storage: %q\n    zonefile-sync: -1\n    journal-content: none\n"+
		"zone:\n  - domain: live-lab.example\n", filepath.Join(kd, "run"), labSrv, filepath.Join(kd, "db"), kd)
	files := map[string]string{"live-lab.example.zone": zone, "knot.conf": conf}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(kd, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	queries := filepath.Join(dir, "queries.txt")
	if err := os.WriteFile(queries, []byte(q.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	_, knotErr := labStartNS(t, labSrvNS, "knotd", "-c", filepath.Join(kd, "knot.conf"))
	labWaitFor(t, func() bool {
		out, _ := exec.Command("ip", "netns", "exec", labCliNS, "kdig", "+retry=0", "+timeout=1", "+short",
			"@"+labSrv, "h1.live-lab.example", "A").Output()
		return strings.Contains(string(out), "198.51.100.101")
	}, "knotd to answer (log: "+knotErr.String()+")")
	return queries
}

// labStart runs a program in the client namespace; the test's end kills it.
func labStart(t *testing.T, name string, args ...string) (*exec.Cmd, *syncBuffer) {
	return labStartNS(t, labCliNS, name, args...)
}

func labStartNS(t *testing.T, ns, name string, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, stderr
}

func labRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func labWait(cmd *exec.Cmd, d time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		cmd.Process.Kill()
		return fmt.Errorf("still running after %s", d)
	}
}

func labWaitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func labScrape(c *http.Client, url string) (map[string]*dto.MetricFamily, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

func labReport(t *testing.T, path string) *report.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := report.Validate(b); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

var dnsperfLine = regexp.MustCompile(`^\s*(Queries sent|Queries completed):\s+(\d+)`)

func dnsperfCount(t *testing.T, out, what string) uint64 {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if m := dnsperfLine.FindStringSubmatch(sc.Text()); m != nil && m[1] == what {
			n, _ := strconv.ParseUint(m[2], 10, 64)
			return n
		}
	}
	t.Fatalf("dnsperf printed no %q:\n%s", what, out)
	return 0
}

// dialInNetns dials from inside the named network namespace: the socket is
// made on an OS thread moved there, which is discarded afterwards.
func dialInNetns(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
			f, err := os.Open("/var/run/netns/" + ns)
			if err != nil {
				ch <- result{nil, err}
				return
			}
			defer f.Close()
			if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
				ch <- result{nil, err}
				return
			}
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			ch <- result{c, err}
		}()
		r := <-ch
		return r.c, r.err
	}
}

// syncBuffer is a bytes.Buffer a child process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)
