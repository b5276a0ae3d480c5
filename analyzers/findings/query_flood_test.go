package findings

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/visor-dns/visor/report"
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

// spoofed returns n IPv6 addresses in 2001:db8:200::/48, each in a /64 of
// its own (a spoofed flood's sources).
func spoofed(r *rand.Rand, n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		var b [16]byte
		b[0], b[1], b[2], b[3], b[4], b[5] = 0x20, 0x01, 0x0d, 0xb8, 0x02, 0x00
		for j := 6; j < 16; j++ {
			b[j] = byte(r.IntN(256))
		}
		out[i] = netip.AddrFrom16(b)
	}
	return out
}

// Queries for one ordinary name to one server, each from a spoofed source
// of its own: no source and no prefix floods, the server does; over
// ordinary traffic (a rise over its rate), and in a capture of nothing
// but the flood (no ordinary rate to rise above: found by its shape).
func TestQueryFloodToTarget(t *testing.T) {
	for _, c := range []struct {
		name                 string
		ordinary             bool
		n                    int
		launch, every        int64
		srcs, ordQPS, nNames float64 // sources: in the busiest window
	}{
		{"over ordinary traffic", true, 7500, t0 + 17e9 + 3e8, 4e5, 7520, 50, 8}, // the ordinary mix's 8 host names under example.com
		{"nothing but the flood", false, 20000, t0, 5e5, 14000, 2000, 1},         // its first window: 7 s of it
	} {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(21, 22))
			var evs traffic
			if c.ordinary {
				evs.ordinary(r, t0, 40, 50, "example.com", "example.org")
			}
			for i, src := range spoofed(r, c.n) {
				evs.ask(c.launch+int64(i)*c.every, src, addr("2001:db8::53"), "www.example.com", 1, 0)
			}
			f := one(t, sameAtEveryBucket(t, evs.sorted()), KindQueryFlood, "2001:db8::53", c.launch)
			n := float64(c.n)
			if q := num(f, "queries"); q != n {
				t.Errorf("queries %v, want %v", q, n)
			}
			if s := num(f, "sources"); s < c.srcs*0.98 || s > c.srcs*1.02 {
				t.Errorf("sources %v, want %v within the sketch's error", s, c.srcs)
			}
			if s := num(f, "sources_per_query"); s < 0.98 {
				t.Errorf("sources_per_query %v, want about 1", s)
			}
			if q := num(f, "ordinary_qps"); q != c.ordQPS {
				t.Errorf("ordinary_qps %v, want %v", q, c.ordQPS)
			}
			if z, n := f.Evidence["asked_zone"], num(f, "asked_names"); z != "example.com" || n != c.nNames {
				t.Errorf("asked %v names under %v, want %v under example.com", n, z, c.nNames)
			}
			if !strings.Contains(f.Why, "spoofed sources") {
				t.Errorf("why %q does not say spoofed", f.Why)
			}
		})
	}
}

// Not a flood to a target: a server busy at 1,500 q/s from thousands of
// clients all along (no rise over its ordinary rate); a flood from 200
// addresses of one /24 (the prefix's finding, not the target's); and a
// flood to a server that a random-subdomain attack explains.
func TestQueryFloodToTargetNegatives(t *testing.T) {
	srv := addr("2001:db8::53")
	t.Run("busy all along", func(t *testing.T) {
		r := rand.New(rand.NewPCG(23, 24))
		var evs traffic
		srcs := spoofed(r, 3000)
		for i := 0; i < 40*1500; i++ {
			evs.ask(t0+int64(i)*1e9/1500, srcs[r.IntN(len(srcs))], srv, "www.example.com", 1, 0)
		}
		if fs := detect(t, evs.sorted(), 60e9, 1, nil); len(fs) != 0 {
			t.Errorf("findings %s, want none", kinds(fs))
		}
	})
	// Many names over many zones, from thousands of clients: ordinary
	// traffic however busy, stepping up or asked once a client.
	diverse := func(r *rand.Rand, evs *traffic, from int64, secs, qps int, srcs []netip.Addr, oneShot bool, zones int) {
		for i := 0; i < secs*qps; i++ {
			src := srcs[r.IntN(len(srcs))]
			if oneShot {
				src = srcs[i%len(srcs)]
			}
			name := fmt.Sprintf("h%d.zone%d.example", r.IntN(5000), r.IntN(zones))
			evs.ask(from+int64(i)*1e9/int64(qps), src, srv, name, 1, 0)
		}
	}
	for _, c := range []struct {
		name     string
		seed     uint64
		oneShot  bool
		zones    int
		qps      [2]int // for 30 s, then 30 s more (0: none)
		nClients int
	}{
		{"a step up of ordinary traffic", 31, false, 50, [2]int{300, 1500}, 3000},
		{"busy, each client asking once", 33, true, 50, [2]int{1200, 0}, 200000},
		{"one busy zone of many names, stepping up", 35, false, 1, [2]int{300, 1500}, 3000},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(c.seed, c.seed+1))
			var evs traffic
			srcs := spoofed(r, c.nClients)
			for i, qps := range c.qps {
				diverse(r, &evs, t0+int64(i)*30e9, 30, qps, srcs, c.oneShot, c.zones)
			}
			if fs := detect(t, evs.sorted(), 60e9, 1, nil); len(fs) != 0 {
				t.Errorf("findings %s, want none", kinds(fs))
			}
		})
	}
	t.Run("one prefix", func(t *testing.T) {
		r := rand.New(rand.NewPCG(25, 26))
		var evs traffic
		evs.ordinary(r, t0, 40, 50, "example.com")
		launch := t0 + 17e9
		for i := 0; i < 7500; i++ {
			src := netip.AddrFrom4([4]byte{198, 51, 100, byte(i % 200)})
			evs.ask(launch+int64(i)*4e5, src, addr("198.51.100.1"), "www.example.com", 1, 0)
		}
		fs := detect(t, evs.sorted(), 60e9, 1, nil)
		one(t, fs, KindQueryFlood, "198.51.100.0/24", launch)
	})
	t.Run("random subdomain", func(t *testing.T) {
		r := rand.New(rand.NewPCG(27, 28))
		var evs traffic
		evs.ordinary(r, t0, 40, 50, "example.com")
		launch := t0 + 17e9
		for i, src := range spoofed(r, 7500) {
			evs.ask(launch+int64(i)*4e5, src, srv, randLabel(r, 12)+".victim.example", 1, 3)
		}
		fs := detect(t, evs.sorted(), 60e9, 1, nil)
		f := one(t, fs, KindRandomSubdomain, "victim.example", launch)
		if !slices.ContainsFunc(f.Explains, func(e report.Explained) bool {
			return e.Kind == KindQueryFlood && e.Key == "to 2001:db8::53" && e.Count == 7500
		}) {
			t.Errorf("explains %+v, want the query flood to 2001:db8::53", f.Explains)
		}
	})
}
