package findings

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// prunable is attacks() with more to leave out and to keep: busy ordinary
// traffic from many clients, PTR lookups that fail (their NXDOMAIN is
// ordinary), machine-made names now and then (the baseline), a low-and-slow random-subdomain attack of a few names a window
// (kept by its sample alone), a flood from one /24 and a flood to one
// server from spoofed sources.
func prunable() traffic {
	r := rand.New(rand.NewPCG(31, 32))
	evs := attacks()
	srv := addr("198.51.100.1")
	for i := 0; i < 180*30; i++ {
		c := netip.AddrFrom4([4]byte{192, 0, 2, byte(r.IntN(250))})
		name := randLabel(r, 4) + ".zone" + randLabel(r, 1) + ".example"
		evs.ask(t0+int64(i)*1e9/30, c, srv, name, 1, 0)
	}
	for i := 0; i < 180*5; i++ {
		c := netip.AddrFrom4([4]byte{192, 0, 2, byte(r.IntN(250))})
		ptr := fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa", r.IntN(256), r.IntN(256), r.IntN(256), 1+r.IntN(200))
		evs.ask(t0+int64(i)*1e9/5+3e5, c, srv, ptr, 12, 3)
	}
	for i := 0; i < 180/5; i++ {
		c := netip.AddrFrom4([4]byte{192, 0, 2, byte(r.IntN(250))})
		evs.ask(t0+int64(i)*5e9+7e5, c, srv, randLabel(r, 12)+".slow.example", 1, 3)
		evs.ask(t0+int64(i)*5e9+9e5, c, srv, "d"+randLabel(r, 14)+".cdn"+randLabel(r, 1)+".example", 1, 0)
	}
	for i := 0; i < 3000; i++ {
		c := netip.AddrFrom4([4]byte{198, 51, 100, byte(200 + i%40)})
		evs.ask(t0+150e9+int64(i)*1e9/1500, c, addr("198.51.100.3"), "www.example.com", 1, 0)
	}
	for i, src := range spoofed(r, 6000) {
		evs.ask(t0+160e9+int64(i)*1e9/2000, src, addr("198.51.100.4"), "www.shop.example", 1, 0)
	}
	return evs.sorted()
}

// A bucket's state written pruned (as a summary writes its buckets but the
// first and last) and read back judges as the whole state does: the same
// findings, evidence and all, at bucket widths that hold whole windows
// (pruned) and that do not (written whole); and it is smaller.
func TestStatePrunedFindings(t *testing.T) {
	evs := prunable()
	th := DefaultThresholds()
	th.RSSlowNames = 30 // the slow attack's 36 names, 2 a window
	want := detect(t, evs, 60e9, 1, &th)
	wj, _ := json.Marshal(want)
	if got, w := kinds(want), "[random_subdomain(victim.example) random_subdomain(slow.example) nxdomain_flood() tcp_syn_flood(198.51.100.2) query_flood(198.51.100.0/24) query_flood(198.51.100.4)]"; got != w {
		t.Fatalf("findings %s, want %s", got, w)
	}
	for _, width := range []int64{10e9, 60e9, 7e9} {
		d := NewDetector(&th)
		var whole, pruned int
		observe(t, evs, width, 3, func(start int64, states []*State) {
			acc := NewState()
			for _, s := range states {
				acc.Merge(s)
			}
			whole += len(marshal(t, acc))
			back, n := throughPruned(t, acc, &Prune{T: th, Start: start, End: start + width})
			pruned += n
			d.AddBucket(start, start+width, back, nil)
		})
		if gj, _ := json.Marshal(d.Findings()); string(gj) != string(wj) {
			t.Errorf("bucket %d s pruned:\n%s\nwant:\n%s", width/1e9, gj, wj)
		}
		if width%(winSec*1e9) != 0 && pruned != whole {
			t.Errorf("bucket %d s holds no whole window: pruned %d bytes, not the whole %d", width/1e9, pruned, whole)
		}
		t.Logf("bucket %d s: %d bytes pruned of %d", width/1e9, pruned, whole)
	}
}

// Ordinary traffic, pruned, keeps little: the busiest cut, address and
// prefix of each window and the evidence's top lists, not its hundreds of
// quiet entries; what they added to the baseline stays as sums.
func TestStatePrunedSize(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	var evs traffic
	srv := addr("198.51.100.1")
	for i := 0; i < 120*40; i++ {
		c := netip.AddrFrom4([4]byte{192, 0, 2, byte(r.IntN(250))})
		evs.ask(t0+int64(i)*1e9/40, c, srv, randLabel(r, 4)+".zone"+randLabel(r, 2)+".example", 1, 0)
	}
	evs = evs.sorted()
	var whole, pruned, zones, kept, base int
	observe(t, evs, 60e9, 1, func(start int64, states []*State) {
		whole += len(marshal(t, states[0]))
		back, n := throughPruned(t, states[0], &Prune{T: DefaultThresholds(), Start: start, End: start + 60e9})
		pruned += n
		for _, w := range states[0].wins {
			if w.idx*winSec*1e9 >= start && (w.idx+1)*winSec*1e9 <= start+60e9 {
				zones += len(w.zones)
			}
		}
		for _, w := range back.wins {
			kept += len(w.zones)
		}
		for _, b := range back.base.m {
			base += int(b.n)
		}
	})
	t.Logf("%d bytes pruned of %d; %d zone cuts of %d, %d sampled names in the baseline sums", pruned, whole, kept, zones, base)
	if 4*pruned > whole || kept > zones/10 || base == 0 {
		t.Errorf("pruned %d bytes of %d, kept %d zone cuts of %d, baseline sums of %d names", pruned, whole, kept, zones, base)
	}
}

// throughPruned writes s as p says and reads it back; it returns the state
// read and the bytes written.
func throughPruned(t *testing.T, s *State, p *Prune) (*State, int) {
	t.Helper()
	b, err := s.AppendPruned(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	back := NewState()
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	return back, len(b)
}
