package findings

import (
	"math/rand/v2"
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
