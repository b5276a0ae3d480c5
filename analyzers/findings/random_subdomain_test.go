package findings

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// A botnet of 31 sources replays ONE shared list of 3,000 random labels
// (each name asked ~30 times, 77 % NXDOMAIN) inside ordinary traffic: one
// random_subdomain finding on the zone, which explains the NXDOMAIN flood
// and the query flood of the sources' /24, the same at every bucket size.
func TestRandomSubdomainSharedList(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var evs traffic
	evs.ordinary(r, t0, 120, 50, "example.com", "example.org", "shop.example")
	list := make([]string, 3000)
	for i := range list {
		list[i] = randLabel(r, 8+r.IntN(8)) + ".victim.example"
	}
	launch := t0 + 40e9 + 3e8
	srv := addr("198.51.100.2")
	for b := 0; b < 31; b++ {
		src := addr("198.51.100.1").Next()
		for range b + 10 {
			src = src.Next()
		}
		// each bot reads the list from the top, 30 names a second, 3000 names in 100 s... 30 rounds would be long:
		// it replays a random tenth of the list 30 times over 60 s.
		off := r.IntN(len(list))
		for q := 0; q < 3000; q++ {
			ts := launch + int64(q)*60e9/3000 + int64(b)*1e6
			name := list[(off+q%300)%len(list)]
			rc := uint8(3)
			if r.IntN(100) >= 77 {
				rc = 0
			}
			evs.ask(ts, src, srv, name, 1, rc)
		}
	}
	fs := sameAtEveryBucket(t, evs.sorted())
	f := one(t, fs, KindRandomSubdomain, "victim.example", launch)
	if n := num(f, "distinct_per_query"); n > 0.2 {
		t.Errorf("distinct_per_query %v: the test should replay its names", n)
	}
	if f.Confidence < 0.5 || f.Why == "" || len(f.Next) == 0 {
		t.Errorf("confidence %v, why %q, next %v", f.Confidence, f.Why, f.Next)
	}
	if len(f.Explains) == 0 {
		t.Errorf("explains nothing; want the NXDOMAIN flood at least")
	}
}

// 3 random names a second under slow.example for ten minutes, inside 200
// ordinary queries a second (some of them under slow.example too): found
// over the capture as low and slow, with its confidence; no window alone
// shows it.
func TestRandomSubdomainLowAndSlow(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var evs traffic
	evs.ordinary(r, t0, 660, 200, "example.com", "example.org", "slow.example", "a.example", "b.example")
	launch := t0 + 30e9 + 5e8
	for i := 0; i < 1800; i++ {
		evs.ask(launch+int64(i)*1e9/3, addr("198.51.100.88"), addr("198.51.100.1"), randLabel(r, 8+r.IntN(6))+".slow.example", 1, 3)
	}
	fs := detect(t, evs.sorted(), 60e9, 2, nil)
	f := one(t, fs, KindRandomSubdomain, "slow.example", launch)
	if f.Evidence["pace"] != "low_and_slow" || f.Confidence < 0.8 {
		t.Errorf("pace %v confidence %v, want low_and_slow and at least 0.8", f.Evidence["pace"], f.Confidence)
	}
	if e := int64(f.End) - (launch + 600e9); e < -2e9 || e > 2e9 {
		t.Errorf("end %s, want the last random name's time", f.End)
	}
}

// A crawler resolving thousands of real-looking names across many zones is
// no attack.
func TestRandomSubdomainCrawler(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	words := []string{"alpha", "bravo", "delta", "echo", "garden", "harbor", "island", "jungle", "kitchen", "lemon", "market",
		"north", "ocean", "paper", "river", "silver", "tiger", "union", "valley", "winter", "yellow", "zebra", "store", "blog"}
	var evs traffic
	for i := 0; i < 20000; i++ {
		name := words[r.IntN(len(words))] + words[r.IntN(len(words))] + "." + words[r.IntN(len(words))] + "-site.example"
		rc := uint8(0)
		if r.IntN(10) == 0 {
			rc = 3
		}
		evs.ask(t0+int64(i)*30e6, addr("198.51.100.50"), addr("198.51.100.1"), name, 1, rc)
	}
	if fs := detect(t, evs.sorted(), 60e9, 2, nil); len(fs) != 0 {
		t.Errorf("findings %s, want none", kinds(fs))
	}
}

func TestRandomLooking(t *testing.T) {
	for _, l := range []string{"www", "mail", "download", "mailserver", "static", "images", "clients6", "cdn77", "accounts", "login"} {
		if randomLooking([]byte(l)) {
			t.Errorf("%q looks random", l)
		}
	}
	r := rand.New(rand.NewPCG(7, 8))
	n := 0
	for range 1000 {
		if randomLooking([]byte(randLabel(r, 8+r.IntN(8)))) {
			n++
		}
	}
	if n < 700 {
		t.Errorf("%d of 1000 random labels look random, want at least 700", n)
	}
}

func TestCutOffset(t *testing.T) {
	for _, tc := range []struct{ name, zone, cut string }{
		{"abc123.victim.example", "victim.example", "victim.example"},
		{"www.example.com", "example.com", "example.com"},
		{"x7f3k2q9.www.victim.example", "victim.example", "www.victim.example"},
		{"k3j4h5g6.x.y.example.test", "example.test", "x.y.example.test"},
		{"nixypqol7qji4gtcs25r4al6asgnost32kuk3dv2t7cqgwsyqqjm.qvlrir6wers64hjxk6r56uneka43qghb3tsefq2jcni6urv7qh5o.1f.t.tunnel.example", "tunnel.example", "t.tunnel.example"},
		{"a.t.example.test", "example.test", "t.example.test"},
		{"x7f3k2q9.p0d8s1.victim.example", "victim.example", "victim.example"},
		{"80.100.51.198.in-addr.arpa", "198.in-addr.arpa", "198.in-addr.arpa"},
	} {
		name := []byte(tc.name)
		off := cutOffset(name[:len(name)-len(tc.zone)-1])
		if got := string(name[min(off, len(name)-len(tc.zone)):]); got != tc.cut {
			t.Errorf("cut of %s = %q, want %q", tc.name, got, tc.cut)
		}
	}
}

func TestNameSampleMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	var whole, a, b nameSample
	for i := range 5000 {
		h := r.Uint64()
		sub := []byte(randLabel(r, 10))
		whole.insert(h, int64(i), sub)
		if i%2 == 0 {
			a.insert(h, int64(i), sub)
		} else {
			b.insert(h, int64(i), sub)
		}
	}
	a.merge(&b)
	if a != whole {
		t.Errorf("merged halves differ from the whole")
	}
}

// dictWords are the words of TestRandomSubdomainWords' names.
var dictWords = []string{"blue", "horse", "cloud", "apple", "car", "river", "stone", "green", "tiger", "happy", "silver",
	"market", "orange", "window", "garden", "rocket", "winter", "summer", "paper", "light", "dragon", "forest"}

// A random-subdomain attack whose names are made of words (bluehorse-42,
// cloudapplecar: a dictionary DGA, few of them machine-made by their
// characters) from 30 sources, all NXDOMAIN, inside ordinary traffic:
// one random_subdomain finding on the zone (the words rule), which
// explains the NXDOMAIN flood, the same at every bucket size.
func TestRandomSubdomainWords(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	var evs traffic
	evs.ordinary(r, t0, 60, 100, "example.com", "example.org")
	w := func() string { return dictWords[r.IntN(len(dictWords))] }
	launch := t0 + 20e9 + 4e8
	randomish := 0
	for i := 0; i < 1200; i++ {
		var name string
		switch i % 3 {
		case 0:
			name = w() + w()
		case 1:
			name = w() + w() + w()
		default:
			name = fmt.Sprintf("%s%s-%d", w(), w(), r.IntN(100))
		}
		if randomLooking([]byte(name)) {
			randomish++
		}
		src := netip.AddrFrom4([4]byte{198, 51, 100, byte(101 + i%30)})
		evs.ask(launch+int64(i)*5e6, src, addr("198.51.100.1"), name+".victim.example", 1, 3)
	}
	if randomish > 1200/5 {
		t.Fatalf("%d of 1200 word names look machine-made: the test is not about words", randomish)
	}
	fs := sameAtEveryBucket(t, evs.sorted())
	f := one(t, fs, KindRandomSubdomain, "victim.example", launch)
	if f.Confidence <= 0.5 || f.Confidence > 0.8 || !strings.Contains(f.Why, "words") {
		t.Errorf("confidence %v, why %q: want at most 0.8 and the words rule named", f.Confidence, f.Why)
	}
	if len(f.Explains) == 0 {
		t.Errorf("explains nothing; want the NXDOMAIN flood")
	}
}

// A mail server's blocklist lookups (reversed addresses under two lists,
// many distinct names, nearly all NXDOMAIN) and a PTR sweep of a /24 are
// no random-subdomain attack: their labels are short digits.
func TestRandomSubdomainDNSBLAndPTR(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	var evs traffic
	evs.ordinary(r, t0, 60, 100, "example.com", "example.org")
	for i := 0; i < 1200; i++ {
		ip := fmt.Sprintf("%d.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256), 1+r.IntN(223))
		rc := uint8(3)
		if i%50 == 0 {
			rc = 0
		}
		evs.ask(t0+int64(i)*50e6, addr("198.51.100.21"), addr("198.51.100.1"), ip+[]string{".bl.example", ".zen.rbl.example"}[i%2], 1, rc)
	}
	for i := 0; i < 256; i++ {
		evs.ask(t0+20e9+int64(i)*100e6, addr("198.51.100.22"), addr("198.51.100.1"), fmt.Sprintf("%d.100.51.198.in-addr.arpa", i), 12, 3)
	}
	if fs := detect(t, evs.sorted(), 60e9, 2, nil); len(fs) != 0 {
		t.Errorf("findings %s, want none", kinds(fs))
	}
}

// A random-subdomain attack launched late in a detection window on a zone
// that also has ordinary traffic all along (a tenth of the attack's rate
// up to half of it, and up to five times it: then its failed answers
// tell): its start is the launch, not the window's
// beginning, at every bucket size.
func TestRandomSubdomainStartOverOrdinary(t *testing.T) {
	for _, qps := range []int{30, 150, 600, 1500} {
		r := rand.New(rand.NewPCG(31, uint64(qps)))
		var evs traffic
		evs.ordinary(r, t0, 90, qps, "example.com", "victim.example", "example.org")
		launch := t0 + 45e9 + 5e8 // 8.5 s into a window
		for i := 0; i < 3000; i++ {
			src := netip.AddrFrom4([4]byte{198, 51, 100, byte(101 + i%30)})
			evs.ask(launch+int64(i)*10e6, src, addr("198.51.100.1"), randLabel(r, 12)+".victim.example", 1, 3)
		}
		fs := sameAtEveryBucket(t, evs.sorted())
		f := one(t, fs, KindRandomSubdomain, "victim.example", launch)
		if pq := num(f, "peak_qps"); pq < 100 {
			t.Errorf("%d q/s of ordinary traffic: peak_qps %v, want the attack's and the ordinary queries under the cut", qps, pq)
		}
	}
}
