package decode

import (
	"encoding/binary"

	"github.com/visor-dns/visor"
)

// Link types that wrap an IP packet (or another link layer) in a header of
// their own: Linux NFLOG, Apple PKTAP, ARCNET.
const (
	linkARCNET      = 7   // BSD ARCNET (RFC 1051 and RFC 1201 framing)
	linkARCNETLinux = 129 // Linux ARCNET: a 2-byte offset after the addresses
	linkPKTAPDarwin = 149 // DLT_PKTAP on macOS (DLT_USER2)
	linkNFLOG       = 239 // Linux netfilter NFLOG
	linkPKTAP       = 258 // LINKTYPE_PKTAP
	maxPKTAPHeader  = 4096
	pktapHeaderLen  = 108 // the fixed part of struct pktap_header
	pktapRecPacket  = 1   // PKT_REC_PACKET: a packet follows the header
	nflogPayload    = 9   // NFULA_PAYLOAD: the network-layer packet
	arcTypeIPOld    = 240 // RFC 1051 IP
	arcTypeARPOld   = 241
	arcTypeDiagnose = 0x80
	arcTypeIP       = 212 // RFC 1201 IP
	arcTypeARP      = 213
	arcTypeRARP     = 214
	arcTypeIPv6     = 196
	arcHeaderOld    = 3  // source, destination, type
	arcHeaderNew    = 6  // and split flag, sequence number
	arcHeaderExcept = 10 // an exception packet: flag 0xff, 2 filler bytes, type, flag, sequence again
	arcLinuxHeader  = 5  // source, destination, offset, type
	arcLinuxNew     = 8  // and split flag, sequence number
	afINET          = 2
	afINET6         = 10
)

// nflog decodes a Linux NFLOG record (LINKTYPE_NFLOG): a 4-byte header
// (address family, version, resource ID) and TLVs, of which NFULA_PAYLOAD
// holds the IP packet. The TLVs' length and type are in the byte order of
// the host that captured them; it is read from the first TLV, whose type
// (1 to a few dozen) is below 256 in one order only.
func nflog(b []byte, f *visor.Frame) Status {
	if len(b) < 8 {
		return TruncatedLink
	}
	family := b[0]
	b = b[4:]
	var bo binary.ByteOrder = binary.LittleEndian
	if t := bo.Uint16(b[2:4]) &^ 0xc000; t == 0 || t > 0xff {
		bo = binary.BigEndian
	}
	for len(b) >= 4 {
		n := int(bo.Uint16(b[0:2]))
		typ := bo.Uint16(b[2:4]) &^ 0xc000 // NLA_F_NESTED, NLA_F_NET_BYTEORDER
		if n < 4 {
			return TruncatedLink
		}
		if typ == nflogPayload {
			p := b[4:min(n, len(b))] // a snaplen may cut the payload: the IP layer says so
			switch family {
			case afINET:
				return ipv4(p, f)
			case afINET6:
				return ipv6(p, f)
			}
			return NonIP
		}
		if n > len(b) {
			return TruncatedLink
		}
		b = b[min((n+3)&^3, len(b)):]
	}
	return NonIP // a record without a payload (e.g. a --nflog-size 0 rule)
}

// pktap strips an Apple PKTAP header (LINKTYPE_PKTAP, or DLT_PKTAP 149 as
// macOS writes it): its little-endian length, record type and the DLT of
// the packet that follows. It returns that link type and the packet.
func pktap(b []byte) (uint16, []byte, Status) {
	if len(b) < pktapHeaderLen {
		return 0, nil, TruncatedLink
	}
	hl := binary.LittleEndian.Uint32(b[0:4])
	if hl < pktapHeaderLen || hl > maxPKTAPHeader {
		return 0, nil, BadLink
	}
	if int(hl) > len(b) {
		return 0, nil, TruncatedLink
	}
	if binary.LittleEndian.Uint32(b[4:8]) != pktapRecPacket {
		return 0, nil, NonIP
	}
	dlt := binary.LittleEndian.Uint32(b[8:12])
	if dlt > 0xffff || dlt == linkPKTAP || dlt == linkPKTAPDarwin {
		return 0, nil, UnsupportedLink
	}
	return uint16(dlt), b[hl:], OK
}

