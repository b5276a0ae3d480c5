package findings

import (
	"math/rand/v2"
	"testing"
)

// A TXT tunnel with 90-character random names under the delegated subzone
// t.example.test, while example.test carries heavy ordinary traffic: found
// at the cut t.example.test, at every bucket size; no random_subdomain.
func TestTunnelUnderSubzone(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var evs traffic
	evs.ordinary(r, t0, 90, 400, "example.test", "example.com")
	launch := t0 + 20e9 + 7e8
	for i := 0; i < 40*20; i++ {
		name := randLabel(r, 60) + "." + randLabel(r, 30) + ".t.example.test"
		evs.ask(launch+int64(i)*50e6, addr("198.51.100.23"), addr("198.51.100.1"), name, typeTXT, 0)
	}
	fs := sameAtEveryBucket(t, evs.sorted())
	f := one(t, fs, KindTunneling, "t.example.test", launch)
	if n := num(f, "queries"); n != 800 {
		t.Errorf("queries %v, want the tunnel's 800", n)
	}
}

// Long names that repeat under a zone (a CDN's hashed host names asked
// again and again, A queries) are no tunnel.
func TestTunnelNotRepeatedNames(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	hosts := make([]string, 20)
	for i := range hosts {
		hosts[i] = randLabel(r, 40) + ".cdn.example"
	}
	var evs traffic
	for i := 0; i < 3000; i++ {
		evs.ask(t0+int64(i)*20e6, addr("198.51.100.30"), addr("198.51.100.1"), hosts[r.IntN(len(hosts))], 1, 0)
	}
	if fs := detect(t, evs.sorted(), 60e9, 2, nil); len(fs) != 0 {
		t.Errorf("findings %s, want none", kinds(fs))
	}
}
