package decode

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/visor-dns/visor"
)

const (
	cISN = 1000 // client's initial sequence number
	sISN = 5000 // server's
	ack  = 0x10
	psh  = 0x08
	sec  = int64(1_000_000_000)
)

// tcpSeg is one segment fed to Streams; from 0 is client to server, 1 the reply.
type tcpSeg struct {
	ts    int64
	from  int
	port  uint16 // client port; 0 means 53000
	flags uint8
	seq   uint32
	data  []byte
	trunc bool
}

func (g tcpSeg) frame() *visor.Frame {
	port := g.port
	if port == 0 {
		port = 53000
	}
	f := &visor.Frame{TS: g.ts, IPVersion: 4, Src: client4, Dst: server4, Proto: 6, SrcPort: port, DstPort: 53,
		TCPFlags: g.flags, TCPSeq: g.seq, Payload: g.data, Truncated: g.trunc}
	if g.from == 1 {
		f.Src, f.Dst, f.SrcPort, f.DstPort = server4, client4, 53, port
	}
	return f
}

// feed runs segs through s and returns copies of the emitted messages.
func feed(t testing.TB, s *Streams, segs []tcpSeg) [][]byte {
	var out [][]byte
	for _, g := range segs {
		f := g.frame()
		s.Feed(f, func(msg []byte, ef *visor.Frame) {
			if ef != f {
				t.Errorf("emit got another frame")
			}
			out = append(out, append([]byte(nil), msg...))
		})
	}
	return out
}

// msg is a distinct DNS query, numbered.
func msg(i int) []byte { return query(fmt.Sprintf("q%d.example.", i), 1) }

// split cuts b at the given offsets into segments starting at seq.
func split(from int, seq uint32, b []byte, cuts ...int) []tcpSeg {
	var out []tcpSeg
	prev := 0
	for _, c := range append(cuts, len(b)) {
		out = append(out, tcpSeg{from: from, flags: ack | psh, seq: seq + uint32(prev), data: b[prev:c]})
		prev = c
	}
	return out
}

func syn(from int, port uint16, ts int64) tcpSeg {
	g := tcpSeg{ts: ts, from: from, port: port, flags: 0x02, seq: cISN}
	if from == 1 {
		g.flags, g.seq = 0x12, sISN
	}
	return g
}

func segs(parts ...any) []tcpSeg {
	var out []tcpSeg
	for _, p := range parts {
		switch p := p.(type) {
		case tcpSeg:
			out = append(out, p)
		case []tcpSeg:
			out = append(out, p...)
		default:
			panic(p)
		}
	}
	return out
}

