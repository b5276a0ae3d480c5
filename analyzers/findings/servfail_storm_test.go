package findings

import (
	"math/rand/v2"
	"testing"
)

// An unreachable upstream: 200 SERVFAIL a second for 3 s for 30 names.
func TestServfailStorm(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	var evs traffic
	evs.ordinary(r, t0, 30, 40, "example.com", "example.org")
	launch := t0 + 9e9 + 1e8
	for i := 0; i < 600; i++ {
		evs.ask(launch+int64(i)*5e6, addr("198.51.100.61"), addr("198.51.100.1"), randLabel(r, 3)[:1]+"x.broken.example", 1, 2)
	}
	fs := sameAtEveryBucket(t, evs.sorted())
	f := one(t, fs, KindServfailStorm, "", launch)
	if n := num(f, "servfail"); n != 600 {
		t.Errorf("servfail %v, want 600", n)
	}
}
