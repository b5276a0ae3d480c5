//go:build lab

package scenarios

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/visor-dns/visor/internal/lab"
)

const (
	liveSrv = "198.51.100.2"
	liveCli = "198.51.100.1"
)

// liveNet is the live lab: IPv4 only (dnsperf), static neighbours (no ARP:
// every packet on the link is DNS).
func liveNet(t *testing.T) *lab.Net {
	return lab.NewNet(t, lab.NetConfig{
		SrvAddrs: []string{liveSrv + "/24"}, CliAddrs: []string{liveCli + "/24"},
		V4Only: true, StaticNeighbours: true,
	})
}

// metricsClient scrapes visor's /metrics inside the client namespace.
func metricsClient(n *lab.Net) *http.Client {
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: lab.DialContext(n.Cli)}}
}

// TestLiveLab: knotd answers dnsperf across the veth while `visor live`
// and tcpdump (the oracle) capture on the client's side. /metrics during
// the run shows a part of it; at the end /metrics, the final report,
// dnsperf's counts, and `visor analyze` of tcpdump's capture and of
// visor's own --write agree.
func TestLiveLab(t *testing.T) {
	lab.Require(t, "ip", "knotd", "kdig", "dnsperf", "tcpdump")
	bin := lab.Visor(t)
	n := liveNet(t)
	dir := t.TempDir()
	knot := n.StartKnot(dir, lab.Knot{Listen: []string{liveSrv}, Zones: []string{"live-lab.example"}})
	n.WaitAnswer(liveSrv, "h1.live-lab.example", "A", "198.51.100.101", knot)
	// names that exist (NOERROR), one that does not (NXDOMAIN), A and AAAA
	var q []string
	for i := 1; i <= 8; i++ {
		q = append(q, fmt.Sprintf("h%d.live-lab.example A", i), fmt.Sprintf("h%d.live-lab.example AAAA", i))
	}
	q = append(q, "missing.live-lab.example A", "live-lab.example SOA")
	queries := filepath.Join(dir, "queries.txt")
	lab.WriteLines(t, queries, q)

	td := n.Tcpdump(n.Cli, filepath.Join(dir, "tcpdump.pcap"), "-i", n.CliIf, "-U", "-s", "0")
	reportPath, writePath := filepath.Join(dir, "live.json"), filepath.Join(dir, "live.pcapng")
	vis := n.Start(n.Cli, bin, "live", "-i", n.CliIf, "--bucket", "1s", "--host-spec", liveSrv+"/32",
		"--format", "json", "-o", reportPath, "--listen", "127.0.0.1:9753", "--write", writePath)
	// A second run on the same veth writes the summary (--format summary).
	sumPath := filepath.Join(dir, "live.vsum")
	visSum := n.Start(n.Cli, bin, "live", "-i", n.CliIf, "--bucket", "1s", "--host-spec", liveSrv+"/32",
		"--format", "summary", "-o", sumPath, "--label", "server=live-lab", "--listen", "127.0.0.1:9754")
	client := metricsClient(n)
	const url = "http://127.0.0.1:9753/metrics"
	lab.WaitFor(t, 10*time.Second, "visor's /metrics", func() bool { _, err := lab.Scrape(client, url); return err == nil })
	lab.WaitFor(t, 10*time.Second, "the summary run's /metrics", func() bool {
		_, err := lab.Scrape(client, "http://127.0.0.1:9754/metrics")
		return err == nil
	})

	// 50 passes over the 18-line query file at 300 q/s: 900 queries over
	// about 3 s, several buckets.
	perfDone := make(chan lab.Dnsperf, 1)
	go func() {
		perfDone <- n.Dnsperf("-s", liveSrv, "-d", queries, "-n", "50", "-Q", "300", "-c", "1", "-t", "2")
	}()
	time.Sleep(2 * time.Second)
	if mid, err := lab.Scrape(client, url); err != nil {
		t.Errorf("/metrics during the run: %v", err)
	} else {
		q, c := lab.Value(mid, "visor_dns_queries_total"), lab.Value(mid, "visor_live_captured_packets_total")
		t.Logf("scrape during the run: visor_dns_queries_total %v, visor_live_captured_packets_total %v", q, c)
		if q <= 0 || q >= 900 || c <= 0 {
			t.Errorf("during the run: visor_dns_queries_total %v, visor_live_captured_packets_total %v; want a part of the run", q, c)
		}
	}
	perf := <-perfDone
	t.Logf("dnsperf: %d sent, %d completed", perf.Sent, perf.Completed)
	if perf.Sent == 0 {
		t.Fatalf("dnsperf sent nothing:\n%s", perf.Output)
	}

	// The last bucket closes about a second after its end on a quiet link.
	fams, err := lab.Scrape(client, url)
	lab.Poll(15*time.Second, func() bool {
		if fams, err = lab.Scrape(client, url); err != nil {
			return true
		}
		return lab.Value(fams, "visor_dns_queries_total") == float64(perf.Sent) &&
			lab.Value(fams, "visor_dns_responses_total") == float64(perf.Completed)
	})
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	if err := vis.Stop(syscall.SIGINT); err != nil {
		t.Fatalf("visor live after SIGINT: %v (want exit 0)\n%s", err, vis.Stderr())
	}
	if err := visSum.Stop(syscall.SIGINT); err != nil {
		t.Fatalf("visor live --format summary after SIGINT: %v (want exit 0)\n%s", err, visSum.Stderr())
	}
	td.Stop(t)

	live := lab.ReadReport(t, reportPath)
	d := live.Summary.DNS
	t.Logf("visor live: %d packets, %d queries, %d responses, rcodes %v, integrity %v, %d buckets",
		live.Summary.Net.Packets, d.Queries, d.Responses, d.Rcodes, live.Integrity, len(live.Buckets))
	if d.Queries != perf.Sent || d.Responses != perf.Completed {
		t.Errorf("visor live: %d queries, %d responses; dnsperf sent %d, completed %d", d.Queries, d.Responses, perf.Sent, perf.Completed)
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
		if got := lab.Value(fams, c.name, c.kv...); got != float64(c.want) {
			t.Errorf("last scrape: %s%v = %v; the final report says %d", c.name, c.kv, got, c.want)
		}
	}
	// The oracle: tcpdump's capture of the same veth, visor's own --write,
	// and the summary of the run beside it.
	for _, path := range []string{td.Path, writePath, sumPath} {
		r := lab.Analyze(t, "--bucket", "1s", path)
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

// TestLiveSpoofedTCP: the two TCP segments that once panicked visor (half
// the sequence space from the SYN; issue 16), sent on the veth `visor live`
// captures, leave it running; it counts them and exits 0 on SIGINT.
func TestLiveSpoofedTCP(t *testing.T) {
	lab.Require(t, "ip")
	bin := lab.Visor(t)
	n := liveNet(t)
	dir := t.TempDir()
	q, err := lab.TCPQuery("a.example.test")
	if err != nil {
		t.Fatal(err)
	}
	dst, _ := net.ParseMAC(lab.CliMAC)
	pcap, err := lab.TCPPcap(dst, []lab.Segment{{Seq: 1000, SYN: true}, {Seq: 1001 + 1<<31, Data: q}, {Seq: 1000 + 1<<31, Data: q}})
	if err != nil {
		t.Fatal(err)
	}

	reportPath := filepath.Join(dir, "live.json")
	vis := n.Start(n.Cli, bin, "live", "-i", n.CliIf, "--format", "json", "-o", reportPath, "--listen", "127.0.0.1:9754")
	client := metricsClient(n)
	const url = "http://127.0.0.1:9754/metrics"
	lab.WaitFor(t, 10*time.Second, "visor's /metrics", func() bool { _, err := lab.Scrape(client, url); return err == nil })
	if err := lab.Inject(n.Srv, n.SrvIf, pcap); err != nil {
		t.Fatalf("injecting: %v", err)
	}
	if !lab.Poll(10*time.Second, func() bool {
		f, err := lab.Scrape(client, url)
		return err == nil && lab.Value(f, "visor_live_captured_packets_total") >= 3
	}) {
		t.Fatalf("visor did not capture the spoofed packets; stderr: %s", vis.Stderr())
	}
	if vis.Exited() {
		t.Fatalf("visor live died\n%s", vis.Stderr())
	}
	if err := vis.Stop(syscall.SIGINT); err != nil {
		t.Fatalf("visor live after SIGINT: %v (want exit 0)\n%s", err, vis.Stderr())
	}
	if strings.Contains(vis.Stderr(), "panic") {
		t.Fatalf("stderr: %s", vis.Stderr())
	}
	if rep := lab.ReadReport(t, reportPath); rep.Summary.Net.TCP < 3 {
		t.Errorf("report: %d TCP packets, want the 3 sent", rep.Summary.Net.TCP)
	}
}
