package decode

import (
	"bytes"
	"testing"

	"github.com/visor-dns/visor"
)

// piece is one fragment: which datagram, where, and when.
type piece struct {
	ts       int64
	id       uint32
	from, to int // byte range of the datagram's IP payload
	last     bool
}

// fragments4 builds the IPv4 fragment packet for p of payload, as link type 228.
func fragment4(p piece, payload []byte) []byte {
	w := uint16(p.from / 8)
	if !p.last {
		w |= 0x2000
	}
	return cat(ipv4Hdr(server4, client4, 17, 20+p.to-p.from, uint16(p.id), w, nil), payload[p.from:p.to])
}

// fragment6 builds the IPv6 fragment packet for p of payload, as link type 229.
func fragment6(p piece, payload []byte) []byte {
	return cat(ipv6Hdr(server6, client6, 44, 8+p.to-p.from), frag6(17, p.from, !p.last, p.id), payload[p.from:p.to])
}

func TestDefrag(t *testing.T) {
	resp := response("big.example.", 30) // ~500 bytes
	dg := udp(53, 53000, resp)
	n := len(dg)
	a, b := 256, 512-64 // piece boundaries (multiples of 8)
	whole := []piece{{from: 0, to: a}, {from: a, to: b}, {from: b, to: n, last: true}}
	id := func(ps []piece, id uint32, ts int64) []piece {
		out := append([]piece(nil), ps...)
		for i := range out {
			out[i].id, out[i].ts = id, ts
		}
		return out
	}
	join := func(pss ...[]piece) []piece {
		var out []piece
		for _, ps := range pss {
			out = append(out, ps...)
		}
		return out
	}
	w := id(whole, 77, 0)

	tests := []struct {
		name  string
		v6    bool
		setup func(*Defrag)
		in    []piece
		done  int // datagrams completed
		stats DefragStats
		left  int // datagrams still pending
	}{
		{name: "two pieces in order", in: []piece{{id: 1, from: 0, to: a}, {id: 1, from: a, to: n, last: true}}, done: 1, stats: DefragStats{Reassembled: 1}},
		{name: "three pieces in order", in: w, done: 1, stats: DefragStats{Reassembled: 1}},
		{name: "three pieces out of order", in: []piece{w[2], w[0], w[1]}, done: 1, stats: DefragStats{Reassembled: 1}},
		{name: "last piece first", in: []piece{w[2], w[1], w[0]}, done: 1, stats: DefragStats{Reassembled: 1}},
		{name: "duplicate piece", in: []piece{w[0], w[0], w[2], w[1]}, done: 1, stats: DefragStats{Reassembled: 1, Overlaps: 1}},
		{name: "overlapping piece", in: []piece{w[0], {id: 77, from: a - 64, to: b}, w[2]}, done: 1, stats: DefragStats{Reassembled: 1, Overlaps: 1}},
		{name: "piece covering two others", in: []piece{{id: 77, from: 0, to: 64}, {id: 77, from: 128, to: 192}, {id: 77, from: 0, to: b}, w[2]},
			done: 1, stats: DefragStats{Reassembled: 1, Overlaps: 1}},
		{name: "missing piece waits", in: []piece{w[0], w[2]}, left: 1},
		{name: "missing piece expires on capture time",
			setup: func(d *Defrag) { d.Timeout = 5 * sec },
			in: join(id(whole[:1], 1, 0), id(whole[2:], 1, 1*sec), id(whole[:1], 2, 5*sec), // id 2 not yet expired at 5 s
				id(whole[:1], 3, 5*sec+1), // expires id 1 only
				id(whole[1:2], 1, 6*sec)), // too late: starts a new datagram
			stats: DefragStats{Incomplete: 1}, left: 3},
		{name: "MaxDatagrams evicts the oldest",
			setup: func(d *Defrag) { d.MaxDatagrams = 2 },
			in: join(id(whole[:1], 1, 0), id(whole[:1], 2, 1), id(whole[:1], 3, 2), // 3 evicts 1
				id(whole[1:], 2, 3),  // completes 2
				id(whole[1:], 1, 4)), // 1 starts over without its first piece
			done: 1, stats: DefragStats{Reassembled: 1, Incomplete: 1, Evicted: 1}, left: 2},
		{name: "interleaved datagrams", in: join(id(whole[:1], 1, 0), id(whole[:1], 2, 0), id(whole[1:], 2, 0), id(whole[1:], 1, 0)),
			done: 2, stats: DefragStats{Reassembled: 2}},
		{name: "ipv6 three pieces", v6: true, in: []piece{w[1], w[0], w[2]}, done: 1, stats: DefragStats{Reassembled: 1}},
		{name: "ipv6 duplicate and overlap", v6: true, in: []piece{w[0], w[0], {id: 77, from: a - 8, to: b + 8}, w[2]},
			done: 1, stats: DefragStats{Reassembled: 1, Overlaps: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDefrag()
			if tc.setup != nil {
				tc.setup(d)
			}
			done := 0
			for i, pc := range tc.in {
				p := &visor.Packet{TS: pc.ts, LinkType: 228, Data: fragment4(pc, dg)}
				if tc.v6 {
					p.LinkType, p.Data = 229, fragment6(pc, dg)
				}
				var f visor.Frame
				if st := Packet(p, &f); st != OK || !f.Fragment {
					t.Fatalf("piece %d: status %v fragment %v", i, st, f.Fragment)
				}
				if !d.Add(&f) {
					if f.Payload != nil && !f.Fragment {
						t.Fatalf("piece %d: frame changed without completing", i)
					}
					continue
				}
				done++
				src := server4
				if tc.v6 {
					src = server6
				}
				if f.Fragment || f.FragOffset != 0 || f.FragMore || f.Proto != 17 || f.Src != src || f.SrcPort != 53 || f.DstPort != 53000 {
					t.Errorf("piece %d completed frame %+v", i, f)
				}
				if !bytes.Equal(f.Payload, resp) {
					t.Errorf("piece %d: payload %d bytes, want %d", i, len(f.Payload), len(resp))
				}
			}
			if done != tc.done {
				t.Errorf("%d datagrams completed, want %d", done, tc.done)
			}
			if d.Stats != tc.stats {
				t.Errorf("stats %+v\nwant  %+v", d.Stats, tc.stats)
			}
			if len(d.pending) != tc.left {
				t.Errorf("%d datagrams pending, want %d", len(d.pending), tc.left)
			}
			checkDefrag(t, d)
		})
	}
}

