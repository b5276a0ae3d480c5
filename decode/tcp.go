package decode

import (
	"encoding/binary"
	"net/netip"

	"github.com/visor-dns/visor"
)

// Stream table bounds. Whatever a bound drops is counted in TCPStats.
const (
	DefaultMaxStreams  = 65536
	maxStreamBuffer    = 65535 + 2 // one whole DNS message and its length
	maxPendingSegments = 32
	// DefaultMaxBuffered bounds the bytes held across all streams (partial
	// messages and out-of-order segments); past it the oldest streams go.
	DefaultMaxBuffered = 48 << 20
	DefaultTCPIdle     = 60_000_000_000 // 60 s of capture time
)

// TCPStats counts what the stream table could not deliver whole.
type TCPStats struct {
	Gaps          uint64 // missing bytes made a stream skip ahead
	Evicted       uint64 // streams dropped because the table was full
	Expired       uint64 // idle streams dropped with data still buffered
	Unsynced      uint64 // segments skipped while looking for a message boundary
	Oversize      uint64 // buffered bytes over the bound
	Retransmitted uint64 // segments whose bytes were all seen before
	Truncated     uint64 // segments cut short by the capture's snaplen
}

type flowKey struct {
	src, dst     netip.Addr
	sport, dport uint16
}

type segment struct {
	seq  uint32
	data []byte
}

// tcpStream is one direction of a TCP connection carrying DNS.
type tcpStream struct {
	key     flowKey
	next    uint32 // next expected sequence number
	synced  bool   // next is at a DNS message boundary we trust
	buf     []byte // bytes of a message not yet complete
	pending []segment
	held    int   // bytes in buf and pending, as counted in Streams.held
	last    int64 // capture time of the last segment
	lruLinks[tcpStream]
}

func (st *tcpStream) links() *lruLinks[tcpStream] { return &st.lruLinks }

// Streams reassembles DNS-over-TCP messages (RFC 1035 4.2.2 framing) per
// direction, on capture time, within fixed bounds.
type Streams struct {
	flows                          map[flowKey]*tcpStream
	lruList[tcpStream, *tcpStream] // least to most recently active
	MaxStreams                     int
	MaxBuffered                    int
	Idle                           int64
	Stats                          TCPStats
	held                           int // bytes held by all streams
}

// NewStreams returns an empty table with the default bounds.
func NewStreams() *Streams {
	return &Streams{flows: map[flowKey]*tcpStream{}, MaxStreams: DefaultMaxStreams, MaxBuffered: DefaultMaxBuffered, Idle: DefaultTCPIdle}
}

const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
)

// Feed takes one TCP segment of a DNS flow and calls emit for each whole
// message it completes. msg is valid only during the call.
func (s *Streams) Feed(f *visor.Frame, emit func(msg []byte, f *visor.Frame)) {
	s.expire(f.TS)
	k := flowKey{f.Src, f.Dst, f.SrcPort, f.DstPort}
	st := s.flows[k]
	if f.TCPFlags&tcpRST != 0 {
		if st != nil {
			if st.held > 0 {
				s.Stats.Gaps++
			}
			s.drop(st)
		}
		return
	}
	if st == nil {
		if f.TCPFlags&tcpSYN == 0 && len(f.Payload) == 0 {
			return
		}
		st = s.add(k, f)
	} else {
		s.touch(st, f.TS)
	}
	seq := f.TCPSeq
	if f.TCPFlags&tcpSYN != 0 {
		st.next, st.synced, st.buf, st.pending = seq+1, true, st.buf[:0], st.pending[:0]
		seq++
	}
	if len(f.Payload) > 0 {
		if f.Truncated {
			// The capture cut the segment, so where the next one starts is
			// unknown: forget the stream and let the next segment re-anchor it.
			s.Stats.Truncated++
			s.Stats.Gaps++
			s.drop(st)
			return
		}
		s.segment(st, seq, f.Payload, f, emit)
	}
	if f.TCPFlags&tcpFIN != 0 {
		if len(st.buf) > 0 || len(st.pending) > 0 {
			s.Stats.Gaps++
		}
		s.drop(st)
		return
	}
	s.account(st)
}

// account updates the bytes the stream holds and enforces MaxBuffered by
// dropping the least recently active streams that hold data.
func (s *Streams) account(st *tcpStream) {
	if len(st.buf) == 0 && cap(st.buf) > 4096 {
		st.buf = nil // give back the room of a large message
	}
	n := cap(st.buf)
	for _, p := range st.pending {
		n += cap(p.data)
	}
	s.held += n - st.held
	st.held = n
	for s.held > s.MaxBuffered && s.head != nil {
		s.Stats.Evicted++
		s.drop(s.head)
	}
}

func (s *Streams) segment(st *tcpStream, seq uint32, data []byte, f *visor.Frame, emit func([]byte, *visor.Frame)) {
	// In int64: a distance of exactly -2^31 has no int32 negation.
	d := int64(int32(seq - st.next))
	switch {
	case d < 0:
		if -d >= int64(len(data)) {
			s.Stats.Retransmitted++
			return
		}
		data, seq = data[-d:], st.next
	case d > 0:
		if len(st.pending) >= maxPendingSegments {
			s.Stats.Oversize++
			s.gap(st, st.pending[0].seq)
			s.drain(st, f, emit)
			s.segment(st, seq, data, f, emit)
			return
		}
		s.hold(st, seq, data)
		return
	}
	if !st.synced {
		if !plausibleStart(data) {
			s.Stats.Unsynced++
			st.next = seq + uint32(len(data))
			s.drain(st, f, emit) // a held segment may start the next message
			return
		}
		st.synced = true
	}
	st.next = seq + uint32(len(data))
	s.consume(st, data, f, emit)
	s.drain(st, f, emit)
}

