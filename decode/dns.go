package decode

import (
	"encoding/binary"
	"net/netip"
)

// DNS is a parsed view of one DNS message: the header, the first question
// and the EDNS facts visor reports. Parse fills it without allocating; the
// name lives in the view's own buffer.
type DNS struct {
	ID      uint16
	Flags   uint16
	QDCount uint16
	ANCount uint16
	NSCount uint16
	ARCount uint16

	HasQuestion bool
	QType       uint16
	QClass      uint16
	name        [maxPresentation]byte
	nameLen     int
	seps        labelSeps // where the name's last labels begin

	EDNS    bool
	DO      bool
	UDPSize uint16
	ECS     bool
	// The first Client Subnet option (RFC 7871): its family (1 IPv4, 2
	// IPv6), source and scope prefix lengths, and its address masked to the
	// source prefix. ECSAddr is invalid when the option did not parse.
	ECSFamily uint16
	ECSSource uint8
	ECSScope  uint8
	ECSAddr   netip.Addr

	// The OPT record's extended rcode (upper 8 bits of the 12-bit rcode)
	// and EDNS version; a DNS Cookie option (RFC 7873); the INFO-CODEs of
	// the first maxEDE Extended DNS Error options (RFC 8914), EDEs of them.
	ExtRcode    uint8
	EDNSVersion uint8
	Cookie      bool
	EDEs        uint8
	EDE         [maxEDE]uint16

	// Malformed is set when the header parsed but the rest did not.
	Malformed bool
}

// nameByte maps a label byte to its presentation form when that is one
// byte (lower case for A-Z), and to 0 when it must be escaped as \DDD.
var nameByte = func() (t [256]byte) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= 'A' && c <= 'Z':
			t[c] = byte(c + 32)
		case c == '.' || c == '\\' || c <= ' ' || c >= 0x7f:
			t[c] = 0
		default:
			t[c] = byte(c)
		}
	}
	return t
}()

// lowerPlain copies lab into d (of the same length) in lower case and
// reports true, unless some byte of lab must be escaped; d is then partly
// written and the caller escapes the label byte by byte. Eight bytes at a
// time; a tail shorter than eight is read as a whole word too when lab's
// and d's capacities reach eight bytes on (the bytes past lab are masked
// off, and those past d's length written over later or never read),
// else through the table.
func lowerPlain(d, lab []byte) bool {
	i := 0
	for ; i+8 <= len(lab); i += 8 {
		x, ok := lowerWord(binary.LittleEndian.Uint64(lab[i:]))
		if !ok {
			return false
		}
		binary.LittleEndian.PutUint64(d[i:], x)
	}
	if rem := len(lab) - i; rem > 0 && cap(lab)-i >= 8 && cap(d)-i >= 8 {
		// The bytes past lab become 'a', which passes and stays.
		keep := uint64(1)<<(8*rem) - 1
		x, ok := lowerWord(binary.LittleEndian.Uint64(lab[i:i+8])&keep | 0x6161616161616161&^keep)
		if !ok {
			return false
		}
		binary.LittleEndian.PutUint64(d[i:i+8], x)
		return true
	}
	for ; i < len(lab); i++ {
		lc := nameByte[lab[i]]
		if lc == 0 {
			return false
		}
		d[i] = lc
	}
	return true
}

// lowerWord lowers eight label bytes at once, or reports false when one of
// them must be escaped.
func lowerWord(x uint64) (uint64, bool) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// Escaped: below 0x21, above 0x7e, '.' or '\\' (see nameByte).
	low := (x - 0x21*ones) &^ x & highs
	high := (x + (0x80-0x7f)*ones | x) & highs
	dot, bs := x^(0x2e*ones), x^(0x5c*ones)
	if low|high|((dot-ones)&^dot&highs)|((bs-ones)&^bs&highs) != 0 {
		return 0, false
	}
	// Every byte is now in 0x21..0x7e: add 0x20 to those in 'A'..'Z'.
	upper := (x + (0x80-'A')*ones) &^ (x + (0x80-'Z'-1)*ones) & highs
	return x | upper>>2, true
}

// maxPresentation bounds a name in presentation form (255 wire bytes, each
// escaped as \DDD at worst).
const maxPresentation = 1024

// maxEDE bounds the Extended DNS Error options a view keeps.
const maxEDE = 4

// FullRcode is the 12-bit response code: the OPT record's extended rcode
// above the header's four bits (RFC 6891).
func (m *DNS) FullRcode() uint16 { return uint16(m.ExtRcode)<<4 | uint16(m.Rcode()) }

// HeaderLen is the fixed DNS header length.
const HeaderLen = 12

