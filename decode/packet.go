// Package decode turns captured packets into frames and DNS messages: link
// layers, IP (with fragment reassembly), UDP and TCP (with DNS stream
// reassembly), and a zero-allocation view of DNS messages.
//
// It walks headers by hand rather than through gopacket's
// DecodingLayerParser: the header walk is a few bounds checks per layer and
// runs several times faster (see decode_timing_test.go).
package decode

import (
	"encoding/binary"
	"net/netip"

	"github.com/visor-dns/visor"
)

// Status says how far a packet decoded. Non-OK values are integrity reasons.
type Status uint8

// Decode outcomes. OK and NonIP are normal; the rest are counted in integrity.
const (
	OK Status = iota
	NonIP
	UnsupportedLink
	TruncatedLink
	TruncatedIP
	BadIP
	TruncatedL4
	BadLink
	numStatus
)

var statusNames = [...]string{"ok", "non_ip", "unsupported_link_type", "truncated_link_header", "truncated_ip_header", "bad_ip_header", "truncated_transport_header", "bad_link_header"}

func (s Status) String() string { return statusNames[s] }

// Link types visor decodes (pcap LINKTYPE_* values).
const (
	linkNull     = 0
	linkEthernet = 1
	linkRaw      = 101
	linkRawOld1  = 12
	linkRawOld2  = 14
	linkLoop     = 108
	linkSLL      = 113
	linkIPv4     = 228
	linkIPv6     = 229
	linkSLL2     = 276
)

const (
	etherIPv4 = 0x0800
	etherIPv6 = 0x86dd
	etherARP  = 0x0806
	etherRARP = 0x8035
)

// SupportedLink reports whether Decode understands the link type.
func SupportedLink(lt uint16) bool {
	switch lt {
	case linkNull, linkEthernet, linkRaw, linkRawOld1, linkRawOld2, linkLoop, linkSLL, linkIPv4, linkIPv6, linkSLL2,
		linkNFLOG, linkPKTAP, linkPKTAPDarwin, linkARCNET, linkARCNETLinux, linkPPP, linkPPPSerial, linkPPPEther:
		return true
	}
	return false
}

// Packet decodes p's link, IP and transport headers into f. It allocates
// nothing; f.Payload aliases p.Data.
func Packet(p *visor.Packet, f *visor.Frame) Status {
	*f = visor.Frame{TS: p.TS, WireLen: p.OrigLen}
	return link(p.LinkType, p.Data, f, true)
}

// link decodes a link layer of type lt and what it carries; outer is false
// inside a PKTAP record, which cannot nest another.
func link(lt uint16, b []byte, f *visor.Frame, outer bool) Status {
	var ether uint16
	switch lt {
	case linkEthernet:
		if len(b) < 14 {
			return TruncatedLink
		}
		ether = binary.BigEndian.Uint16(b[12:14])
		b = b[14:]
		for ether == 0x8100 || ether == 0x88a8 || ether == 0x9100 {
			if len(b) < 4 {
				return TruncatedLink
			}
			ether = binary.BigEndian.Uint16(b[2:4])
			b = b[4:]
		}
	case linkSLL:
		if len(b) < 16 {
			return TruncatedLink
		}
		ether = binary.BigEndian.Uint16(b[14:16])
		b = b[16:]
	case linkSLL2:
		if len(b) < 20 {
			return TruncatedLink
		}
		ether = binary.BigEndian.Uint16(b[0:2])
		b = b[20:]
	case linkNull, linkLoop:
		if len(b) < 4 {
			return TruncatedLink
		}
		fam := binary.LittleEndian.Uint32(b[:4])
		if lt == linkLoop || fam > 0xffff {
			fam = binary.BigEndian.Uint32(b[:4])
		}
		b = b[4:]
		switch fam {
		case 2:
			ether = etherIPv4
		case 10, 24, 28, 30:
			ether = etherIPv6
		default:
			return NonIP
		}
	case linkRaw, linkRawOld1, linkRawOld2:
		if len(b) < 1 {
			return TruncatedIP
		}
		switch b[0] >> 4 {
		case 4:
			ether = etherIPv4
		case 6:
			ether = etherIPv6
		default:
			return BadIP
		}
	case linkIPv4:
		ether = etherIPv4
	case linkIPv6:
		ether = etherIPv6
	case linkNFLOG:
		return nflog(b, f)
	case linkPKTAP, linkPKTAPDarwin:
		if !outer {
			return UnsupportedLink
		}
		inner, rest, st := pktap(b)
		if st != OK {
			return st
		}
		return link(inner, rest, f, false)
	case linkPPP, linkPPPSerial:
		var st Status
		if ether, b, st = ppp(b, lt == linkPPPSerial); st != OK {
			return st
		}
	case linkPPPEther:
		return pppoeSession(b, f)
	case linkARCNET, linkARCNETLinux:
		var st Status
		if ether, b, st = arcnet(b, lt == linkARCNETLinux); st != OK {
			return st
		}
	default:
		return UnsupportedLink
	}
	switch ether {
	case etherIPv4:
		return ipv4(b, f)
	case etherIPv6:
		return ipv6(b, f)
	case etherARP, etherRARP:
		arp(b, f)
	case etherPPPoE:
		return pppoeSession(b, f)
	}
	return NonIP
}

