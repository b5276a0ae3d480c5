//go:build lab

package scenarios

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/visor-dns/visor/internal/lab"
	"github.com/visor-dns/visor/internal/truth"
	"github.com/visor-dns/visor/report"
)

const (
	s4t = "198.51.100.3" // the twin unbound
	s6t = "2001:db8:100::3"
)

// dtNames are the dnstap lab's questions.
var dtNames = [][]string{
	{"dt-lab.example", "SOA"}, {"dt-lab.example", "NS"}, {"dt-lab.example", "MX"}, {"dt-lab.example", "TXT"},
	{"www.dt-lab.example", "A"}, {"www.dt-lab.example", "AAAA"}, {"alias.dt-lab.example", "A"},
	{"_sip._udp.dt-lab.example", "SRV"}, {"mail.dt-lab.example", "A"}, {"mail.dt-lab.example", "AAAA"},
	{"nope.dt-lab.example", "A"}, {"nope2.dt-lab.example", "AAAA"}, {"www.other.example", "A"},
}

// dtNet is the dnstap lab: unbound (recursive, dnstap) and knotd
// (authoritative, dnstap) in the server namespace, with a twin unbound.
func dtNet(t *testing.T) (*lab.Net, string) {
	lab.Require(t, "ip", "knotd", "unbound", "kdig", "ss")
	n := lab.NewNet(t, lab.NetConfig{
		SrvAddrs: []string{s4u + "/24", s4k + "/24", s4t + "/24", s6u + "/64", s6k + "/64", s6t + "/64"},
		CliAddrs: []string{c4 + "/24", c6 + "/64"},
	})
	dir := t.TempDir()
	os.Chmod(dir, 0o755) // unbound and knotd write their sinks in it
	return n, dir
}

// dtUnbound logs CLIENT_* and RESOLVER_* to sock, as identity visordt-unbound.
func dtUnbound(a4, a6, sock string) lab.Unbound {
	return lab.Unbound{
		Verbosity: 1, Interfaces: []string{a4, a6}, Outgoing: []string{a4},
		LocalZones: map[string]string{"other.example": "refuse"},
		Stubs:      map[string]string{"dt-lab.example": s4k, ".": "198.51.100.254"},
		// no upstream retransmission before 1.5 s: on a loaded machine one
		// unbound retried knotd and the other did not, and the twins differed
		Extra:  []string{"infra-cache-min-rtt: 1500"},
		Dnstap: &lab.UnboundDnstap{Socket: sock, Identity: "visordt-unbound"},
	}
}

func dtKnot(sink string) lab.Knot {
	return lab.Knot{Listen: []string{s4k, s6k}, Zones: []string{"dt-lab.example"}, DnstapSink: sink, DnstapIdentity: "visordt-knot"}
}