// Response reports the QR bit.
func (m *DNS) Response() bool { return m.Flags&0x8000 != 0 }

// Rcode is the header's 4-bit response code.
func (m *DNS) Rcode() uint8 { return uint8(m.Flags & 0x000f) }

// Opcode is the header's opcode.
func (m *DNS) Opcode() uint8 { return uint8(m.Flags>>11) & 0x0f }

// TC reports the truncation bit.
func (m *DNS) TC() bool { return m.Flags&0x0200 != 0 }

// QName is the first question's name, lowercased, in presentation form
// without the trailing dot ("." for the root). It aliases the view and is
// valid until the next Parse.
func (m *DNS) QName() []byte { return m.name[:m.nameLen] }

// QNameSuffix returns the question name's last k labels (1 ≤ k ≤ 3) with
// their leading dot (".example.com"); the whole name when it has exactly k
// labels; nil when it has fewer, or is the root.
func (m *DNS) QNameSuffix(k int) []byte {
	name := m.QName()
	if len(name) == 0 || len(name) == 1 && name[0] == '.' {
		return nil
	}
	switch n := m.seps.n; {
	case n >= k:
		return name[m.seps.pos[(n-k)%3]:]
	case n == k-1:
		return name
	}
	return nil
}

// labelSeps records the positions of the last three dots readName wrote
// between labels, and how many it wrote.
type labelSeps struct {
	pos [3]int32
	n   int
}

// ParseDNS fills m from the wire message b. It returns false when b is too
// short for a header; otherwise m.Malformed tells whether the rest parsed.
func ParseDNS(b []byte, m *DNS) bool {
	if len(b) < HeaderLen {
		return false
	}
	m.ID = binary.BigEndian.Uint16(b[0:2])
	m.Flags = binary.BigEndian.Uint16(b[2:4])
	m.QDCount = binary.BigEndian.Uint16(b[4:6])
	m.ANCount = binary.BigEndian.Uint16(b[6:8])
	m.NSCount = binary.BigEndian.Uint16(b[8:10])
	m.ARCount = binary.BigEndian.Uint16(b[10:12])
	m.HasQuestion, m.QType, m.QClass, m.nameLen = false, 0, 0, 0
	m.EDNS, m.DO, m.UDPSize, m.ECS, m.Malformed = false, false, 0, false, false
	m.ECSFamily, m.ECSSource, m.ECSScope, m.ECSAddr = 0, 0, 0, netip.Addr{}
	m.ExtRcode, m.EDNSVersion, m.Cookie, m.EDEs = 0, 0, false, 0
	off := HeaderLen
	for i := 0; i < int(m.QDCount); i++ {
		var ok bool
		if i == 0 {
			m.nameLen, off, ok = readName(b, off, m.name[:], &m.seps)
		} else {
			off, ok = skipName(b, off)
		}
		if !ok || off+4 > len(b) {
			if i == 0 {
				m.nameLen = 0 // no whole question: QName stays empty, as HasQuestion says
			}
			m.Malformed = true
			return true
		}
		if i == 0 {
			m.HasQuestion = true
			m.QType = binary.BigEndian.Uint16(b[off:])
			m.QClass = binary.BigEndian.Uint16(b[off+2:])
		}
		off += 4
	}
	for i := 0; i < int(m.ANCount)+int(m.NSCount); i++ {
		var ok bool
		if off, ok = skipRR(b, off); !ok {
			m.Malformed = true
			return true
		}
	}
	for i := 0; i < int(m.ARCount); i++ {
		start := off
		var ok bool
		if off, ok = skipName(b, off); !ok || off+10 > len(b) {
			m.Malformed = true
			return true
		}
		typ := binary.BigEndian.Uint16(b[off:])
		rdlen := int(binary.BigEndian.Uint16(b[off+8:]))
		if off+10+rdlen > len(b) {
			m.Malformed = true
			return true
		}
		if typ == 41 && off == start+1 { // OPT owner is the root
			m.EDNS = true
			m.UDPSize = binary.BigEndian.Uint16(b[off+2:])
			m.ExtRcode, m.EDNSVersion = b[off+4], b[off+5]
			m.DO = binary.BigEndian.Uint16(b[off+6:])&0x8000 != 0
			opts := b[off+10 : off+10+rdlen]
			for len(opts) >= 4 {
				code := binary.BigEndian.Uint16(opts)
				olen := int(binary.BigEndian.Uint16(opts[2:]))
				if code == 8 && !m.ECS {
					m.ECS = true
					if 4+olen <= len(opts) {
						m.parseECS(opts[4 : 4+olen])
					}
				}
				if 4+olen > len(opts) {
					break
				}
				switch code {
				case 10:
					m.Cookie = true
				case 15:
					if olen >= 2 && int(m.EDEs) < maxEDE {
						m.EDE[m.EDEs] = binary.BigEndian.Uint16(opts[4:])
						m.EDEs++
					}
				}
				opts = opts[4+olen:]
			}
		}
		off += 10 + rdlen
	}
	return true
}