func TestStreams(t *testing.T) {
	m1, m2, m3 := msg(1), msg(2), response("q1.example.", 2)
	f1, f12 := framed(m1), framed(m1, m2)
	d := uint32(cISN + 1) // first data byte of the client

	// m1 in three pieces: the cut at 1 splits the length field.
	three := split(0, d, f1, 1, 10)
	// m1 and m2 in three pieces, for loss and reordering.
	p := split(0, d, f12, 20, len(f1)+5)

	// 34 one-message segments; the first is lost below.
	var many []tcpSeg
	var manyMsgs [][]byte
	seq := d
	for i := 0; i < maxPendingSegments+2; i++ {
		b := framed(msg(i))
		many = append(many, tcpSeg{from: 0, flags: ack | psh, seq: seq, data: b})
		manyMsgs = append(manyMsgs, msg(i))
		seq += uint32(len(b))
	}

	// The many messages again, following f12.
	var after []tcpSeg
	seq = d + uint32(len(f12))
	for _, g := range many {
		after = append(after, tcpSeg{from: 0, flags: ack | psh, seq: seq, data: g.data})
		seq += uint32(len(g.data))
	}
	// m1 and m2 cut at the message boundary.
	r := split(0, d, f12, 20, len(f1))

	// A mid-connection stream: f12 begins at sequence 700000.
	mid := split(0, 700000, f12, 20, len(f1))

	tests := []struct {
		name  string
		setup func(*Streams)
		segs  []tcpSeg
		want  [][]byte
		stats TCPStats
		len   int
	}{
		{name: "handshake then one message each way",
			segs: segs(syn(0, 0, 0), syn(1, 0, 0), tcpSeg{flags: ack, seq: d},
				tcpSeg{flags: ack | psh, seq: d, data: f1}, tcpSeg{from: 1, flags: ack | psh, seq: sISN + 1, data: framed(m3)}),
			want: [][]byte{m1, m3}, len: 2},
		{name: "two messages in one segment",
			segs: segs(syn(0, 0, 0), tcpSeg{flags: ack | psh, seq: d, data: f12}),
			want: [][]byte{m1, m2}, len: 1},
		{name: "one message over three segments, split in the length",
			segs: segs(syn(0, 0, 0), three), want: [][]byte{m1}, len: 1},
		{name: "one message over three segments, split after the length",
			segs: segs(syn(0, 0, 0), split(0, d, f1, 2, 20)), want: [][]byte{m1}, len: 1},
		{name: "second message's length split across segments",
			segs: segs(syn(0, 0, 0), split(0, d, f12, len(f1)+1)), want: [][]byte{m1, m2}, len: 1},
		{name: "one byte at a time",
			segs: segs(syn(0, 0, 0), split(0, d, f12, func() []int {
				var c []int
				for i := 1; i < len(f12); i++ {
					c = append(c, i)
				}
				return c
			}()...)), want: [][]byte{m1, m2}, len: 1},
		{name: "empty message with its length split",
			segs: segs(syn(0, 0, 0), split(0, d, cat([]byte{0, 0}, f1), 1)), want: [][]byte{{}, m1}, len: 1},
		{name: "SYN carrying data",
			segs: segs(tcpSeg{flags: 0x02, seq: cISN, data: f1}), want: [][]byte{m1}, len: 1},
		{name: "out of order: third, first, second",
			segs: segs(syn(0, 0, 0), p[2], p[0], p[1]), want: [][]byte{m1, m2}, len: 1},
		{name: "out of order: second message before first",
			segs: segs(syn(0, 0, 0), split(0, d, f12, len(f1))[1], split(0, d, f12, len(f1))[0]), want: [][]byte{m1, m2}, len: 1},
		{name: "retransmission emits each message once",
			segs: segs(syn(0, 0, 0), tcpSeg{flags: ack | psh, seq: d, data: f1}, tcpSeg{flags: ack | psh, seq: d, data: f1},
				p[0], tcpSeg{flags: ack | psh, seq: d + uint32(len(f1)), data: framed(m2)}),
			want: [][]byte{m1, m2}, stats: TCPStats{Retransmitted: 2}, len: 1},
		{name: "retransmission overlapping new bytes",
			segs: segs(syn(0, 0, 0), p[0], tcpSeg{flags: ack | psh, seq: d, data: f12}),
			want: [][]byte{m1, m2}, len: 1},
		{name: "held segment retransmitted",
			segs: segs(syn(0, 0, 0), p[2], p[2], p[1], p[0]),
			want: [][]byte{m1, m2}, stats: TCPStats{Retransmitted: 1}, len: 1},
		{name: "mid-connection at a message boundary",
			segs: segs(mid[0], mid[1], mid[2]), want: [][]byte{m1, m2}, len: 1},
		{name: "mid-connection off a boundary resyncs at the next message",
			segs: segs(mid[1], mid[2]), want: [][]byte{m2}, stats: TCPStats{Unsynced: 1}, len: 1},
		{name: "mid-connection off a boundary, two pieces skipped",
			segs: segs(split(0, 9000, f12, 5, 30, len(f1))[1:]), want: [][]byte{m2}, stats: TCPStats{Unsynced: 2}, len: 1},
		{name: "mid-connection off a boundary, boundary segment held",
			// The segment that starts m2 arrives before the tail of m1.
			segs: segs(split(0, 9000, f12, 5, 30, len(f1))[1], split(0, 9000, f12, 5, 30, len(f1))[3], split(0, 9000, f12, 5, 30, len(f1))[2],
				tcpSeg{flags: ack | psh, seq: 9000 + uint32(len(f12)), data: framed(m3)}),
			want: [][]byte{m2, m3}, stats: TCPStats{Unsynced: 2}, len: 1},
		{name: "ACK without data starts no stream",
			segs: segs(tcpSeg{flags: ack, seq: 1}), len: 0},
		{name: "lost segment: gap after the pending bound",
			segs: segs(syn(0, 0, 0), many[1:]), want: manyMsgs[1:],
			stats: TCPStats{Gaps: 1, Oversize: 1}, len: 1},
		{name: "lost segment within the pending bound waits",
			segs: segs(syn(0, 0, 0), many[1:maxPendingSegments+1]), len: 1},
		{name: "lost middle piece: partial message dropped at the gap",
			segs: segs(syn(0, 0, 0), p[0], p[2], after[:maxPendingSegments]),
			want: manyMsgs[:maxPendingSegments], stats: TCPStats{Gaps: 1, Oversize: 1, Unsynced: 1}, len: 1},
		{name: "FIN with partial data counts a gap",
			segs:  segs(syn(0, 0, 0), tcpSeg{flags: ack | 0x01, seq: d, data: f1[:20]}),
			stats: TCPStats{Gaps: 1}, len: 0},
		{name: "FIN after whole messages",
			segs: segs(syn(0, 0, 0), tcpSeg{flags: ack | psh | 0x01, seq: d, data: f1}),
			want: [][]byte{m1}, len: 0},
		{name: "FIN with an out-of-order segment held",
			segs:  segs(syn(0, 0, 0), p[2], tcpSeg{flags: ack | 0x01, seq: d + uint32(len(f12))}),
			stats: TCPStats{Gaps: 1}, len: 0},
		{name: "RST drops the stream, a partial message counts as a gap",
			segs: segs(syn(0, 0, 0), r[0], tcpSeg{flags: 0x04, seq: d + 20}, r[1], r[2]),
			want: [][]byte{m2}, stats: TCPStats{Gaps: 1, Unsynced: 1}, len: 1},
		{name: "snaplen-cut segment skips ahead",
			segs: segs(syn(0, 0, 0), tcpSeg{flags: ack | psh, seq: d, data: f1[:30], trunc: true},
				tcpSeg{flags: ack | psh, seq: d + uint32(len(f1)), data: framed(m2)}),
			want: [][]byte{m2}, stats: TCPStats{Truncated: 1, Gaps: 1}, len: 1},
		{name: "snaplen-cut segment then its continuation",
			segs: segs(syn(0, 0, 0), tcpSeg{flags: ack | psh, seq: d, data: f12[:30], trunc: true},
				tcpSeg{flags: ack | psh, seq: d + 35, data: f12[35:len(f1)]},
				tcpSeg{flags: ack | psh, seq: d + uint32(len(f1)), data: framed(m2)}),
			want: [][]byte{m2}, stats: TCPStats{Truncated: 1, Gaps: 1, Unsynced: 1}, len: 1},
		{name: "idle expiry counts only streams holding data",
			setup: func(s *Streams) { s.Idle = 10 * sec },
			segs: segs(syn(0, 1, 0), tcpSeg{ts: 1, port: 1, flags: ack, seq: d, data: f1[:9]}, syn(0, 2, 2*sec),
				syn(0, 3, 12*sec+1), // expires port 1 (idle 12 s) but not port 2 (10 s exactly)
				tcpSeg{ts: 30 * sec, port: 3, flags: ack, seq: d, data: f1}),
			want: [][]byte{m1}, stats: TCPStats{Expired: 1}, len: 1},
		{name: "expired stream's tail is unsynced",
			setup: func(s *Streams) { s.Idle = 10 * sec },
			segs:  segs(syn(0, 0, 0), tcpSeg{flags: ack, seq: d, data: f1[:9]}, tcpSeg{ts: 11 * sec, flags: ack, seq: d + 9, data: f1[9:]}),
			stats: TCPStats{Expired: 1, Unsynced: 1}, len: 1},
		{name: "MaxStreams evicts the least recently active",
			setup: func(s *Streams) { s.MaxStreams = 2 },
			segs: segs(syn(0, 1, 0), syn(0, 2, 1), tcpSeg{ts: 2, port: 1, flags: ack, seq: d, data: f1[:9]}, syn(0, 3, 3),
				tcpSeg{ts: 4, port: 1, flags: ack, seq: d + 9, data: f1[9:]}, // port 1 still held
				syn(0, 4, 5), // evicts port 3
				tcpSeg{ts: 6, port: 2, flags: ack, seq: d, data: f1}), // port 2 was evicted: mid-connection, boundary
			want: [][]byte{m1, m1}, stats: TCPStats{Evicted: 3}, len: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewStreams()
			if tc.setup != nil {
				tc.setup(s)
			}
			got := feed(t, s, tc.segs)
			if len(got) != len(tc.want) {
				t.Errorf("%d messages, want %d", len(got), len(tc.want))
			}
			for i := range min(len(got), len(tc.want)) {
				if !bytes.Equal(got[i], tc.want[i]) {
					t.Errorf("message %d: %x\nwant %x", i, got[i], tc.want[i])
				}
			}
			if s.Stats != tc.stats {
				t.Errorf("stats %+v\nwant  %+v", s.Stats, tc.stats)
			}
			if s.Len() != tc.len {
				t.Errorf("Len %d, want %d", s.Len(), tc.len)
			}
			checkStreams(t, s)
		})
	}
}