// arcnet strips an ARCNET header and returns the ethertype-like protocol
// of what follows. BSD ARCNET (linux false) frames RFC 1201 packets with a
// split flag: a fragment other than the first carries no header of its own
// and is not IP; the first fragment of a split packet is the start of its
// datagram (its IP layer is then cut short, as a snaplen would). Linux
// ARCNET hands over reassembled packets.
func arcnet(b []byte, linux bool) (uint16, []byte, Status) {
	hl, typeAt := arcHeaderOld, 2
	if linux {
		hl, typeAt = arcLinuxHeader, 4
	}
	if len(b) < hl {
		return 0, nil, TruncatedLink
	}
	typ := b[typeAt]
	switch typ {
	case arcTypeIPOld, arcTypeARPOld, arcTypeDiagnose:
	default:
		switch {
		case linux:
			hl = arcLinuxNew
		case len(b) >= 4 && b[3] == 0xff:
			hl = arcHeaderExcept
		default:
			hl = arcHeaderNew
		}
		if len(b) < hl {
			return 0, nil, TruncatedLink
		}
		if !linux {
			if flag := b[hl-3]; flag != 0 && flag&1 == 0 {
				return 0, nil, NonIP // a later fragment of a split packet
			}
		}
	}
	b = b[hl:]
	switch typ {
	case arcTypeIP, arcTypeIPOld:
		return etherIPv4, b, OK
	case arcTypeIPv6:
		return etherIPv6, b, OK
	case arcTypeARP, arcTypeARPOld, arcTypeRARP:
		return etherARP, b, OK
	}
	return 0, nil, NonIP
}

// PPP link types and protocols.
const (
	linkPPP        = 9      // PPP, with or without HDLC address and control
	linkPPPSerial  = 50     // PPP in HDLC framing, or Cisco HDLC
	linkPPPEther   = 51     // PPPoE session header, then PPP
	etherPPPoE     = 0x8864 // PPPoE session stage in Ethernet
	pppIPv4        = 0x0021
	pppIPv6        = 0x0057
	pppoeHeaderLen = 6 // version and type, code, session ID, length
)

// ppp strips a PPP header: the HDLC address and control bytes (0xff 0x03)
// if there, then the protocol, one byte when compressed (odd). With
// serial, a Cisco HDLC header (0x0f or 0x8f, control, ethertype) is read too.
func ppp(b []byte, serial bool) (uint16, []byte, Status) {
	if serial && len(b) >= 1 && (b[0] == 0x0f || b[0] == 0x8f) {
		if len(b) < 4 {
			return 0, nil, TruncatedLink
		}
		return binary.BigEndian.Uint16(b[2:4]), b[4:], OK
	}
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:]
	}
	if len(b) < 1 {
		return 0, nil, TruncatedLink
	}
	proto := uint16(b[0])
	if proto&1 == 1 {
		b = b[1:]
	} else {
		if len(b) < 2 {
			return 0, nil, TruncatedLink
		}
		proto, b = binary.BigEndian.Uint16(b), b[2:]
	}
	switch proto {
	case pppIPv4:
		return etherIPv4, b, OK
	case pppIPv6:
		return etherIPv6, b, OK
	}
	return 0, nil, NonIP
}

// pppoeSession decodes a PPPoE session packet (RFC 2516: version 1, type
// 1, code 0) and the IP packet its PPP frame carries.
func pppoeSession(b []byte, f *visor.Frame) Status {
	if len(b) < pppoeHeaderLen+1 {
		return TruncatedLink
	}
	if b[0] != 0x11 || b[1] != 0 {
		return NonIP // discovery, or another version
	}
	if n := int(binary.BigEndian.Uint16(b[4:6])); n < len(b)-pppoeHeaderLen {
		b = b[:pppoeHeaderLen+n] // Ethernet padding
	}
	ether, p, st := ppp(b[pppoeHeaderLen:], false)
	if st != OK {
		return st
	}
	if ether == etherIPv6 {
		return ipv6(p, f)
	}
	return ipv4(p, f)
}
