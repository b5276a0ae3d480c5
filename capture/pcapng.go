package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"

	"github.com/visor-dns/visor"
)

// MaxBlockLen is the longest pcapng block visor accepts (Wireshark's own
// limit); a longer one is corruption. Blocks visor does not use are skipped
// without being held in memory.
const MaxBlockLen = 16 << 20

// maxInterfaces bounds the interface descriptions of one pcapng section,
// so a file of nothing but them cannot grow the table without end.
const maxInterfaces = 1 << 16

// pcapng block types visor reads; every other block is skipped.
const (
	ngSectionHeader = 0x0a0d0d0a
	ngInterface     = 0x00000001
	ngPacket        = 0x00000002 // obsolete Packet Block
	ngSimplePacket  = 0x00000003
	ngEnhanced      = 0x00000006
	ngByteOrder     = 0x1a2b3c4d
)

// ngIface is what a packet needs from its interface description.
type ngIface struct {
	link    uint16
	snaplen uint32
	units   uint64 // timestamp units per second
	offset  int64  // if_tsoffset, seconds
}

// ngReader reads pcapng itself rather than through pcapgo.NgReader, which
// trusts declared lengths (a bogus captured length reads the rest of the
// file into one buffer) and keeps every interface, name and secret block:
// here every block is bounded, packets are handed out from the buffered
// stream, and every error names the block's byte offset.
type ngReader struct {
	br      *bufio.Reader
	pos     int64 // offset of the next block in the stream
	pending int   // bytes of the last block still to discard
	fields        // in the section's byte order
	ifaces  []ngIface
	skip    bool             // inside a section of a version visor does not read
	info    *visor.InputInfo // counts the packets skipped
}

func newPcapng(br *bufio.Reader, st *stream, index int) (*source, error) {
	r := &ngReader{br: br, info: st.info}
	st.info.Format = "pcapng" + st.info.Format
	var s *source
	s = newSource(st, index, func(p *visor.Packet) error {
		off, err := r.next(p)
		if err != nil {
			if err == io.EOF {
				return io.EOF
			}
			return s.failAt(off, eofIsUnexpected(err))
		}
		return nil
	})
	// The first block must be a readable section header.
	hdr, err := br.Peek(12)
	if err != nil {
		return nil, &Error{Path: st.info.Path, Offset: 0, Err: fmt.Errorf("pcapng section header: %w", eofIsUnexpected(err))}
	}
	if ngOrder(hdr[8:12]) == nil {
		return nil, &Error{Path: st.info.Path, Offset: 8, Err: errors.New("pcapng section header: bad byte-order magic")}
	}
	return s, nil
}

// ngOrder is the byte order a section header's byte-order magic says, or nil.
func ngOrder(b []byte) binary.ByteOrder {
	switch {
	case binary.LittleEndian.Uint32(b) == ngByteOrder:
		return binary.LittleEndian
	case binary.BigEndian.Uint32(b) == ngByteOrder:
		return binary.BigEndian
	}
	return nil
}

// next fills p with the next packet; on an error it returns the offset of
// the block at fault. io.EOF means the stream ended between blocks.
func (r *ngReader) next(p *visor.Packet) (int64, error) {
	if r.pending > 0 {
		if _, err := r.br.Discard(r.pending); err != nil {
			return r.pos, eofIsUnexpected(err)
		}
		r.pos += int64(r.pending)
		r.pending = 0
	}
	off, err := r.block(p)
	if err == errEnd {
		return off, io.EOF
	}
	return off, eofIsUnexpected(err)
}

// errEnd is the stream ending between blocks; any other io.EOF is a truncation.
var errEnd = errors.New("end of pcapng")

// block reads blocks up to the next packet.
func (r *ngReader) block(p *visor.Packet) (int64, error) {
	for {
		off := r.pos
		hdr, err := r.br.Peek(8)
		if err != nil {
			if err == io.EOF && len(hdr) == 0 {
				return off, errEnd
			}
			return off, err
		}
		typ := r.u32(hdr)
		if typ == ngSectionHeader {
			if hdr, err = r.br.Peek(12); err != nil {
				return off, err
			}
			bo := ngOrder(hdr[8:12])
			if bo == nil {
				return off, errors.New("pcapng section header: bad byte-order magic")
			}
			r.big = bo == binary.BigEndian
		}
		length := r.u32(hdr[4:])
		if length < 12 || length%4 != 0 || length > MaxBlockLen {
			return off, fmt.Errorf("pcapng block (type %#x) declares %d bytes, want a multiple of 4 from 12 to %d", typ, length, MaxBlockLen)
		}
		n := int(length)
		switch {
		case typ == ngSectionHeader:
			err = r.section(n)
		case r.skip:
		case typ == ngInterface:
			err = r.iface(n)
		case typ == ngEnhanced || typ == ngPacket || typ == ngSimplePacket:
			if err = r.packet(typ, n, p); err == nil {
				r.pending = n
				return off, nil
			}
			if err == errTimeRange {
				skipped(r.info, ReasonTimeRange)
				err = nil // read past the block
			}
		}
		if err != nil {
			return off, err
		}
		if _, err := r.br.Discard(n); err != nil {
			return off, err
		}
		r.pos += int64(n)
	}
}

