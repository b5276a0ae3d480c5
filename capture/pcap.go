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
	// Record fields are read without the ByteOrder interface's calls.
	u32 := binary.LittleEndian.Uint32
	if bo == binary.BigEndian {
		u32 = binary.BigEndian.Uint32
	}
	if nano {
		st.info.Format = "pcap-ns" + st.info.Format
	} else {
		st.info.Format = "pcap" + st.info.Format
	}
	br.Discard(pcapHeaderLen)
	pos := int64(pcapHeaderLen) // offset of the next record
	// Records are parsed straight out of the reader's buffer: win is what
	// it holds, from the last Discard on, and off is how much of win the
	// records handed out took. A packet's data stays valid until the next
	// call, the first that may Discard and refill.
	var win []byte
	off := 0
	// need returns at least n bytes at the next record, refilling win when
	// it holds fewer.
	need := func(n int) ([]byte, error) {
		if len(win)-off >= n {
			return win[off:], nil
		}
		br.Discard(off)
		win, off = nil, 0
		if b, err := br.Peek(n); err != nil {
			return b, err
		}
		win, _ = br.Peek(br.Buffered())
		return win, nil
	}
	var s *source
	s = newSource(st, index, func(p *visor.Packet) error {
		rec, err := need(pcapRecordLen)
		if err != nil {
			if err == io.EOF && len(rec) == 0 {
				return io.EOF
			}
			return s.failAt(pos, eofIsUnexpected(err))
		}
		caplen := u32(rec[8:])
		if caplen > MaxCapLen {
			return s.failAt(pos, fmt.Errorf("record declares %d captured bytes, more than the %d visor accepts", caplen, MaxCapLen))
		}
		n := pcapRecordLen + int(caplen)
		whole, err := need(n)
		if err != nil {
			return s.failAt(pos, eofIsUnexpected(err))
		}
		frac := int64(u32(whole[4:]))
		if !nano {
			frac *= 1000
		}
		p.TS = int64(u32(whole[0:]))*1e9 + frac
		p.Data = whole[pcapRecordLen:n:n]
		p.OrigLen = int(u32(whole[12:]))
		if p.OrigLen < int(caplen) {
			p.OrigLen = int(caplen)
		}
		p.LinkType = link
		off += n
		pos += int64(n)
		return nil
	})
	return s, nil
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
	case visor.LinkDNSTap:
		return "DNSTAP"
	}
	return "LINKTYPE_" + strconv.Itoa(int(lt))
}