// checkDefrag verifies the pending list and map agree.
func checkDefrag(t testing.TB, d *Defrag) {
	t.Helper()
	n := 0
	var prev *datagram
	for dg := d.head; dg != nil; dg = dg.newr {
		if dg.prev != prev || d.pending[dg.key] != dg {
			t.Fatalf("datagram list broken at %d", n)
		}
		if len(dg.buf) > maxDatagram {
			t.Fatalf("datagram %d holds %d bytes", n, len(dg.buf))
		}
		prev = dg
		n++
	}
	if d.tail != prev || n != len(d.pending) {
		t.Fatalf("list has %d datagrams, map %d", n, len(d.pending))
	}
}

func TestDefragTooBig(t *testing.T) {
	d := NewDefrag()
	// The last IPv4 offset (8191*8) plus 100 bytes passes 65535.
	f := &visor.Frame{IPVersion: 4, Src: server4, Dst: client4, Proto: 17, Fragment: true, FragOffset: 65528, FragID: 5, Payload: make([]byte, 100)}
	if d.Add(f) {
		t.Fatal("oversize fragment completed a datagram")
	}
	if d.Stats.TooBig != 1 {
		t.Fatalf("stats %+v", d.Stats)
	}
	if len(d.pending) != 0 {
		t.Fatalf("oversize fragment left %d datagrams pending", len(d.pending))
	}
	// Exactly at the bound is fine.
	f = &visor.Frame{IPVersion: 6, Src: server6, Dst: client6, Proto: 17, Fragment: true, FragOffset: maxDatagram - 8, FragID: 6, Payload: make([]byte, 8)}
	if d.Add(f) || d.Stats.TooBig != 1 || len(d.pending) != 1 {
		t.Fatalf("fragment at the bound: stats %+v, %d pending", d.Stats, len(d.pending))
	}
	d.Close()
	if d.Stats.Incomplete != 1 || len(d.pending) != 0 {
		t.Fatalf("after Close: stats %+v", d.Stats)
	}
	checkDefrag(t, d)
}

func TestDefragBadTransport(t *testing.T) {
	d := NewDefrag()
	// A 16-byte TCP datagram: too short for its header.
	f := &visor.Frame{IPVersion: 4, Src: server4, Dst: client4, Proto: 6, Fragment: true, FragMore: true, FragID: 9, Payload: make([]byte, 8)}
	if d.Add(f) {
		t.Fatal("first piece completed")
	}
	f = &visor.Frame{IPVersion: 4, Src: server4, Dst: client4, Proto: 6, Fragment: true, FragOffset: 8, FragID: 9, Payload: make([]byte, 8)}
	if !d.Add(f) || f.Payload != nil || f.Fragment {
		t.Fatalf("completed %+v", f)
	}
	// A hole stays a hole, even before a zero-length last piece.
	f = &visor.Frame{IPVersion: 4, Src: server4, Dst: client4, Proto: 17, Fragment: true, FragMore: true, FragID: 10, Payload: make([]byte, 4)}
	d.Add(f)
	f = &visor.Frame{IPVersion: 4, Src: server4, Dst: client4, Proto: 17, Fragment: true, FragOffset: 8, FragID: 10}
	if d.Add(f) {
		t.Fatal("datagram with a hole completed")
	}
}