// section starts a section: a new byte order (already set), no interfaces.
func (r *ngReader) section(n int) error {
	b, err := r.br.Peek(16)
	if err != nil {
		return err
	}
	if n < 28 {
		return fmt.Errorf("pcapng section header of %d bytes, want at least 28", n)
	}
	major, minor := r.u16(b[12:]), r.u16(b[14:])
	// As Wireshark: 1.0 and 1.2 are read; other versions' sections skipped.
	r.skip = major != 1 || (minor != 0 && minor != 2)
	r.ifaces = r.ifaces[:0]
	return nil
}

// iface reads an interface description: link type, snaplen and the
// if_tsresol and if_tsoffset options.
func (r *ngReader) iface(n int) error {
	if n < 20 {
		return fmt.Errorf("pcapng interface description of %d bytes, want at least 20", n)
	}
	if n > r.br.Size() {
		return fmt.Errorf("pcapng interface description of %d bytes, more than the %d visor reads", n, r.br.Size())
	}
	if len(r.ifaces) >= maxInterfaces {
		return fmt.Errorf("more than %d interfaces in a pcapng section", maxInterfaces)
	}
	b, err := r.br.Peek(n)
	if err != nil {
		return err
	}
	ifc := ngIface{link: r.u16(b[8:]), snaplen: r.u32(b[12:]), units: 1_000_000}
	opts := b[16 : n-4]
	for len(opts) >= 4 {
		code, l := r.u16(opts), int(r.u16(opts[2:]))
		if code == 0 || 4+l > len(opts) {
			break
		}
		v := opts[4 : 4+l]
		switch {
		case code == 9 && l >= 1: // if_tsresol
			e := uint(v[0] & 0x7f)
			if v[0]&0x80 != 0 {
				if e > 63 {
					return fmt.Errorf("pcapng timestamp resolution 2^-%d", e)
				}
				ifc.units = 1 << e
			} else {
				if e > 19 {
					return fmt.Errorf("pcapng timestamp resolution 10^-%d", e)
				}
				ifc.units = 1
				for ; e > 0; e-- {
					ifc.units *= 10
				}
			}
		case code == 14 && l >= 8: // if_tsoffset
			ifc.offset = int64(r.u64(v))
		}
		opts = opts[4+(l+3)&^3:]
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

// packet reads an enhanced, simple or obsolete packet block of n bytes
// into p; p.Data points into the stream's buffer.
func (r *ngReader) packet(typ uint32, n int, p *visor.Packet) error {
	head := 28 // type, length, interface, timestamp, captured and original length
	if typ == ngSimplePacket {
		head = 12
	}
	if n < head+4 {
		return fmt.Errorf("pcapng packet block of %d bytes, want at least %d", n, head+4)
	}
	b, err := r.br.Peek(head)
	if err != nil {
		return err
	}
	var id int
	var ts uint64
	var caplen, origlen uint32
	switch typ {
	case ngSimplePacket:
		origlen = r.u32(b[8:])
		caplen = min(origlen, uint32(n-head-4))
		if len(r.ifaces) > 0 && r.ifaces[0].snaplen != 0 {
			caplen = min(caplen, r.ifaces[0].snaplen)
		}
	case ngPacket:
		id = int(r.u16(b[8:]))
	default:
		id = int(r.u32(b[8:]))
	}
	if typ != ngSimplePacket {
		ts = uint64(r.u32(b[12:]))<<32 | uint64(r.u32(b[16:]))
		caplen, origlen = r.u32(b[20:]), r.u32(b[24:])
	}
	if id >= len(r.ifaces) {
		return fmt.Errorf("pcapng packet on interface %d, the section describes %d", id, len(r.ifaces))
	}
	if caplen > MaxCapLen {
		return fmt.Errorf("record declares %d captured bytes, more than the %d visor accepts", caplen, MaxCapLen)
	}
	if int(caplen) > n-head-4 {
		return fmt.Errorf("pcapng packet block of %d bytes declares %d captured bytes", n, caplen)
	}
	whole, err := r.br.Peek(head + int(caplen))
	if err != nil {
		return err
	}
	ifc := &r.ifaces[id]
	var ok bool
	if p.TS, ok = ifc.nanos(ts); !ok {
		return errTimeRange
	}
	p.Data = whole[head:]
	p.OrigLen = max(int(origlen), int(caplen))
	p.LinkType = ifc.link
	return nil
}

// nanos turns a timestamp in the interface's units into Unix nanoseconds;
// false when they do not hold it (with if_tsoffset, or 2^40 s at 2^-0).
func (ifc *ngIface) nanos(ts uint64) (int64, bool) {
	var sec, ns uint64
	switch ifc.units { // the usual units, with constant divisors
	case 1_000_000:
		sec, ns = ts/1_000_000, ts%1_000_000*1000
	case 1_000_000_000:
		sec, ns = ts/1_000_000_000, ts%1_000_000_000
	default:
		var frac uint64
		sec, frac = ts/ifc.units, ts%ifc.units
		hi, lo := bits.Mul64(frac, 1e9)
		ns, _ = bits.Div64(hi, lo, ifc.units) // frac < units, so no overflow
	}
	if ifc.offset == 0 && sec < maxSec {
		return int64(sec)*1e9 + int64(ns), true
	}
	return offsetNanos(sec, ifc.offset, int64(ns))
}