// drain applies held segments that have become contiguous.
func (s *Streams) drain(st *tcpStream, f *visor.Frame, emit func([]byte, *visor.Frame)) {
	for len(st.pending) > 0 {
		p := st.pending[0]
		d := int64(int32(p.seq - st.next))
		if d > 0 {
			return
		}
		st.pending = append(st.pending[:0], st.pending[1:]...)
		if -d >= int64(len(p.data)) {
			s.Stats.Retransmitted++
			continue
		}
		data := p.data[-d:]
		if !st.synced {
			if !plausibleStart(data) {
				s.Stats.Unsynced++
				st.next += uint32(len(data))
				continue
			}
			st.synced = true
		}
		st.next += uint32(len(data))
		s.consume(st, data, f, emit)
	}
}

// hold keeps an out-of-order segment, sorted by sequence number.
func (s *Streams) hold(st *tcpStream, seq uint32, data []byte) {
	i := len(st.pending)
	for i > 0 && int32(st.pending[i-1].seq-seq) > 0 {
		i--
	}
	st.pending = append(st.pending, segment{})
	copy(st.pending[i+1:], st.pending[i:])
	st.pending[i] = segment{seq: seq, data: append([]byte(nil), data...)}
}

// gap skips the stream to seq, losing any partial message.
func (s *Streams) gap(st *tcpStream, seq uint32) {
	s.Stats.Gaps++
	st.buf = st.buf[:0]
	st.next = seq
	st.synced = false
}

// consume frames messages out of in-order bytes, copying only a partial tail.
func (s *Streams) consume(st *tcpStream, data []byte, f *visor.Frame, emit func([]byte, *visor.Frame)) {
	if len(st.buf) > 0 {
		// Complete the buffered message first.
		need := 2
		if len(st.buf) >= 2 {
			need = 2 + int(binary.BigEndian.Uint16(st.buf))
		} else if len(st.buf)+len(data) >= 2 {
			need = 2 + int(binary.BigEndian.Uint16([]byte{st.buf[0], data[0]}))
		}
		take := need - len(st.buf)
		if take > len(data) {
			st.buf = append(st.buf, data...)
			return
		}
		st.buf = append(st.buf, data[:take]...)
		data = data[take:]
		if len(st.buf) == 2 {
			// Only the length was buffered; its body is in data.
			need = 2 + int(binary.BigEndian.Uint16(st.buf))
			take = need - 2
			if take > len(data) {
				st.buf = append(st.buf, data...)
				return
			}
			st.buf = append(st.buf, data[:take]...)
			data = data[take:]
		}
		emit(st.buf[2:], f)
		st.buf = st.buf[:0]
	}
	for len(data) >= 2 {
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			break
		}
		emit(data[2:2+n], f)
		data = data[2+n:]
	}
	if len(data) > 0 {
		if len(data) > maxStreamBuffer {
			s.Stats.Oversize++
			return
		}
		st.buf = append(st.buf, data...)
	}
}

// plausibleStart tells whether data can begin a length-framed DNS message:
// a length of at least a header, one question, and a standard opcode.
func plausibleStart(data []byte) bool {
	if len(data) < 2+HeaderLen {
		return false
	}
	n := int(binary.BigEndian.Uint16(data))
	if n < HeaderLen {
		return false
	}
	h := data[2:]
	qd := binary.BigEndian.Uint16(h[4:6])
	opcode := (h[2] >> 3) & 0x0f
	return qd == 1 && (opcode == 0 || opcode == 4 || opcode == 5)
}

func (s *Streams) add(k flowKey, f *visor.Frame) *tcpStream {
	if len(s.flows) >= s.MaxStreams && s.head != nil {
		s.Stats.Evicted++
		s.drop(s.head)
	}
	st := &tcpStream{key: k, next: f.TCPSeq, last: f.TS}
	s.flows[k] = st
	s.push(st)
	return st
}

func (s *Streams) touch(st *tcpStream, ts int64) {
	if ts > st.last {
		st.last = ts
	}
	s.toBack(st)
}

func (s *Streams) drop(st *tcpStream) {
	s.held -= st.held
	st.held = 0
	s.remove(st)
	delete(s.flows, st.key)
}

// expire drops streams idle for longer than s.Idle of capture time.
func (s *Streams) expire(now int64) {
	for s.head != nil && now-s.head.last > s.Idle {
		if len(s.head.buf) > 0 || len(s.head.pending) > 0 {
			s.Stats.Expired++
		}
		s.drop(s.head)
	}
}

// Close ends every stream, counting those that held a partial message.
func (s *Streams) Close() {
	for s.head != nil {
		if len(s.head.buf) > 0 || len(s.head.pending) > 0 {
			s.Stats.Expired++
		}
		s.drop(s.head)
	}
}

// Len is the number of streams held.
func (s *Streams) Len() int { return len(s.flows) }
