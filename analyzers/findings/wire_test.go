package findings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/decode"
	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/sketch"
)

// attacks is ordinary traffic with a random-subdomain botnet, an NXDOMAIN
// flood and a SYN flood in it, over 3 minutes.
func attacks() traffic {
	r := rand.New(rand.NewPCG(21, 22))
	var evs traffic
	evs.ordinary(r, t0, 180, 40, "example.com", "example.org", "shop.example")
	srv := addr("198.51.100.2")
	for b := 0; b < 20; b++ {
		src := netip.AddrFrom4([4]byte{198, 51, 100, byte(150 + b)})
		for q := 0; q < 600; q++ {
			ts := t0 + 30e9 + int64(q)*40e9/600 + int64(b)*1e6
			evs.ask(ts, src, srv, randLabel(r, 10)+".victim.example", 1, 3)
		}
	}
	names := []string{"nope.flood.example", "missing.flood.example", "gone.flood.example"}
	for i := 0; i < 1500; i++ {
		evs.ask(t0+95e9+int64(i)*2e6, addr("198.51.100.60"), addr("198.51.100.1"), names[i%len(names)], 1, 3)
	}
	for i := 0; i < 3000; i++ {
		ts := t0 + 130e9 + int64(i)*1e9/600
		c := netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)})
		evs.segment(ts, c, srv, synF)
		evs.segment(ts+1e5, srv, c, synF|ackF)
	}
	return evs.sorted()
}

// observe runs evs into one state per shard per bucket of width ns and
// calls fn with each bucket's states.
func observe(tb testing.TB, evs traffic, width int64, shards int, fn func(start int64, states []*State)) {
	tb.Helper()
	var v decode.DNS
	bucket := floorDiv(evs[0].ts, width) * width
	var states []*State
	fresh := func() {
		states = make([]*State, shards)
		for i := range states {
			states[i] = NewState()
		}
	}
	fresh()
	for i := range evs {
		e := &evs[i]
		for e.ts >= bucket+width {
			fn(bucket, states)
			fresh()
			bucket += width
		}
		lo, hi := e.src, e.dst
		if hi.Less(lo) {
			lo, hi = hi, lo
		}
		s := states[int(sketch.Hash([]byte(lo.String()+hi.String()))%uint64(shards))]
		if e.name == "" {
			f := visor.Frame{TS: e.ts, Src: e.src, Dst: e.dst, IPVersion: 4, Proto: visor.TransportTCP, TCPFlags: e.flags}
			s.ObserveFrame(&f, visor.DirUnknown)
			continue
		}
		b := wire(e)
		if !decode.ParseDNS(b, &v) {
			tb.Fatalf("cannot parse %q", e.name)
		}
		m := visor.Message{TS: e.ts, IPVersion: 4, Transport: visor.TransportUDP, Src: e.src, Dst: e.dst, WireLen: len(b), Data: b}
		s.ObserveDNS(&m, &v, sketch.Hash(v.QName()), visor.DirUnknown)
	}
	fn(bucket, states)
}

