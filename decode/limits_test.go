package decode

import (
	"bytes"
	"testing"

	"github.com/visor-dns/visor"
)

// The bounds README.md's "Limits" lists and the other tests do not reach:
// the largest DNS message, MaxBuffered and MaxBytes. (MaxStreams,
// maxPendingSegments, MaxDatagrams, the largest datagram and the timeouts
// are in TestStreams, TestDefrag and TestDefragTooBig.)

// bigMessage is a DNS query padded to n bytes: its header says one
// question, the rest is a long name and padding no parser reads.
func bigMessage(n int) []byte {
	m := query("big.example.", 1)
	return append(m, bytes.Repeat([]byte{0x5a}, n-len(m))...)
}

func TestLimitLargestDNSMessage(t *testing.T) {
	for _, size := range []int{65535, 4096, HeaderLen} {
		m := bigMessage(max(size, len(query("big.example.", 1))))
		if size == HeaderLen {
			m = m[:HeaderLen]
		}
		f := framed(m)
		s := NewStreams()
		// The message in 1000-byte segments after a handshake.
		got := feed(t, s, segs(syn(0, 0, 0), split(0, cISN+1, f, cutsEvery(len(f), 1000)...)))
		if len(got) != 1 || !bytes.Equal(got[0], m) {
			t.Fatalf("%d-byte message: emitted %d messages", len(m), len(got))
		}
		if s.Stats != (TCPStats{}) {
			t.Errorf("%d-byte message: stats %+v", len(m), s.Stats)
		}
		var d DNS
		if !ParseDNS(got[0], &d) {
			t.Errorf("%d-byte message does not parse", len(m))
		}
	}
}

func cutsEvery(n, step int) []int {
	var c []int
	for i := step; i < n; i += step {
		c = append(c, i)
	}
	return c
}

// TestLimitMaxBuffered holds half of a 60000-byte message on each of many
// streams: the table never holds more than MaxBuffered, and the streams it
// drops are counted.
func TestLimitMaxBuffered(t *testing.T) {
	s := NewStreams()
	s.MaxBuffered = 1 << 20
	half := framed(bigMessage(60000))[:30000]
	for i := 0; i < 200; i++ {
		g := tcpSeg{ts: int64(i), port: uint16(1000 + i), flags: ack | psh, seq: cISN + 1, data: half}
		if out := feed(t, s, []tcpSeg{syn(0, g.port, g.ts), g}); len(out) != 0 {
			t.Fatal("half a message was emitted")
		}
		if s.held > s.MaxBuffered {
			t.Fatalf("after stream %d: %d bytes held, bound %d", i, s.held, s.MaxBuffered)
		}
		checkStreams(t, s)
	}
	if s.Stats.Evicted == 0 || s.Len() >= 200 {
		t.Errorf("%d streams held, %d evicted", s.Len(), s.Stats.Evicted)
	}
}

// TestLimitDefragMaxBytes starts many datagrams with a fragment near their
// end, so each needs a 60 kB buffer: MaxBytes holds, and the dropped
// datagrams count as evicted and incomplete.
func TestLimitDefragMaxBytes(t *testing.T) {
	d := NewDefrag()
	d.MaxBytes = 1 << 20
	payload := bytes.Repeat([]byte{1}, 8)
	for i := 0; i < 200; i++ {
		f := &visor.Frame{TS: int64(i), IPVersion: 4, Src: client4, Dst: server4, Proto: 17, Fragment: true,
			FragOffset: 60000, FragMore: true, FragID: uint32(i), Payload: payload}
		if d.Add(f) {
			t.Fatal("one fragment completed a datagram")
		}
		// The datagram being added may take the held room past the bound
		// by its own buffer, never more.
		if d.held > d.MaxBytes+2*maxDatagram {
			t.Fatalf("after datagram %d: %d bytes held, bound %d", i, d.held, d.MaxBytes)
		}
		checkDefrag(t, d)
	}
	if d.Stats.Evicted == 0 || d.Stats.Incomplete < d.Stats.Evicted || len(d.pending) >= 200 {
		t.Errorf("%d datagrams held, stats %+v", len(d.pending), d.Stats)
	}
}