// arp puts an IPv4 ARP or RARP packet's sender and target protocol
// addresses in f.Src and f.Dst (f.IPVersion stays 0): pcap-filter's host
// and net match them, and the pipeline forgets them past its filter.
func arp(b []byte, f *visor.Frame) {
	// hardware type, protocol type 0x0800, lengths 6 and 4, operation,
	// sender MAC and IP, target MAC and IP
	if len(b) < 28 || binary.BigEndian.Uint16(b[2:4]) != etherIPv4 || b[4] != 6 || b[5] != 4 {
		return
	}
	f.Src = netip.AddrFrom4([4]byte(b[14:18]))
	f.Dst = netip.AddrFrom4([4]byte(b[24:28]))
}

func ipv4(b []byte, f *visor.Frame) Status {
	if len(b) < 20 {
		return TruncatedIP
	}
	if b[0]>>4 != 4 {
		return BadIP
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if ihl < 20 || total < ihl {
		return BadIP
	}
	if len(b) < ihl {
		return TruncatedIP
	}
	f.IPVersion = 4
	f.Src = netip.AddrFrom4([4]byte(b[12:16]))
	f.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	f.Proto = b[9]
	if len(b) > total {
		b = b[:total] // Ethernet padding
	} else if len(b) < total {
		f.Truncated = true
	}
	flags := binary.BigEndian.Uint16(b[6:8])
	if flags&0x2000 != 0 || flags&0x1fff != 0 {
		f.Fragment = true
		f.FragOffset = int(flags&0x1fff) * 8
		f.FragMore = flags&0x2000 != 0
		f.FragID = uint32(binary.BigEndian.Uint16(b[4:6]))
		f.Payload = b[ihl:]
		if l4 := f.Payload; f.FragOffset == 0 && len(l4) >= 4 && (f.Proto == visor.TransportUDP || f.Proto == visor.TransportTCP) {
			// The first piece carries the transport header: its ports,
			// as a port filter sees them (tcpdump matches them too).
			f.SrcPort, f.DstPort = binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
		}
		return OK
	}
	return transport(b[ihl:], f)
}

// IPv6 extension headers walked to find the transport header.
const (
	ip6HopByHop = 0
	ip6Routing  = 43
	ip6Fragment = 44
	ip6AH       = 51
	ip6NoNext   = 59
	ip6DestOpts = 60
	ip6Mobility = 135
)

func ipv6(b []byte, f *visor.Frame) Status {
	if len(b) < 40 {
		return TruncatedIP
	}
	if b[0]>>4 != 6 {
		return BadIP
	}
	f.IPVersion = 6
	f.Src = netip.AddrFrom16([16]byte(b[8:24]))
	f.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	plen := int(binary.BigEndian.Uint16(b[4:6]))
	next := b[6]
	b = b[40:]
	if plen == 0 && next == ip6HopByHop {
		plen = len(b) // jumbogram: trust the capture
	}
	if len(b) > plen {
		b = b[:plen]
	} else if len(b) < plen {
		f.Truncated = true
	}
	for hops := 0; ; hops++ {
		if hops > 16 {
			return BadIP
		}
		switch next {
		case ip6HopByHop, ip6Routing, ip6DestOpts, ip6Mobility:
			if len(b) < 8 {
				return TruncatedIP
			}
			n := (int(b[1]) + 1) * 8
			if len(b) < n {
				return TruncatedIP
			}
			next, b = b[0], b[n:]
		case ip6AH:
			if len(b) < 8 {
				return TruncatedIP
			}
			n := (int(b[1]) + 2) * 4
			if len(b) < n {
				return TruncatedIP
			}
			next, b = b[0], b[n:]
		case ip6Fragment:
			if len(b) < 8 {
				return TruncatedIP
			}
			off := binary.BigEndian.Uint16(b[2:4])
			f.Proto = b[0]
			f.Fragment = true
			f.FragOffset = int(off &^ 7)
			f.FragMore = off&1 != 0
			f.FragID = binary.BigEndian.Uint32(b[4:8])
			if f.FragOffset == 0 && !f.FragMore {
				// An atomic fragment is a whole datagram.
				f.Fragment = false
				next, b = b[0], b[8:]
				continue
			}
			f.Payload = b[8:]
			return OK
		case ip6NoNext:
			f.Proto = next
			return OK
		default:
			f.Proto = next
			return transport(b, f)
		}
	}
}

// transport decodes UDP and TCP headers; other protocols keep their bytes.
func transport(b []byte, f *visor.Frame) Status {
	switch f.Proto {
	case visor.TransportUDP:
		if len(b) < 8 {
			return TruncatedL4
		}
		f.SrcPort = binary.BigEndian.Uint16(b[0:2])
		f.DstPort = binary.BigEndian.Uint16(b[2:4])
		ulen := int(binary.BigEndian.Uint16(b[4:6]))
		if ulen >= 8 && ulen-8 < len(b)-8 {
			b = b[:ulen]
		} else if ulen > len(b) {
			f.Truncated = true
		}
		f.Payload = b[8:]
	case visor.TransportTCP:
		if len(b) < 20 {
			return TruncatedL4
		}
		f.SrcPort = binary.BigEndian.Uint16(b[0:2])
		f.DstPort = binary.BigEndian.Uint16(b[2:4])
		f.TCPSeq = binary.BigEndian.Uint32(b[4:8])
		off := int(b[12]>>4) * 4
		f.TCPFlags = b[13]
		if off < 20 {
			return TruncatedL4
		}
		if len(b) < off {
			return TruncatedL4
		}
		f.Payload = b[off:]
	default:
		f.Payload = b
	}
	return OK
}
