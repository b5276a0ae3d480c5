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
	pos := int64(pcapHeaderLen)
	pending := 0 // bytes of the last record still to discard
	var s *source
	s = newSource(st, index, func(p *visor.Packet) error {
		if pending > 0 {
			br.Discard(pending)
			pos += int64(pending)
			pending = 0
		}
		rec, err := br.Peek(pcapRecordLen)
		if err != nil {
			if err == io.EOF && len(rec) == 0 {
				return io.EOF
			}
			return s.failAt(pos, eofIsUnexpected(err))
		}
		caplen := bo.Uint32(rec[8:])
		if caplen > MaxCapLen {
			return s.failAt(pos, fmt.Errorf("record declares %d captured bytes, more than the %d visor accepts", caplen, MaxCapLen))
		}
		whole, err := br.Peek(pcapRecordLen + int(caplen))
		if err != nil {
			return s.failAt(pos, eofIsUnexpected(err))
		}
		frac := int64(bo.Uint32(whole[4:]))
		if !nano {
			frac *= 1000
		}
		p.TS = int64(bo.Uint32(whole[0:]))*1e9 + frac
		p.Data = whole[pcapRecordLen:]
		p.OrigLen = int(bo.Uint32(whole[12:]))
		if p.OrigLen < int(caplen) {
			p.OrigLen = int(caplen)
		}
		p.LinkType = link
		pending = pcapRecordLen + int(caplen)
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
