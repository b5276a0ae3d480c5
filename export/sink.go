package export

import (
	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/decode"
)

// BatchRows is the records of one batch handed to the writer.
const BatchRows = 8192

// sink is the run's analyzers.TransactionHook: it turns the transactions
// the dns Analyzer matches into records, in the order they end, and hands
// them in batches to the writing goroutine (full, free).
type sink struct {
	input  int
	number uint64
	open   openRows
	zones  zones
	cur    *Batch
	full   chan<- *Batch
	free   <-chan *Batch
	stats  *Stats
	rec    Record
	// findings of the same inputs (Finding), and their ids for batches
	findings []Finding
	ids      []string
	frame    visor.Frame
}

// Packet is the analyzers.TransactionHook's.
func (s *sink) Packet(input int, number uint64) { s.input, s.number = input, number }

// question fills r's common part from the message that has it, its names
// into text.
func (s *sink) question(r *Record, text *[]byte, m *visor.Message, v *decode.DNS, response bool, dir visor.Direction) {
	r.Client, r.Server, r.ClientPort, r.ServerPort = m.Src, m.Dst, m.SrcPort, m.DstPort
	if response {
		r.Client, r.Server, r.ClientPort, r.ServerPort = m.Dst, m.Src, m.DstPort, m.SrcPort
	}
	r.Transport, r.IPVersion, r.ID, r.Dir, r.Input = m.Transport, m.IPVersion, v.ID, dir, int32(s.input)
	r.HasQuestion, r.QType, r.QClass = v.HasQuestion, v.QType, v.QClass
	if v.HasQuestion {
		q := v.QName()
		t := *text
		r.QName = span{uint32(len(t)), uint32(len(q))}
		t = append(t, q...)
		zl := s.zones.zoneLen(q)
		r.Zone = span{r.QName.off + r.QName.n - uint32(zl), uint32(zl)}
		start := len(t)
		t = rawName(t, q, m.Data)
		r.RawName = span{uint32(start), uint32(len(t) - start)}
		*text = t
	}
}

// Query is the dns.Hook's: a query's half-row waits for its response, or
// is written at once when it stands alone.
func (s *sink) Query(seq uint32, open bool, m *visor.Message, v *decode.DNS, dir visor.Direction) {
	var r *Record
	var text *[]byte
	if open {
		o := s.open.put(seq)
		r, text = &o.rec, &o.text
		o.text = o.text[:0]
	} else {
		r, text = &s.rec, &s.cur.Text
	}
	*r = Record{HasQuery: true, QueryTime: m.TS, QFlags: v.Flags, QuerySize: int32(m.WireLen),
		EDNS: v.EDNS, DO: v.DO, UDPSize: v.UDPSize, EDNSVersion: v.EDNSVersion, ECS: v.ECSPrefix(),
		QueryPacket: s.number, FindingBits: s.findingBits(m, v)}
	s.question(r, text, m, v, false, dir)
	if !open {
		s.add(r, nil)
	}
}

// Response is the dns.Hook's: the response completes its query's row, or
// makes one of its own.
func (s *sink) Response(seq uint32, matched bool, m *visor.Message, v *decode.DNS, dir visor.Direction) {
	r := &s.rec
	var o *openRow
	if matched {
		o = s.open.take(seq)
	}
	if o != nil {
		*r = o.rec
		s.stats.Matched++
	} else {
		*r = Record{QueryTime: m.QueryTime}
		s.question(r, &s.cur.Text, m, v, true, dir)
	}
	r.HasResponse, r.ResponseTime, r.RFlags, r.ResponseSize = true, m.TS, v.Flags, int32(m.WireLen)
	r.ANCount, r.NSCount, r.ARCount, r.ResponsePacket = v.ANCount, v.NSCount, v.ARCount, s.number
	r.FindingBits |= s.findingBits(m, v)
	s.add(r, o)
}

// Unanswered is the dns.Hook's: the query's row is written without a response.
func (s *sink) Unanswered(seq uint32) {
	if o := s.open.take(seq); o != nil {
		s.rec = o.rec
		s.add(&s.rec, o)
	}
}

// add appends r to the batch; its strings are in o's text when o is set,
// already in the batch's otherwise.
func (s *sink) add(r *Record, o *openRow) {
	x := s.cur
	if o != nil && r.HasQuestion {
		base := uint32(len(x.Text))
		x.Text = append(x.Text, o.text...)
		r.QName.off += base
		r.Zone.off += base
		r.RawName.off += base
	}
	x.Rows = append(x.Rows, *r)
	s.stats.Rows++
	if len(x.Rows) == cap(x.Rows) {
		s.flush()
	}
}

// flush hands the batch to the writer and takes an empty one.
func (s *sink) flush() {
	s.full <- s.cur
	s.cur = <-s.free
	s.cur.reset()
	s.cur.FindingIDs = s.ids
}

// rawName appends the question name of msg, whose lowercase presentation
// form is lower, in the case it has on the wire: lower with the letters of
// the wire put back (escapes are kept as they are). Should msg not match
// lower, lower is appended.
func rawName(dst, lower, msg []byte) []byte {
	start := len(dst)
	dst = append(dst, lower...)
	out := dst[start:]
	i := 0
	for off, jumps := 12, 0; off < len(msg); {
		l := int(msg[off])
		switch {
		case l == 0:
			return dst
		case l&0xc0 == 0xc0:
			if off+1 >= len(msg) || jumps > 64 {
				return dst
			}
			jumps++
			off = int(msg[off]&0x3f)<<8 | int(msg[off+1])
			continue
		case l&0xc0 != 0 || off+1+l > len(msg):
			return dst
		}
		if i > 0 {
			i++ // the dot between labels
		}
		for _, c := range msg[off+1 : off+1+l] {
			if i >= len(out) {
				return dst
			}
			if out[i] == '\\' {
				i += 4
				continue
			}
			if c >= 'A' && c <= 'Z' && out[i] == c+32 {
				out[i] = c
			}
			i++
		}
		off += 1 + l
	}
	return dst
}
