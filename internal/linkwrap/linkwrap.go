// Package linkwrap writes packets in the link layers visor reads besides
// Ethernet: Linux NFLOG, Apple PKTAP and ARCNET (BSD and Linux framing),
// for tests and for the testdata captures that scripts/relink makes from
// real Ethernet lab captures. Each header is built as the capturing system
// writes it (libpcap's pcap-linktype.html and the kernels' headers).
package linkwrap

import (
	"encoding/binary"
	"fmt"

	"github.com/visor-dns/visor/internal/fuzzcap"
)

// Link types this package writes (pcap LINKTYPE_* values).
const (
	ARCNET      = 7
	ARCNETLinux = 129
	PKTAPDarwin = 149
	NFLOG       = 239
	PKTAP       = 258
	PPP         = 9
	PPPSerial   = 50
	PPPEther    = 51
	// EthernetPPPoE is Ethernet whose IP packets Relink puts in PPPoE sessions.
	EthernetPPPoE = 0x10001
	linkEthernet  = 1
)

// NFLOG record constants (linux/netfilter/nfnetlink_log.h).
const (
	nfulaPacketHdr   = 1
	nfulaIfindexIn   = 4
	nfulaPayload     = 9
	nfulaPrefix      = 10
	afINET, afINET6  = 2, 10
	arcIP, arcIPv6   = 212, 196
	arcIPOld         = 240
	pktapHeaderLen   = 108
	pktapRecordPkt   = 1
	etherIPv4, ethV6 = 0x0800, 0x86dd
)