// TestDnstapFiles: unbound (through fstrm_capture) and knotd (its dnstap
// module) log real traffic while tcpdump captures unbound's client side.
// Each dnstap file's visor counts (per type, queries, responses, in, out,
// identity, version) equal dnstap-read's, and the client side of
// unbound's dnstap (--bpf without knotd) equals the pcap's.
func TestDnstapFiles(t *testing.T) {
	lab.Require(t, "dnsperf", "tcpdump", "fstrm_capture", "dnstap-read")
	n, dir := dtNet(t)
	mixed := filepath.Join(dir, "mixed.txt")
	var q []string
	for round := 0; round < 2; round++ {
		for _, x := range dtNames {
			q = append(q, x[0]+" "+x[1])
		}
		for i := 1; i <= 30; i++ {
			typ := "A"
			if i%3 == 0 {
				typ = "AAAA"
			}
			q = append(q, fmt.Sprintf("h%d.dt-lab.example %s", i, typ))
		}
		for i := 1; i <= 20; i++ {
			q = append(q, fmt.Sprintf("missing%d.dt-lab.example A", i))
		}
	}
	lab.WriteLines(t, mixed, q)

	ubTap, knotTap, pcap := filepath.Join(dir, "unbound.dnstap"), filepath.Join(dir, "knot.dnstap"), filepath.Join(dir, "unbound-client.pcap")
	fstrm := n.FstrmCapture(filepath.Join(dir, "dnstap.sock"), ubTap)
	knot := n.StartKnot(dir, dtKnot(knotTap))
	ub := n.StartUnbound(dir, "unbound", dtUnbound(s4u, s6u, filepath.Join(dir, "dnstap.sock")))
	n.WaitListen(s4k, knot)
	n.WaitListen(s4u, ub)
	time.Sleep(time.Second) // unbound connects its dnstap socket
	td := n.Tcpdump(n.Srv, pcap, "-i", n.SrvIf, "host "+s4u+" or host "+s6u)
	for _, s := range []string{s4u, s6u} {
		for _, x := range dtNames {
			n.Kdig("@"+s, x[0], x[1])
			n.Kdig("@"+s, "+tcp", x[0], x[1])
		}
	}
	for _, s := range []string{s4k, s6k} {
		for _, x := range dtNames[:8] {
			n.Kdig("@"+s, x[0], x[1])
			n.Kdig("@"+s, "+tcp", x[0], x[1])
		}
	}
	n.Dnsperf("-t", "3", "-f", "inet", "-s", s4u, "-d", mixed, "-n", "1", "-Q", "300")
	n.Dnsperf("-t", "3", "-f", "inet6", "-s", s6u, "-d", mixed, "-n", "1", "-Q", "300")
	n.Dnsperf("-t", "3", "-m", "tcp", "-f", "inet", "-s", s4u, "-d", mixed, "-n", "1", "-c", "1", "-q", "20")
	n.Dnsperf("-t", "3", "-m", "tcp", "-f", "inet6", "-s", s6u, "-d", mixed, "-n", "1", "-c", "1", "-q", "20")
	time.Sleep(time.Second)
	td.Stop(t)
	// unbound and knotd write STOP and close their sinks on SIGTERM; fstrm_capture on SIGINT
	ub.Stop(syscall.SIGTERM)
	knot.Stop(syscall.SIGTERM)
	time.Sleep(500 * time.Millisecond)
	fstrm.Stop(syscall.SIGINT)

	for _, f := range []string{ubTap, knotTap, pcap} {
		if st, err := os.Stat(f); err != nil || st.Size() >= 1<<20 {
			t.Fatalf("%s: %v: want a file under 1 MB", f, err)
		}
	}
	for _, f := range []string{ubTap, knotTap} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want := lab.DnstapTruth(t, f)
			t.Logf("dnstap-read: %d messages, %d queries, %d responses, %v", want.Messages, want.Queries, want.Responses, want.Types)
			if want.Messages == 0 {
				t.Fatal("dnstap-read counts no message")
			}
			for _, d := range want.Diff(lab.Analyze(t, f)) {
				t.Error(d)
			}
		})
	}
	pt := lab.TsharkTruth(t, pcap)
	pr := lab.Analyze(t, pcap)
	for _, d := range pt.Diff(pr) {
		t.Errorf("%s: %s", filepath.Base(pcap), d)
	}
	// unbound's RESOLVER_* messages all go to knotd, which no client asked
	// through unbound's interface: without them, the dnstap is the pcap
	tap := lab.Analyze(t, "--bpf", "not host "+s4k+" and not host "+s6k, ubTap)
	if pr.Summary.DNS.Queries == 0 {
		t.Fatal("no queries in the pcap")
	}
	for _, d := range truth.ClientSideDiff(pr, tap) {
		t.Error(d)
	}
}

