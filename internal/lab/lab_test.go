package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateAddr(t *testing.T) {
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"198.51.100.10/24", true}, {"2001:db8:100::1/64", true}, {"198.51.100.254/32", true},
		{"10.0.0.1/8", false}, {"192.0.2.1/24", false}, {"2001:db9::1/64", false}, {"198.51.100.1", false},
	} {
		if err := validateAddr(c.addr); (err == nil) != c.ok {
			t.Errorf("%s: %v", c.addr, err)
		}
	}
}

// Every template renders; the zones hold what the scenarios ask for.
func TestTemplates(t *testing.T) {
	dir := t.TempDir()
	render(t, "knot.conf.tmpl", filepath.Join(dir, "knot.conf"), Knot{Dir: dir, Listen: []string{"198.51.100.2", "2001:db8:100::2"},
		Zones: []string{"a.example"}, LogLevel: "info", DnstapSink: "/x/knot.dnstap", DnstapIdentity: "id"})
	render(t, "unbound.conf.tmpl", filepath.Join(dir, "unbound.conf"), Unbound{Dir: dir, Interfaces: []string{"198.51.100.1"},
		Stubs: map[string]string{".": "198.51.100.254"}, LocalZones: map[string]string{"other.example": "refuse"},
		Dnstap: &UnboundDnstap{Socket: "/x/s", Identity: "u"}})
	for file, want := range map[string][]string{
		"knot.conf":    {"listen: [ 198.51.100.2@53, 2001:db8:100::2@53 ]", "global-module: mod-dnstap/tap", "  - domain: a.example"},
		"unbound.conf": {`local-zone: "other.example." refuse`, "    name: \".\"\n    stub-addr: 198.51.100.254", `dnstap-identity: "u"`},
	} {
		b, _ := os.ReadFile(filepath.Join(dir, file))
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q:\n%s", file, w, b)
			}
		}
	}
	zones, _ := templates.ReadDir("testdata/zones")
	for _, z := range zones {
		out := filepath.Join(dir, z.Name())
		render(t, "zones/"+z.Name(), out, nil)
		b, _ := os.ReadFile(out)
		if !strings.HasPrefix(string(b), "$ORIGIN "+strings.TrimSuffix(z.Name(), "zone")) {
			t.Errorf("%s starts %q", z.Name(), b[:min(len(b), 40)])
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "visor-lab.example.zone"))
	if !strings.Contains(string(b), "h20 A 198.51.100.170\n") || strings.Count(string(b), `"visor-lab-big-txt-`) != 16 {
		t.Errorf("visor-lab.example.zone:\n%s", b)
	}
}

func TestRandomNames(t *testing.T) {
	dir := t.TempDir()
	v4, v6 := RandomNames(t, dir, 1, "victim.example", 320, 240, 30, 20)
	if len(v4) != 8 || len(v6) != 4 {
		t.Fatalf("%d v4 files, %d v6 files; want 8, 4", len(v4), len(v6))
	}
	seen := map[string]bool{}
	for _, f := range append(v4, v6...) {
		for _, l := range Lines(t, f) {
			if seen[l] || !strings.HasSuffix(l, ".victim.example A") {
				t.Fatalf("%s: %q repeated or malformed", f, l)
			}
			seen[l] = true
		}
	}
	if len(seen) != 320 {
		t.Errorf("%d names, want 320", len(seen))
	}
	again, _ := RandomNames(t, t.TempDir(), 1, "victim.example", 320, 240, 30, 20)
	if a, b := Lines(t, v4[0]), Lines(t, again[0]); a[0] != b[0] {
		t.Errorf("seed 1 gave %q then %q", a[0], b[0])
	}
}