// checkStreams verifies the table's list and map agree and buffers are bounded.
func checkStreams(t testing.TB, s *Streams) {
	t.Helper()
	n := 0
	var prev *tcpStream
	for st := s.head; st != nil; st = st.newr {
		if st.prev != prev {
			t.Fatalf("stream list broken at %d", n)
		}
		if s.flows[st.key] != st {
			t.Fatalf("listed stream %d not in the map", n)
		}
		if len(st.buf) > maxStreamBuffer || len(st.pending) > maxPendingSegments {
			t.Fatalf("stream %d holds %d bytes, %d segments", n, len(st.buf), len(st.pending))
		}
		prev = st
		n++
	}
	if s.tail != prev || n != len(s.flows) {
		t.Fatalf("list has %d streams, map %d", n, len(s.flows))
	}
}

func TestStreamsClose(t *testing.T) {
	s := NewStreams()
	feed(t, s, segs(syn(0, 1, 0), tcpSeg{port: 1, flags: ack, seq: cISN + 1, data: framed(msg(1))[:9]}, syn(0, 2, 0)))
	s.Close()
	if s.Len() != 0 || s.Stats.Expired != 1 {
		t.Fatalf("after Close: Len %d, stats %+v", s.Len(), s.Stats)
	}
	checkStreams(t, s)
}

