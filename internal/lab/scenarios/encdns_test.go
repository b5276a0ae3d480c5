//go:build lab

package scenarios

import (
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visor-dns/visor/internal/lab"
)

// The encrypted-DNS lab's addresses: unbound (DoT server), knotd, dnsdist.
const (
	encUnbound = "198.51.100.1"
	encKnot    = "198.51.100.2"
	encDist    = "198.51.100.3"
	encCli     = "198.51.100.10"
	encCli2    = "198.51.100.11"
	dohName    = "doh.lab.example"
)

// encTraffic is what the encrypted-DNS lab's clients send.
type encTraffic struct {
	dotSessions, dotQueries uint64 // to dnsdist and unbound on 853
	dohSessions, dohQueries uint64 // to dnsdist on 443, SNI doh.lab.example
	otherTLS                uint64 // TLS to 443 with another SNI: not DoH
	clients                 map[string]bool
}

// runEncLab runs knotd, dnsdist (DoT and DoH frontends) and unbound (DoT
// server) and sends kdig +tls and +https queries, captured on the client's
// veth; it returns the capture and what was sent.
func runEncLab(t *testing.T) (string, encTraffic) {
	lab.Require(t, "ip", "knotd", "kdig", "dnsdist", "unbound", "openssl", "tcpdump", "ethtool")
	n := lab.NewNet(t, lab.NetConfig{
		SrvAddrs:  []string{encUnbound + "/24", encKnot + "/24", encDist + "/24"},
		CliAddrs:  []string{encCli + "/24", encCli2 + "/32"},
		V4Only:    true,
		NoOffload: true,
	})
	dir := t.TempDir()
	cert, key := lab.SelfSigned(t, dir, dohName)
	knot := n.StartKnot(dir, lab.Knot{Listen: []string{encKnot}, Zones: labZones})
	n.WaitAnswer(encKnot, "visor-lab.example", "SOA", "hostmaster", knot)
	dist := n.StartDnsdist(dir, lab.Dnsdist{Addr: encDist, Backend: encKnot, Cert: cert, Key: key})
	ub := n.StartUnbound(dir, "unbound", lab.Unbound{
		Verbosity: 1, Interfaces: []string{encUnbound, encUnbound + "@853"}, Outgoing: []string{encUnbound},
		LocalZones: map[string]string{"100.51.198.in-addr.arpa": "nodefault"},
		Stubs:      map[string]string{"visor-lab.example": encKnot, "victim.example": encKnot},
		Extra:      []string{"tls-service-key: " + key, "tls-service-pem: " + cert, "tls-port: 853"},
	})
	n.WaitTCP(encUnbound, "853", ub)
	n.WaitAnswer(encDist, "www.visor-lab.example", "A", "198.51.100.80", dist)
	time.Sleep(time.Second)

	pcap := filepath.Join(dir, "encdns.pcap")
	capt := n.Tcpdump(n.Cli, pcap, "-i", n.CliIf)
	time.Sleep(300 * time.Millisecond)
	tr := encTraffic{clients: map[string]bool{}}
	names := []string{"www.visor-lab.example", "mail.visor-lab.example", "visor-lab.example", "nope.visor-lab.example", "www.victim.example"}
	ok := func(out string) bool { return strings.Contains(out, "->>HEADER<<-") }
	// DoT: one connection per kdig call, one to several questions on it (+keepopen).
	for i, srv := range []string{encDist, encUnbound, encDist, encUnbound} {
		src := []string{encCli, encCli2}[i%2]
		qs := []string{}
		for j := 0; j <= i; j++ {
			qs = append(qs, names[j%len(names)], "A")
		}
		args := append([]string{"-b", src, "+tls", "+keepopen", "@" + srv}, qs...)
		out := n.Kdig(args...)
		if strings.Count(out, "->>HEADER<<-") != i+1 {
			t.Fatalf("kdig %v:\n%s", args, out)
		}
		tr.dotSessions++
		tr.dotQueries += uint64(i + 1)
		tr.clients[src] = true
	}
	// DoH to dnsdist, SNI doh.lab.example.
	for i := 0; i < 3; i++ {
		src := []string{encCli, encCli2}[i%2]
		qs := []string{}
		for j := 0; j <= i; j++ {
			qs = append(qs, names[(j+1)%len(names)], "AAAA")
		}
		args := append([]string{"-b", src, "+https", "+keepopen", "+tls-sni=" + dohName, "@" + encDist}, qs...)
		out := n.Kdig(args...)
		if !ok(out) || strings.Count(out, "->>HEADER<<-") != i+1 {
			t.Fatalf("kdig %v:\n%s", args, out)
		}
		tr.dohSessions++
		tr.dohQueries += uint64(i + 1)
	}
	// TLS to 443 with a name that is no DoH service's: HTTPS, not counted.
	out := n.Kdig("-b", encCli, "+https", "+tls-sni=www.lab.example", "@"+encDist, "www.visor-lab.example")
	if !ok(out) {
		t.Fatalf("kdig +https www.lab.example:\n%s", out)
	}
	tr.otherTLS++
	lab.StopAll(t, capt)
	lab.Keep(t, pcap)
	return pcap, tr
}