// NFLOGRecord is an NFLOG record for the IP packet ip: the header
// (family, version 0, resource ID 1 in network order), then
// NFULA_PACKET_HDR, NFULA_PREFIX "visor", NFULA_IFINDEX_INDEV and
// NFULA_PAYLOAD, each TLV's length and type in bo (the capturing host's
// order) and padded to 4 bytes, as the kernel writes them.
func NFLOGRecord(ip []byte, bo binary.AppendByteOrder) []byte {
	fam, proto := byte(afINET), uint16(etherIPv4)
	if len(ip) > 0 && ip[0]>>4 == 6 {
		fam, proto = afINET6, ethV6
	}
	out := []byte{fam, 0, 0, 1}
	tlv := func(typ uint16, v []byte) {
		out = bo.AppendUint16(out, uint16(4+len(v)))
		out = bo.AppendUint16(out, typ)
		out = append(out, v...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	tlv(nfulaPacketHdr, []byte{byte(proto >> 8), byte(proto), 1, 0}) // hw protocol, hook NF_INET_LOCAL_IN
	tlv(nfulaPrefix, []byte("visor\x00"))
	tlv(nfulaIfindexIn, binary.BigEndian.AppendUint32(nil, 2))
	tlv(nfulaPayload, ip)
	return out
}

// PKTAPRecord is a PKTAP record (little-endian header of 108 bytes, record
// type PKT_REC_PACKET) around a packet of link type dlt.
func PKTAPRecord(dlt uint32, inner []byte) []byte {
	h := make([]byte, pktapHeaderLen)
	le := binary.LittleEndian
	le.PutUint32(h[0:], pktapHeaderLen)
	le.PutUint32(h[4:], pktapRecordPkt)
	le.PutUint32(h[8:], dlt)
	copy(h[12:36], "en0")
	le.PutUint32(h[52:], 4242) // pid
	copy(h[56:76], "kdig")
	return append(h, inner...)
}

// ARCNETFrame is a BSD ARCNET frame (RFC 1201: source, destination, type,
// split flag 0, sequence number) around the IP packet ip; old selects the
// RFC 1051 framing (source, destination, type 240), IPv4 only.
func ARCNETFrame(ip []byte, old bool) []byte {
	if old {
		return append([]byte{0x01, 0x02, arcIPOld}, ip...)
	}
	return append([]byte{0x01, 0x02, arcType(ip), 0, 0x12, 0x34}, ip...)
}

// ARCNETLinuxFrame is a Linux ARCNET frame (source, destination, a 2-byte
// offset, type, split flag, sequence number) around the IP packet ip.
func ARCNETLinuxFrame(ip []byte) []byte {
	return append([]byte{0x01, 0x02, 0, 0, arcType(ip), 0, 0x12, 0x34}, ip...)
}

func arcType(ip []byte) byte {
	if len(ip) > 0 && ip[0]>>4 == 6 {
		return arcIPv6
	}
	return arcIP
}

// PPPFrame is a PPP frame (HDLC address and control, then the 2-byte
// protocol: 0x0021 IPv4, 0x0057 IPv6) around the IP packet ip.
func PPPFrame(ip []byte) []byte {
	proto := byte(0x21)
	if len(ip) > 0 && ip[0]>>4 == 6 {
		proto = 0x57
	}
	return append([]byte{0xff, 0x03, 0, proto}, ip...)
}

// PPPoESession is a PPPoE session header (RFC 2516: version and type 0x11,
// code 0, session 0x1234, the PPP payload's length) and a PPP protocol
// field around the IP packet ip.
func PPPoESession(ip []byte) []byte {
	p := PPPFrame(ip)[2:]
	return append([]byte{0x11, 0, 0x12, 0x34, byte(len(p) >> 8), byte(len(p))}, p...)
}

// ipOf returns the IP packet an Ethernet frame carries (one 802.1Q tag at
// most), or nil.
func ipOf(frame []byte) []byte {
	if len(frame) < 14 {
		return nil
	}
	et, b := binary.BigEndian.Uint16(frame[12:14]), frame[14:]
	if et == 0x8100 && len(b) >= 4 {
		et, b = binary.BigEndian.Uint16(b[2:4]), b[4:]
	}
	if et != etherIPv4 && et != ethV6 {
		return nil
	}
	return b
}

// Relink rewrites an Ethernet capture into link type link: PKTAP (258 or
// 149) wraps every frame; NFLOG, ARCNET, PPP and PPPoE (EthernetPPPoE:
// Ethernet frames of PPPoE sessions) carry the IP packets only (the others,
// ARP and the like, are left out, as an NFLOG rule or a PPP link would not
// see them). bo is the NFLOG TLVs' byte order.
func Relink(c *fuzzcap.Capture, link uint32, bo binary.AppendByteOrder) (*fuzzcap.Capture, error) {
	if c.LinkType != linkEthernet {
		return nil, fmt.Errorf("linkwrap: link type %d, want Ethernet", c.LinkType)
	}
	out := &fuzzcap.Capture{LinkType: uint16(link)}
	if link == EthernetPPPoE {
		out.LinkType = linkEthernet
	}
	for _, p := range c.Packets {
		var b []byte
		switch link {
		case PKTAP, PKTAPDarwin:
			b = PKTAPRecord(linkEthernet, p.Data)
		case NFLOG, ARCNET, ARCNETLinux, PPP, PPPSerial, PPPEther, EthernetPPPoE:
			ip := ipOf(p.Data)
			if ip == nil {
				continue
			}
			switch link {
			case NFLOG:
				b = NFLOGRecord(ip, bo)
			case PPP, PPPSerial:
				b = PPPFrame(ip)
			case PPPEther:
				b = PPPoESession(ip)
			case EthernetPPPoE:
				b = append(append(append([]byte(nil), p.Data[:12]...), 0x88, 0x64), PPPoESession(ip)...)
			case ARCNET:
				b = ARCNETFrame(ip, false)
			default:
				b = ARCNETLinuxFrame(ip)
			}
		default:
			return nil, fmt.Errorf("linkwrap: cannot write link type %d", link)
		}
		out.Packets = append(out.Packets, fuzzcap.Packet{TS: p.TS, Data: b})
	}
	return out, nil
}