func TestStreamsSequenceWrap(t *testing.T) {
	f12 := framed(msg(1), msg(2))
	isn := uint32(0xffffffff - 10)
	s := NewStreams()
	g := split(0, isn+1, f12, 5, 30)
	got := feed(t, s, segs(tcpSeg{flags: 0x02, seq: isn}, g[2], g[0], g[1]))
	if len(got) != 2 || !bytes.Equal(got[0], msg(1)) || !bytes.Equal(got[1], msg(2)) {
		t.Fatalf("got %d messages", len(got))
	}
}

// A segment exactly half the sequence space away (2^31) has an int32
// distance with no negation; it once sliced out of range (issue 16).
func TestStreamsHalfSpace(t *testing.T) {
	f1 := framed(msg(1))
	d := uint32(cISN + 1)
	half := uint32(1) << 31
	tests := []struct {
		name    string
		segs    []tcpSeg
		want    int // messages emitted
		pending int // segments still held
		stats   TCPStats
	}{
		{name: "segment 2^31 after the expected one",
			segs:  segs(syn(0, 0, 0), tcpSeg{flags: ack | psh, seq: d + half, data: f1}),
			stats: TCPStats{Retransmitted: 1}},
		{name: "segment 2^31-1 ahead is held",
			segs: segs(syn(0, 0, 0), tcpSeg{flags: ack | psh, seq: d + half - 1, data: f1}, tcpSeg{flags: ack | psh, seq: d, data: f1}),
			want: 1, pending: 1},
		{name: "one byte then the same 2^31 away",
			segs:  segs(syn(0, 0, 0), tcpSeg{flags: ack | psh, seq: d, data: f1[:1]}, tcpSeg{flags: ack | psh, seq: d + 1 + half, data: f1[1:]}),
			stats: TCPStats{Retransmitted: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewStreams()
			got := feed(t, s, tc.segs)
			if len(got) != tc.want {
				t.Errorf("got %d messages, want %d", len(got), tc.want)
			}
			if s.Stats != tc.stats {
				t.Errorf("stats %+v, want %+v", s.Stats, tc.stats)
			}
			held := 0
			for _, st := range s.flows {
				held += len(st.pending)
			}
			if held != tc.pending {
				t.Errorf("%d segments held, want %d", held, tc.pending)
			}
			checkStreams(t, s)
		})
	}
}

// A held segment found 2^31 behind when the stream drains is old data.
func TestStreamsDrainHalfSpace(t *testing.T) {
	s := NewStreams()
	feed(t, s, segs(syn(0, 0, 0)))
	for _, st := range s.flows {
		st.pending = []segment{{seq: st.next + 1<<31, data: framed(msg(1))}}
		s.drain(st, syn(0, 0, 0).frame(), func([]byte, *visor.Frame) { t.Error("emitted a message") })
		if len(st.pending) != 0 || s.Stats.Retransmitted != 1 {
			t.Fatalf("pending %d, stats %+v", len(st.pending), s.Stats)
		}
	}
}