func marshal(tb testing.TB, s *State) []byte {
	tb.Helper()
	b, err := s.AppendBinary(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Each shard's state written and read back, the decoded states merged in
// reverse order, then the merge written and read back again: the same
// findings as the states merged in memory, at every bucket width.
func TestStateWireFindings(t *testing.T) {
	evs := attacks()
	want := detect(t, evs, 60e9, 1, nil)
	wj, _ := json.Marshal(want)
	if len(want) < 3 {
		t.Fatalf("findings %s: the traffic should show 3 attacks", kinds(want))
	}
	for _, width := range []int64{1e9, 7e9, 60e9} {
		d := NewDetector(nil)
		observe(t, evs, width, 3, func(start int64, states []*State) {
			acc := NewState()
			for _, s := range slices.Backward(states) {
				b := marshal(t, s)
				back := NewState()
				if err := back.UnmarshalBinary(b); err != nil {
					t.Fatal(err)
				}
				// (The exact hashes of a small sketch may come out in
				// another order: same set, same length.)
				if again := marshal(t, back); len(again) != len(b) {
					t.Fatalf("bucket %d: a state read back writes %d bytes, not the %d it was read from", start, len(again), len(b))
				}
				acc.Merge(back)
			}
			b := marshal(t, acc)
			back := NewState()
			if err := back.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			d.AddBucket(start, start+width, back, nil)
		})
		if gj, _ := json.Marshal(d.Findings()); string(gj) != string(wj) {
			t.Errorf("bucket %d s through the wire:\n%s\nwant:\n%s", width/1e9, gj, wj)
		}
	}
}

func TestStateWireEmpty(t *testing.T) {
	s := NewState()
	if b := marshal(t, s); len(b) != 0 {
		t.Errorf("an empty state writes %d bytes", len(b))
	}
	if err := s.UnmarshalBinary(nil); err != nil || len(s.wins) != 0 {
		t.Errorf("empty bytes: %v, %d windows", err, len(s.wins))
	}
}

// Hostile bytes: each is refused with ErrCorrupt.
func TestStateWireRefuses(t *testing.T) {
	var one []byte
	observe(t, attacks()[:2000], 60e9, 1, func(_ int64, ss []*State) {
		if one == nil {
			one = marshal(t, ss[0])
		}
	})
	win := func(fields ...[]byte) []byte {
		return sketch.AppendMessage(nil, 1, func(b []byte) []byte { return append(b, bytes.Join(fields, nil)...) })
	}
	zone := func(fields ...[]byte) []byte {
		return sketch.AppendMessage(nil, 10, func(b []byte) []byte { return append(b, bytes.Join(fields, nil)...) })
	}
	name := sketch.AppendBytes(nil, 1, []byte("a.example"))
	cases := map[string][]byte{
		"truncated":          one[:len(one)-3],
		"window twice":       append(win(), win()...),
		"index out of range": win(sketch.AppendUint(nil, 1, 1<<62)),
		"first after last":   win(sketch.AppendUint(nil, 2, 5), sketch.AppendUint(nil, 3, 4)),
		"short series":       win(sketch.AppendPackedUints(nil, 5, []uint64{1, 2})),
		"sparse unordered":   win(sketch.AppendPackedUints(nil, 5, []uint64{1<<4 | 3, 1<<4 | 2})),
		"sparse second 10":   win(sketch.AppendPackedUints(nil, 5, []uint64{1<<4 | 10})),
		"series over 32 bit": win(sketch.AppendPackedUints(nil, 5, []uint64{1 << 33, 0, 0, 0, 0, 0, 0, 0, 0, 0})),
		"zone without name":  win(zone()),
		"zone twice":         win(zone(name), zone(name)),
		"sample unordered": win(zone(name, sketch.AppendBytes(nil, 5, []byte{2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}),
			sketch.AppendPackedUints(nil, 6, []uint64{1, 1}), sketch.AppendPackedUints(nil, 7, []uint64{0, 0}))),
		"sample without times": win(zone(name, sketch.AppendBytes(nil, 5, []byte{1, 0, 0, 0, 0, 0, 0, 0}))),
		"top without counts":   win(zone(name, sketch.AppendBytes(nil, 8, []byte{1, 2, 3, 4}))),
		"bad address":          win(sketch.AppendMessage(nil, 11, func(b []byte) []byte { return sketch.AppendBytes(b, 1, []byte{1, 2, 3}) })),
		"prefix host bits": win(sketch.AppendMessage(nil, 12, func(b []byte) []byte {
			return sketch.AppendUint(sketch.AppendBytes(b, 1, []byte{198, 51, 100, 7}), 2, 24)
		})),
		"bad cardinality": win(sketch.AppendBytes(nil, 9, []byte{8, 3})),
	}
	for what, b := range cases {
		t.Run(what, func(t *testing.T) {
			s := NewState()
			if err := s.UnmarshalBinary(b); !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v, want ErrCorrupt", err)
			}
		})
	}
}

func FuzzStateWire(f *testing.F) {
	observe(f, attacks()[:4000], 10e9, 2, func(_ int64, ss []*State) {
		for _, s := range ss {
			f.Add(marshal(f, s))
		}
	})
	// Pruned (format version 4: baseline sums, lookup NXDOMAIN).
	observe(f, prunable()[:6000], 20e9, 1, func(start int64, ss []*State) {
		b, err := ss[0].AppendPruned(nil, &Prune{T: DefaultThresholds(), Start: start, End: start + 20e9})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := NewState()
		if err := s.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		// What reads back merges, writes the same and is judged without a panic.
		again := marshal(t, s)
		back := NewState()
		if err := back.UnmarshalBinary(again); err != nil {
			t.Fatalf("written back, refused: %v", err)
		}
		m := NewState()
		m.Merge(s)
		m.Merge(back)
		d := NewDetector(nil)
		d.AddBucket(t0, t0+60e9, m, &report.Section{})
		d.Findings()
	})
}

// A set that counts exactly and holds what a reader knows from the same
// message (the name sample, the top sources, the address table's query
// sources) is written as what it holds besides that; a larger one whole.
// Either way it reads back the same.
func TestStateWireSetsBesidesKnown(t *testing.T) {
	var evs traffic
	srv := addr("2001:db8::53")
	src := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}) }
	for i := 0; i < 5; i++ { // 5 names (and www below): all in the sample
		evs.ask(t0+int64(i)*1e6, src(i%3), srv, fmt.Sprintf("h%d.small.example", i), 1, 0)
	}
	for i := 0; i < 2; i++ { // 2 names, 2 sources: all known, no set written
		evs.ask(t0+5e8+int64(i)*1e6, src(50+i), srv, fmt.Sprintf("h%d.tiny.example", i), 1, 0)
	}
	for i := 0; i < 100; i++ { // 100 names, 100 sources: besides the known
		evs.ask(t0+1e9+int64(i)*1e6, src(100+i), srv, fmt.Sprintf("h%d.big.example", i), 1, 0)
	}
	for i := 0; i < 1500; i++ { // past the exact count: whole
		evs.ask(t0+2e9+int64(i)*1e6, src(i%3), srv, fmt.Sprintf("h%d.huge.example", i), 1, 0)
	}
	for i := 0; i < 300; i++ { // 300 more sources: the address table (256) overflows
		evs.ask(t0+5e9+int64(i)*1e6, src(1000+i), srv, "www.small.example", 1, 0)
	}
	var s *State
	observe(t, evs.sorted(), 10e9, 1, func(_ int64, ss []*State) { s = ss[0] })
	b := marshal(t, s)
	back := NewState()
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	w, wb := s.wins[0], back.wins[0]
	// The fields each set was written in.
	got := map[string][]protowire.Number{}
	note := func(key string, b []byte, nums ...protowire.Number) {
		sketch.Fields(b, func(num protowire.Number, _ protowire.Type, _ uint64, _ []byte) error {
			if slices.Contains(nums, num) {
				got[key] = append(got[key], num)
			}
			return nil
		})
	}
	sketch.Fields(b, func(_ protowire.Number, _ protowire.Type, _ uint64, win []byte) error {
		note("window", win, 13, 14)
		return sketch.Fields(win, func(num protowire.Number, _ protowire.Type, _ uint64, val []byte) error {
			if num == 10 {
				var name string
				sketch.Fields(val, func(n protowire.Number, _ protowire.Type, _ uint64, v []byte) error {
					if n == 1 {
						name = string(v)
					}
					return nil
				})
				note(name, val, 3, 4, 12, 13)
			}
			return nil
		})
	})
	want := map[string][]protowire.Number{
		"window":        {14},     // the query sources besides the table's
		"small.example": {13},     // 6 names, all in the sample; 303 sources, 64 in the top
		"big.example":   {12, 13}, // names besides the sample's, sources besides the top's
		"huge.example":  {3},      // names whole (past exact); 3 sources, all in the top
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sets written in fields %v, want %v", got, want)
	}
	same := func(what string, a, b *sketch.Cardinality) {
		if a.Estimate() != b.Estimate() || a.Exact() != b.Exact() {
			t.Errorf("%s: %d (exact %v) read back as %d (exact %v)", what, a.Estimate(), a.Exact(), b.Estimate(), b.Exact())
		}
	}
	same("query sources", w.qSrcs, wb.qSrcs)
	if n := w.qSrcs.Estimate(); n != 405 {
		t.Errorf("query sources %d, want 405", n)
	}
	for _, z := range []string{"tiny.example", "small.example", "big.example", "huge.example"} {
		same(z+" names", w.zones[z].names, wb.zones[z].names)
		same(z+" sources", w.zones[z].srcs, wb.zones[z].srcs)
	}
	for k, p := range w.prefixes {
		same(k.String()+" sources", p.src, wb.prefixes[k].src)
	}
	if again := marshal(t, back); len(again) != len(b) {
		t.Errorf("read back, written again: %d bytes, not %d", len(again), len(b))
	}
}