// ECSPrefix is the Client Subnet's source prefix ("198.51.100.0/24"),
// invalid when there is none.
func (m *DNS) ECSPrefix() netip.Prefix {
	if !m.ECSAddr.IsValid() {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(m.ECSAddr, int(m.ECSSource))
}

// parseECS reads a Client Subnet option's data: family, source and scope
// prefix lengths, then the address cut to the source prefix's bytes.
func (m *DNS) parseECS(d []byte) {
	if len(d) < 4 {
		return
	}
	m.ECSFamily = binary.BigEndian.Uint16(d)
	m.ECSSource, m.ECSScope = d[2], d[3]
	addr := d[4:]
	var a netip.Addr
	switch {
	case m.ECSFamily == 1 && m.ECSSource <= 32 && len(addr) <= 4:
		var b [4]byte
		copy(b[:], addr)
		a = netip.AddrFrom4(b)
	case m.ECSFamily == 2 && m.ECSSource <= 128 && len(addr) <= 16:
		var b [16]byte
		copy(b[:], addr)
		a = netip.AddrFrom16(b)
	default:
		return
	}
	if p, err := a.Prefix(int(m.ECSSource)); err == nil {
		m.ECSAddr = p.Addr()
	}
}

// readName reads a possibly compressed name at off into dst in lowercase
// presentation form. It returns the length written and the offset after
// the name in the message.
func readName(b []byte, off int, dst []byte, seps *labelSeps) (n, next int, ok bool) {
	next = -1
	seps.n = 0
	wire := 0
	for jumps := 0; ; {
		if off >= len(b) {
			return 0, 0, false
		}
		l := int(b[off])
		switch {
		case l == 0:
			if next < 0 {
				next = off + 1
			}
			if n == 0 {
				dst[0] = '.'
				n = 1
			}
			return n, next, true
		case l&0xc0 == 0xc0:
			if off+1 >= len(b) {
				return 0, 0, false
			}
			ptr := int(binary.BigEndian.Uint16(b[off:]) & 0x3fff)
			if next < 0 {
				next = off + 2
			}
			if jumps++; jumps > 64 || ptr >= off {
				return 0, 0, false
			}
			off = ptr
		case l&0xc0 != 0:
			return 0, 0, false
		default:
			wire += l + 1
			if wire+1 > 255 || off+1+l > len(b) { // +1: the root label's length byte
				return 0, 0, false
			}
			if n > 0 {
				seps.pos[seps.n%3] = int32(n)
				seps.n++
				dst[n] = '.'
				n++
			}
			lab := b[off+1 : off+1+l]
			if n+4*l > len(dst) { // cannot happen: wire ≤ 255 and dst holds 4 bytes a wire byte
				return 0, 0, false
			}
			// Most labels need no escape: lower them through a table, and
			// fall back to escaping only when a byte asks for it.
			if lowerPlain(dst[n:n+l], lab) {
				n += l
				off += 1 + l
				continue
			}
			for _, c := range lab {
				switch {
				case c >= 'A' && c <= 'Z':
					dst[n] = c + 32
					n++
				case c == '.' || c == '\\' || c <= ' ' || c >= 0x7f:
					dst[n] = '\\'
					dst[n+1] = '0' + c/100
					dst[n+2] = '0' + c/10%10
					dst[n+3] = '0' + c%10
					n += 4
				default:
					dst[n] = c
					n++
				}
			}
			off += 1 + l
		}
	}
}

// skipName returns the offset after the name at off.
func skipName(b []byte, off int) (int, bool) {
	for wire := 0; ; {
		if off >= len(b) {
			return 0, false
		}
		l := int(b[off])
		switch {
		case l == 0:
			return off + 1, true
		case l&0xc0 == 0xc0:
			if off+2 > len(b) {
				return 0, false
			}
			return off + 2, true
		case l&0xc0 != 0:
			return 0, false
		}
		wire += l + 1
		if wire+1 > 255 { // +1: the root label's length byte
			return 0, false
		}
		off += 1 + l
	}
}

// skipRR returns the offset after the resource record at off.
func skipRR(b []byte, off int) (int, bool) {
	off, ok := skipName(b, off)
	if !ok || off+10 > len(b) {
		return 0, false
	}
	end := off + 10 + int(binary.BigEndian.Uint16(b[off+8:]))
	if end > len(b) {
		return 0, false
	}
	return end, true
}
