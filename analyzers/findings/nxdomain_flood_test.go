package findings

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// A few names repeated at 500 q/s, all NXDOMAIN: an NXDOMAIN flood (not a
// random-subdomain attack: the names repeat and are not random).
func TestNXDomainFlood(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	var evs traffic
	evs.ordinary(r, t0, 30, 40, "example.com", "example.org")
	launch := t0 + 8e9 + 6e8
	names := []string{"nope.flood.example", "missing.flood.example", "gone.flood.example", "absent.flood.example"}
	for i := 0; i < 1500; i++ {
		evs.ask(launch+int64(i)*2e6, addr("198.51.100.60"), addr("198.51.100.1"), names[i%len(names)], 1, 3)
	}
	fs := sameAtEveryBucket(t, evs.sorted())
	f := one(t, fs, KindNXDomainFlood, "", launch)
	zs, _ := f.Evidence["zones"].([]any)
	if len(zs) == 0 || zs[0].(map[string]any)["name"] != "flood.example" {
		t.Errorf("zones %v, want flood.example first", f.Evidence["zones"])
	}
}

// A busy mail server's blocklist lookups and a log server's PTR lookups,
// 100 a second each and nearly all NXDOMAIN, on a capture with little
// else, are the ordinary answers of address lookups: no nxdomain_flood.
// The same rate of NXDOMAIN for other names is one.
func TestNXDomainFloodAddressLookups(t *testing.T) {
	for _, lookups := range []bool{true, false} {
		r := rand.New(rand.NewPCG(41, 42))
		var evs traffic
		evs.ordinary(r, t0, 60, 5, "example.com")
		for i := 0; i < 3000; i++ {
			ts := t0 + 10e9 + int64(i)*10e6
			a, b, c, d := r.IntN(256), r.IntN(256), r.IntN(256), 1+r.IntN(223)
			switch {
			case !lookups:
				evs.ask(ts, addr("198.51.100.21"), addr("198.51.100.1"), fmt.Sprintf("host-%d.example.net", i%40), 1, 3)
			case i%2 == 0:
				evs.ask(ts, addr("198.51.100.21"), addr("198.51.100.1"), fmt.Sprintf("%d.%d.%d.%d.zen.rbl.example", a, b, c, d), 1, 3)
			default:
				evs.ask(ts, addr("198.51.100.22"), addr("198.51.100.1"), fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa", d, c, b, a), 12, 3)
			}
		}
		fs := detect(t, evs.sorted(), 60e9, 2, nil)
		got := kinds(fs)
		if lookups && len(fs) != 0 {
			t.Errorf("address lookups: findings %s, want none", got)
		}
		if !lookups && !strings.Contains(got, KindNXDomainFlood) {
			t.Errorf("NXDOMAIN for 40 host names: findings %s, want an nxdomain_flood", got)
		}
	}
}

func TestAddrShaped(t *testing.T) {
	for _, c := range []struct {
		sub  string
		want bool
	}{
		{"4.3.2.1", true}, {"255.0.2.192", true}, {"1.0.0.127", true},
		{"b.a.9.8.7.6.5.4.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2", true},
		{"4.3.2", false}, {"256.1.1.1", false}, {"01.2.3.4", false}, {"a.b.c.d", false},
		{"www", false}, {"x7f3k2q9", false}, {"1.2.3.4.5", false}, {"", false},
	} {
		if got := addrShaped([]byte(c.sub)); got != c.want {
			t.Errorf("addrShaped(%q) = %v, want %v", c.sub, got, c.want)
		}
	}
}