// TestEncryptedDNS is the encrypted-DNS lab: kdig +tls (to dnsdist's and
// unbound's DoT servers, one to four queries a connection) and kdig +https
// (to dnsdist's DoH frontend, SNI doh.lab.example, one to three queries a
// connection), and one HTTPS connection with another server name. visor's
// sessions, clients and estimated queries equal what the clients sent; the
// sessions also equal tshark's count of ClientHellos. Without
// doh.lab.example in --doh-sni, nothing is DoH.
func TestEncryptedDNS(t *testing.T) {
	lab.RequirePrograms(t, "tshark")
	lab.Visor(t)
	pcap, tr := runEncLab(t)
	r := lab.Analyze(t, "--doh-sni", "default,"+dohName, pcap)
	e, d := r.Summary.Encrypted, r.Summary.DNS
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"dot.sessions", e.DoT.Sessions, tr.dotSessions},
		{"dot.queries_est", e.DoT.QueriesEst, tr.dotQueries},
		{"dot.cardinality.clients", e.DoT.Cardinality.Clients, 2},
		{"doh.sessions", e.DoH.Sessions, tr.dohSessions},
		{"doh.queries_est", e.DoH.QueriesEst, tr.dohQueries},
		{"doh.cardinality.clients", e.DoH.Cardinality.Clients, 2},
		{"doq.packets", e.DoQ.Packets, 0},
		{"dns.transport.dot", d.Transport["dot"], tr.dotQueries},
		{"dns.transport.doh", d.Transport["doh"], tr.dohQueries},
		{"dns.messages", d.Messages, 0}, // nothing in clear on the client's link
		{"top servers", uint64(len(e.Top.Servers)), 2},
	} {
		if c.got != c.want {
			t.Errorf("%s: visor %d, sent %d", c.name, c.got, c.want)
		}
	}
	// tshark's ClientHellos: to port 853, and with the DoH name on 443
	hellos := func(filter string) uint64 {
		out, err := runOut("tshark", "-r", pcap, "-n", "-Y", "tls.handshake.type == 1 && "+filter)
		if err != nil {
			t.Fatalf("tshark: %v\n%s", err, out)
		}
		return uint64(strings.Count(out, "\n"))
	}
	if n := hellos("tcp.dstport == 853"); n != e.DoT.Sessions {
		t.Errorf("dot.sessions %d, tshark's ClientHellos to 853: %d", e.DoT.Sessions, n)
	}
	if n := hellos(`tls.handshake.extensions_server_name == "` + dohName + `"`); n != e.DoH.Sessions {
		t.Errorf("doh.sessions %d, tshark's ClientHellos naming %s: %d", e.DoH.Sessions, dohName, n)
	}
	if n := hellos("tcp.dstport == 443"); n != tr.dohSessions+tr.otherTLS {
		t.Errorf("tshark sees %d ClientHellos to 443, the clients made %d", n, tr.dohSessions+tr.otherTLS)
	}
	if r2 := lab.Analyze(t, pcap); r2.Summary.Encrypted.DoH.Sessions != 0 || r2.Summary.Encrypted.DoT.Sessions != tr.dotSessions {
		t.Errorf("with the default DoH names: %+v", r2.Summary.Encrypted)
	}
	t.Logf("sent %+v; visor %+v", tr, e)
}

// runOut runs a program and returns its standard output.
func runOut(name string, args ...string) (string, error) {
	b, err := osexec.Command(name, args...).Output()
	return string(b), err
}
