package lab

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"
)

//go:embed testdata/*.tmpl testdata/zones/*.zone
var templates embed.FS

var funcs = template.FuncMap{
	"seq": func(a, b int) []int {
		var s []int
		for i := a; i <= b; i++ {
			s = append(s, i)
		}
		return s
	},
	"add": func(a, b int) int { return a + b },
	// pad repeats fill after s up to n bytes, cut at n.
	"pad": func(s, fill string, n int) string {
		for len(s) < n {
			s += fill
		}
		return s[:n]
	},
}

// render executes the template file name (under testdata/) with data into path.
func render(t testing.TB, name, path string, data any) {
	t.Helper()
	tmpl, err := template.New(filepath.Base(name)).Funcs(funcs).ParseFS(templates, "testdata/"+name)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Knot is a knotd configuration (testdata/knot.conf.tmpl). Zones are names
// of testdata/zones/NAME.zone.
type Knot struct {
	Listen []string
	Zones  []string
	// ZoneFiles names, for a zone of Zones, the template under
	// testdata/zones/ it is made from (default NAME.zone): many zones can
	// share one file (templates see the zone's name as .Zone).
	ZoneFiles      map[string]string
	UDPMaxPayload  int    // 0: knotd's default (1232)
	LogLevel       string // default info
	DnstapSink     string // a file: knot-module-dnstap logs every query and response to it
	DnstapIdentity string
	Dir            string // set by StartKnot

	// Signed names the zones knotd signs itself (dnssec-signing: on, its
	// default policy: ECDSA P-256, NSEC), keys made at its start.
	Signed map[string]bool
}

// StartKnot writes k's configuration and zones under dir/knot and starts
// knotd in the server namespace. It does not wait for it to answer.
func (n *Net) StartKnot(dir string, k Knot) *Proc {
	n.t.Helper()
	Require(n.t, "knotd")
	if k.DnstapSink != "" {
		if m, _ := filepath.Glob("/usr/lib/*/knot/modules-*/dnstap.so"); len(m) == 0 {
			n.t.Skip("the lab needs knot-module-dnstap (scripts/deps.sh installs it)")
		}
	}
	k.Dir = filepath.Join(dir, "knot")
	if k.LogLevel == "" {
		k.LogLevel = "info"
	}
	for _, d := range []string{k.Dir, filepath.Join(k.Dir, "db"), filepath.Join(k.Dir, "run")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			n.t.Fatal(err)
		}
	}
	for _, z := range k.Zones {
		src := z + ".zone"
		if f, ok := k.ZoneFiles[z]; ok {
			src = f
		}
		render(n.t, "zones/"+src, filepath.Join(k.Dir, z+".zone"), struct{ Zone string }{z})
	}
	render(n.t, "knot.conf.tmpl", filepath.Join(k.Dir, "knot.conf"), k)
	return n.Start(n.Srv, "knotd", "-c", filepath.Join(k.Dir, "knot.conf"))
}

// Unbound is an unbound configuration (testdata/unbound.conf.tmpl).
type Unbound struct {
	Interfaces []string
	Outgoing   []string
	MaxUDPSize int
	LocalZones map[string]string // zone name: local-zone type
	Stubs      map[string]string // zone name: the address it is asked of
	Dnstap     *UnboundDnstap
	Verbosity  int
	Extra      []string // more server: lines
	Dir        string   // set by StartUnbound
}

// UnboundDnstap has unbound log CLIENT_* and RESOLVER_* messages to Socket
// (unbound writes dnstap only to a socket: fstrm_capture or visor listens).
type UnboundDnstap struct{ Socket, Identity string }

// StartUnbound writes u's configuration under dir/NAME and starts unbound
// in the server namespace. It does not wait for it to answer.
func (n *Net) StartUnbound(dir, name string, u Unbound) *Proc {
	n.t.Helper()
	Require(n.t, "unbound")
	u.Dir = filepath.Join(dir, name)
	if err := os.MkdirAll(u.Dir, 0o755); err != nil {
		n.t.Fatal(err)
	}
	render(n.t, "unbound.conf.tmpl", filepath.Join(u.Dir, "unbound.conf"), u)
	return n.Start(n.Srv, "unbound", "-d", "-c", filepath.Join(u.Dir, "unbound.conf"))
}

// WaitListen waits until something in the server namespace listens on addr
// port 53 over UDP and TCP; no query is sent.
func (n *Net) WaitListen(addr string, procs ...*Proc) {
	n.t.Helper()
	if !Poll(10*time.Second, func() bool {
		u, _ := n.Command(n.Srv, "ss", "-Hlun", "src "+bracket(addr)+":53").Output()
		tc, _ := n.Command(n.Srv, "ss", "-Hltn", "src "+bracket(addr)+":53").Output()
		return len(u) > 0 && len(tc) > 0
	}) {
		n.t.Fatalf("nothing listens on %s port 53%s", addr, logs(procs))
	}
}

// WaitAnswer waits until `kdig @server qname qtype` from the client
// namespace prints want.
func (n *Net) WaitAnswer(server, qname, qtype, want string, procs ...*Proc) {
	n.t.Helper()
	if !Poll(10*time.Second, func() bool {
		out, _ := n.Command(n.Cli, "kdig", "+retry=0", "+timeout=1", "+short", "@"+server, qname, qtype).Output()
		return strings.Contains(string(out), want)
	}) {
		n.t.Fatalf("%s did not answer %s %s with %s%s", server, qname, qtype, want, logs(procs))
	}
}

func bracket(a string) string {
	if strings.Contains(a, ":") {
		return "[" + a + "]"
	}
	return a
}

func logs(procs []*Proc) string {
	var b strings.Builder
	for _, p := range procs {
		fmt.Fprintf(&b, "\n%s: %s", p.Name, p.Stderr())
	}
	return b.String()
}
