package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"

	"github.com/visor-dns/visor"
)

// pcapHeaderLen and pcapRecordLen are the classic pcap file and record
// header sizes.
const (
	pcapHeaderLen = 24
	pcapRecordLen = 16
)

// newPcap reads classic pcap itself rather than through pcapgo.Reader: the
// records are handed out straight from the buffered stream (no copy), and
// every error names the exact byte offset of the record.
func newPcap(br *bufio.Reader, st *stream, index int) (*source, error) {
	hdr, err := br.Peek(pcapHeaderLen)
	if err != nil {
		return nil, &Error{Path: st.info.Path, Offset: 0, Err: fmt.Errorf("pcap file header: %w", eofIsUnexpected(err))}
	}
	var bo binary.ByteOrder = binary.LittleEndian
	nano := false
	switch binary.LittleEndian.Uint32(hdr) {
	case 0xa1b2c3d4:
	case 0xa1b23c4d:
		nano = true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nano = binary.BigEndian, true
	}
	if major := bo.Uint16(hdr[4:]); major != 2 {
		return nil, &Error{Path: st.info.Path, Offset: 4, Err: fmt.Errorf("pcap major version %d, want 2", major)}
	}
	link := uint16(bo.Uint32(hdr[20:]) & 0xffff) // upper bits hold FCS flags
	if nano {
		st.info.Format = "pcap-ns" + st.info.Format
	} else {
		st.info.Format = "pcap" + st.info.Format
	}
	br.Discard(pcapHeaderLen)
	r := &pcapReader{br: br, pos: pcapHeaderLen, fields: fields{big: bo == binary.BigEndian}, nano: nano, link: link}
	r.s = newSource(st, index, r.next)
	return r.s, nil
}

// pcapReader parses records straight out of the reader's buffer: win is
// what it holds, from the last Discard on, and off is how much of win the
// records handed out took. A packet's data stays valid until the next
// call, the first that may Discard and refill.
type pcapReader struct {
	br  *bufio.Reader
	s   *source
	win []byte
	off int
	pos int64 // offset of the next record
	fields
	nano bool // nanosecond timestamps
	link uint16
}

// fields reads a file's header fields in its byte order without the
// ByteOrder interface's calls (pcap and pcapng readers use it per packet).
type fields struct{ big bool }

func (o fields) u16(b []byte) uint16 {
	if o.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (o fields) u32(b []byte) uint32 {
	if o.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (o fields) u64(b []byte) uint64 {
	if o.big {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// need returns at least n bytes at the next record, refilling win when
// it holds fewer.
func (r *pcapReader) need(n int) ([]byte, error) {
	if len(r.win)-r.off >= n {
		return r.win[r.off:], nil
	}
	r.br.Discard(r.off)
	r.win, r.off = nil, 0
	if b, err := r.br.Peek(n); err != nil {
		return b, err
	}
	r.win, _ = r.br.Peek(r.br.Buffered())
	return r.win, nil
}

func (r *pcapReader) next(p *visor.Packet) error {
	for {
		rec, err := r.need(pcapRecordLen)
		if err != nil {
			if err == io.EOF && len(rec) == 0 {
				return io.EOF
			}
			return r.s.failAt(r.pos, eofIsUnexpected(err))
		}
		caplen := r.u32(rec[8:])
		if caplen > MaxCapLen {
			return r.s.failAt(r.pos, fmt.Errorf("record declares %d captured bytes, more than the %d visor accepts", caplen, MaxCapLen))
		}
		n := pcapRecordLen + int(caplen)
		whole := rec
		if len(rec) < n {
			if whole, err = r.need(n); err != nil {
				return r.s.failAt(r.pos, eofIsUnexpected(err))
			}
		}
		r.off += n
		r.pos += int64(n)
		// u32 seconds cannot overflow int64 nanoseconds (they end in 2106);
		// a fraction of a second of one second or more is out of range.
		frac := int64(r.u32(whole[4:]))
		if r.nano {
			if frac >= 1e9 {
				skipped(r.s.info, ReasonTimeRange)
				continue
			}
		} else {
			if frac >= 1e6 {
				skipped(r.s.info, ReasonTimeRange)
				continue
			}
			frac *= 1000
		}
		p.TS = int64(r.u32(whole[0:]))*1e9 + frac
		p.Data = whole[pcapRecordLen:n:n]
		p.OrigLen = max(int(r.u32(whole[12:])), int(caplen))
		p.LinkType = r.link
		return nil
	}
}

// failAt is a read error at a byte offset of the (decompressed) stream.
func (s *source) failAt(off int64, err error) error {
	return &Error{Path: s.info.Path, Offset: off, Packet: s.info.Packets, Err: err, Partial: s.info.Packets > 0}
}

func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// LinkTypeName names a pcap link type as tcpdump does, or LINKTYPE_<n>.
func LinkTypeName(lt uint16) string {
	switch lt {
	case 0:
		return "NULL"
	case 1:
		return "EN10MB"
	case 12, 14, 101:
		return "RAW"
	case 108:
		return "LOOP"
	case 113:
		return "LINUX_SLL"
	case 228:
		return "IPV4"
	case 229:
		return "IPV6"
	case 276:
		return "LINUX_SLL2"
	case 7:
		return "ARCNET"
	case 129:
		return "ARCNET_LINUX"
	case 239:
		return "NFLOG"
	case 149, 258:
		return "PKTAP"
	case 9:
		return "PPP"
	case 50:
		return "PPP_SERIAL"
	case 51:
		return "PPP_ETHER"
	case visor.LinkDNSTap:
		return "DNSTAP"
	}
	return "LINKTYPE_" + strconv.Itoa(int(lt))
}
