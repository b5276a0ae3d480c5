package anonymize

import (
	"encoding/binary"
	"net/netip"
)

// DNS replaces, in place, the addresses a DNS message carries by their
// pseudonyms: A and AAAA records' data, and EDNS Client Subnet options
// (their prefix, as many bits as the option's source length). It walks
// the message as far as it is well formed and reports how far it got:
// false when it stopped early (the rest, if it held an address, is left
// as it was).
func (a *Anonymizer) DNS(m []byte) bool {
	if len(m) < 12 {
		return false
	}
	qd := int(binary.BigEndian.Uint16(m[4:]))
	rrs := int(binary.BigEndian.Uint16(m[6:])) + int(binary.BigEndian.Uint16(m[8:])) + int(binary.BigEndian.Uint16(m[10:]))
	off := 12
	for range qd {
		var ok bool
		if off, ok = skipName(m, off); !ok || off+4 > len(m) {
			return false
		}
		off += 4
	}
	for range rrs {
		var ok bool
		if off, ok = skipName(m, off); !ok || off+10 > len(m) {
			return false
		}
		typ := binary.BigEndian.Uint16(m[off:])
		class := binary.BigEndian.Uint16(m[off+2:])
		n := int(binary.BigEndian.Uint16(m[off+8:]))
		off += 10
		if off+n > len(m) {
			return false
		}
		rd := m[off : off+n]
		switch {
		case typ == 1 && class == 1 && n == 4:
			b := a.Addr(netip.AddrFrom4([4]byte(rd))).As4()
			copy(rd, b[:])
		case typ == 28 && class == 1 && n == 16:
			b := a.Addr(netip.AddrFrom16([16]byte(rd))).As16()
			copy(rd, b[:])
		case typ == 41:
			if !a.options(rd) {
				return false
			}
		}
		off += n
	}
	return true
}

// options rewrites the Client Subnet options of an OPT record's data.
func (a *Anonymizer) options(d []byte) bool {
	for len(d) >= 4 {
		code := binary.BigEndian.Uint16(d)
		n := int(binary.BigEndian.Uint16(d[2:]))
		if 4+n > len(d) {
			return false
		}
		if code == 8 && !a.ecs(d[4:4+n]) {
			return false
		}
		d = d[4+n:]
	}
	return len(d) == 0
}

// ecs rewrites one Client Subnet option: family, source and scope
// lengths, then the prefix in as few bytes as its source length needs.
func (a *Anonymizer) ecs(o []byte) bool {
	if len(o) < 4 {
		return false
	}
	fam, src := binary.BigEndian.Uint16(o), int(o[2])
	addr := o[4:]
	size := 0
	switch fam {
	case 1:
		size = 4
	case 2:
		size = 16
	default:
		return true // not an address family we know: left as it is
	}
	if len(addr) > size || src > 8*size {
		return false
	}
	var b [16]byte
	copy(b[:], addr)
	var x netip.Addr
	if size == 4 {
		x = netip.AddrFrom4([4]byte(b[:4]))
	} else {
		x = netip.AddrFrom16(b)
	}
	p, err := x.Prefix(src)
	if err != nil {
		return false
	}
	y := a.Prefix(p).Addr().AsSlice()
	copy(addr, y)
	return true
}

// skipName returns the offset after the (possibly compressed) name at off.
func skipName(m []byte, off int) (int, bool) {
	for {
		if off >= len(m) {
			return 0, false
		}
		l := int(m[off])
		switch {
		case l == 0:
			return off + 1, true
		case l&0xc0 == 0xc0:
			return off + 2, off+2 <= len(m)
		case l&0xc0 != 0:
			return 0, false
		}
		off += 1 + l
	}
}