// TestDnstapLive: `visor live --dnstap-socket` receives unbound's dnstap
// while a twin unbound (same configuration, zone data and queries, one at
// a time) logs to fstrm_capture (unbound has one dnstap sink). visor exits
// 0 on SIGINT; its final report's queries, responses, in (CLIENT_*) and
// out (RESOLVER_*) equal dnstap-read's of the twin's file, and its DNS
// detail (rcodes, qtypes, transports) equals `visor analyze` of that file.
func TestDnstapLive(t *testing.T) {
	lab.Require(t, "fstrm_capture", "dnstap-read")
	bin := lab.Visor(t)
	n, dir := dtNet(t)
	ubSock, twinSock := filepath.Join(dir, "unbound.sock"), filepath.Join(dir, "twin.sock")
	livePath, twinTap := filepath.Join(dir, "live.json"), filepath.Join(dir, "twin.dnstap")
	// visor's socket must exist before unbound starts: unbound retries, but slowly
	vis := n.Start(n.Srv, bin, "live", "--dnstap-socket", ubSock, "--format", "json", "-o", livePath)
	lab.WaitFile(t, ubSock, vis)
	fstrm := n.FstrmCapture(twinSock, twinTap)
	knot := n.StartKnot(dir, dtKnot(filepath.Join(dir, "knot.dnstap")))
	ub := n.StartUnbound(dir, "unbound", dtUnbound(s4u, s6u, ubSock))
	twin := n.StartUnbound(dir, "twin", dtUnbound(s4t, s6t, twinSock))
	n.WaitListen(s4k, knot)
	n.WaitListen(s4u, ub)
	n.WaitListen(s4t, twin)
	time.Sleep(time.Second) // both unbounds connect their dnstap sockets
	for _, pair := range [][]string{{s4u, s6u}, {s4t, s6t}} {
		for _, s := range pair {
			for _, x := range dtNames {
				n.Kdig("@"+s, x[0], x[1])
				n.Kdig("@"+s, "+tcp", x[0], x[1])
			}
			for _, x := range [][]string{{"h1.dt-lab.example", "A"}, {"h2.dt-lab.example", "A"}, {"missing1.dt-lab.example", "A"}, {"h3.dt-lab.example", "AAAA"}} {
				n.Kdig("@"+s, x[0], x[1])
			}
		}
	}
	time.Sleep(time.Second)
	ub.Stop(syscall.SIGTERM)
	twin.Stop(syscall.SIGTERM)
	time.Sleep(500 * time.Millisecond)
	fstrm.Stop(syscall.SIGINT)
	if err := vis.Stop(syscall.SIGINT); err != nil {
		t.Fatalf("visor live on SIGINT: %v, want exit 0\n%s", err, vis.Stderr())
	}
	t.Logf("visor live: %s", vis.Stderr())
	want, err := truth.DnstapRead(twinTap)
	if err != nil {
		t.Fatal(err)
	}
	live := lab.ReadReport(t, livePath)
	in, out := want.Directions()
	type counts struct{ Queries, Responses, In, Out uint64 }
	w := counts{want.Queries, want.Responses, want.Types["CLIENT_QUERY"] + want.Types["CLIENT_RESPONSE"],
		want.Types["RESOLVER_QUERY"] + want.Types["RESOLVER_RESPONSE"]}
	g := counts{live.Summary.DNS.Queries, live.Summary.DNS.Responses, live.Summary.Net.In, live.Summary.Net.Out}
	t.Logf("dnstap-read of the twin's file: %+v (in %d, out %d); visor live: %+v; inputs %+v", w, in, out, g, live.Inputs)
	if w != g {
		t.Errorf("visor live %+v differs from dnstap-read's %+v", g, w)
	}
	if g.Queries == 0 {
		t.Error("visor live saw no queries")
	}
	detail := func(d report.DNS) string {
		b, _ := json.Marshal(map[string]any{"queries": d.Queries, "responses": d.Responses, "udp": d.UDP, "tcp": d.TCP,
			"ipv4": d.IPv4, "ipv6": d.IPv6, "nodata": d.Nodata, "rcodes": d.Rcodes, "qtypes": d.Qtypes})
		return string(b)
	}
	if a, b := detail(lab.Analyze(t, twinTap).Summary.DNS), detail(live.Summary.DNS); a != b {
		t.Errorf("visor live differs from visor analyze of the twin's file:\nlive    %s\nanalyze %s", b, a)
	}
}
