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

// A dnscat2-like tunnel that keeps its labels short (a hex header and a
// few bytes, 18 to 28 hex characters in labels of at most 16: too short
// for the long rule) under its own cat.example, answered, inside ordinary
// traffic:
// found at the cut by the short-label rule, at every bucket size.
func TestTunnelShortLabels(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	var evs traffic
	evs.ordinary(r, t0, 60, 100, "example.com", "example.org") // cat.example is the tunnel's own
	const hex = "0123456789abcdef"
	launch := t0 + 30e9 + 2e8
	total := 0
	for i := 0; i < 300; i++ {
		b := make([]byte, 18+2*r.IntN(6))
		for j := range b {
			b[j] = hex[r.IntN(16)]
		}
		name := string(b[:16]) + "." + string(b[16:]) + ".cat.example"
		total += len(b) + 1
		evs.ask(launch+int64(i)*20e6, addr("198.51.100.60"), addr("198.51.100.1"), name, []uint16{typeTXT, typeTXT, 5, 15}[i%4], 0)
	}
	if mean := float64(total) / 300; mean >= DefaultThresholds().TunLen {
		t.Fatalf("names of %.1f characters on average: the long rule would find them", mean)
	}
	fs := sameAtEveryBucket(t, evs.sorted())
	f := one(t, fs, KindTunneling, "cat.example", launch)
	if n := num(f, "queries"); n != 300 {
		t.Errorf("queries %v, want the tunnel's 300", n)
	}
}

// A random-subdomain attack with TXT queries of short random names fails
// (NXDOMAIN): no tunnel, but random_subdomain.
func TestTunnelShortNotFailing(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	var evs traffic
	evs.ordinary(r, t0, 60, 100, "example.com", "example.org")
	launch := t0 + 30e9 + 2e8
	for i := 0; i < 600; i++ {
		evs.ask(launch+int64(i)*10e6, addr("198.51.100.61"), addr("198.51.100.1"), randLabel(r, 18)+".victim.example", typeTXT, 3)
	}
	fs := sameAtEveryBucket(t, evs.sorted())
	one(t, fs, KindRandomSubdomain, "victim.example", launch)
}
