package findings

import (
	"math/rand/v2"
	"testing"
)

// One address asking ordinary names at 2,500 q/s for 2 s: a query flood.
func TestQueryFlood(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	var evs traffic
	evs.ordinary(r, t0, 30, 40, "example.com", "example.org")
	launch := t0 + 14e9 + 4e8
	for i := 0; i < 5000; i++ {
		evs.ask(launch+int64(i)*4e5, addr("198.51.100.77"), addr("198.51.100.1"), "www.example.com", 1, 0)
	}
	fs := sameAtEveryBucket(t, evs.sorted())
	f := one(t, fs, KindQueryFlood, "198.51.100.77", launch)
	if n := num(f, "queries"); n != 5000 {
		t.Errorf("queries %v, want 5000", n)
	}
}
