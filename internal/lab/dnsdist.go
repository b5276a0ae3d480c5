package lab

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Dnsdist is a dnsdist configuration (testdata/dnsdist.conf.tmpl): DNS on
// Addr port 53, DNS over TLS on 853 and DNS over HTTPS on 443
// (/dns-query), all sent on to Backend port 53.
type Dnsdist struct {
	Addr, Backend string
	Cert, Key     string // PEM files (SelfSigned makes them)
	Dir           string // set by StartDnsdist
}

// StartDnsdist writes d's configuration under dir/dnsdist and starts
// dnsdist in the server namespace; it waits until 853 and 443 listen.
func (n *Net) StartDnsdist(dir string, d Dnsdist) *Proc {
	n.t.Helper()
	Require(n.t, "dnsdist")
	d.Dir = filepath.Join(dir, "dnsdist")
	if err := os.MkdirAll(d.Dir, 0o755); err != nil {
		n.t.Fatal(err)
	}
	conf := filepath.Join(d.Dir, "dnsdist.conf")
	render(n.t, "dnsdist.conf.tmpl", conf, d)
	p := n.Start(n.Srv, "dnsdist", "--supervised", "--disable-syslog", "-C", conf)
	n.WaitTCP(d.Addr, "853", p)
	n.WaitTCP(d.Addr, "443", p)
	return p
}

// WaitTCP waits until something in the server namespace listens on addr
// and TCP port.
func (n *Net) WaitTCP(addr, port string, procs ...*Proc) {
	n.t.Helper()
	if !Poll(10*time.Second, func() bool {
		out, _ := n.Command(n.Srv, "ss", "-Hltn", "src "+bracket(addr)+":"+port).Output()
		return len(out) > 0
	}) {
		n.t.Fatalf("nothing listens on %s TCP port %s%s", addr, port, logs(procs))
	}
}

// SelfSigned writes a self-signed certificate and its key for name (made
// by openssl) under dir and returns their paths.
func SelfSigned(t testing.TB, dir, name string) (cert, key string) {
	t.Helper()
	Require(t, "openssl")
	cert, key = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
		"-keyout", key, "-out", cert, "-subj", "/CN="+name, "-addext", "subjectAltName=DNS:"+name).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	return cert, key
}
