// Package fuzzcap is a structure-aware mutator of packet captures for fuzz
// targets. Go's native fuzzing mutates bytes only, so a target takes its
// bytes as a Program: a few edits of a real capture's TCP segments and IP
// datagrams (sequence numbers moved by ±2^31, segments split, merged,
// duplicated, reordered or dropped, flags flipped, DNS length prefixes
// changed, datagrams cut into IP fragments with odd offsets, ...). Every
// program is valid, so the fuzzer spends its time on the decoders' logic
// rather than on their header checks.
//
// Only what the lab captures use is understood: classic pcap files with
// Ethernet, Linux SLL/SLL2 or raw IP link types, IPv4 and IPv6 without
// extension headers, TCP and UDP. Other packets are kept and moved as
// opaque bytes.
package fuzzcap

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Packet is one captured packet.
type Packet struct {
	TS   int64 // Unix ns
	Data []byte
}

// Capture is a link type and its packets, in file order.
type Capture struct {
	LinkType uint16
	Packets  []Packet
}

// ReadPcap parses a classic pcap file (either byte order, micro- or
// nanosecond timestamps). A truncated last record is dropped.
func ReadPcap(b []byte) (*Capture, error) {
	if len(b) < 24 {
		return nil, errors.New("fuzzcap: too short for a pcap header")
	}
	var bo binary.ByteOrder
	nano := false
	switch binary.BigEndian.Uint32(b) {
	case 0xa1b2c3d4:
		bo = binary.BigEndian
	case 0xa1b23c4d:
		bo, nano = binary.BigEndian, true
	case 0xd4c3b2a1:
		bo = binary.LittleEndian
	case 0x4d3cb2a1:
		bo, nano = binary.LittleEndian, true
	default:
		return nil, fmt.Errorf("fuzzcap: not a pcap file (magic % x)", b[:4])
	}
	c := &Capture{LinkType: uint16(bo.Uint32(b[20:24]))}
	for off := 24; off+16 <= len(b); {
		sec, frac, n := int64(bo.Uint32(b[off:])), int64(bo.Uint32(b[off+4:])), int(bo.Uint32(b[off+8:]))
		off += 16
		if n > len(b)-off {
			break
		}
		if !nano {
			frac *= 1000
		}
		c.Packets = append(c.Packets, Packet{TS: sec*1e9 + frac, Data: b[off : off+n : off+n]})
		off += n
	}
	return c, nil
}

// Pcap writes c as a little-endian nanosecond pcap file.
func (c *Capture) Pcap() []byte {
	n := 24
	for _, p := range c.Packets {
		n += 16 + len(p.Data)
	}
	out := make([]byte, 0, n)
	le := binary.LittleEndian
	out = le.AppendUint32(out, 0xa1b23c4d)
	out = le.AppendUint16(out, 2)
	out = le.AppendUint16(out, 4)
	out = le.AppendUint64(out, 0)
	out = le.AppendUint32(out, 262144)
	out = le.AppendUint32(out, uint32(c.LinkType))
	for _, p := range c.Packets {
		ts := max(p.TS, 0)
		out = le.AppendUint32(out, uint32(ts/1e9))
		out = le.AppendUint32(out, uint32(ts%1e9))
		out = le.AppendUint32(out, uint32(len(p.Data)))
		out = le.AppendUint32(out, uint32(len(p.Data)))
		out = append(out, p.Data...)
	}
	return out
}

// Window returns a copy of packets [start, start+n) of c, wrapped around
// its end; the packets' bytes are copied too, so edits do not reach c.
func (c *Capture) Window(start, n int) *Capture {
	w := &Capture{LinkType: c.LinkType}
	if len(c.Packets) == 0 {
		return w
	}
	n = min(n, len(c.Packets))
	for i := 0; i < n; i++ {
		p := c.Packets[(start+i)%len(c.Packets)]
		w.Packets = append(w.Packets, Packet{TS: p.TS, Data: append([]byte(nil), p.Data...)})
	}
	return w
}

// Clone copies c and its packets' bytes.
func (c *Capture) Clone() *Capture { return c.Window(0, len(c.Packets)) }

// Transport protocols.
const (
	protoTCP  = 6
	protoUDP  = 17
	protoFrag = 44 // IPv6 fragment header
)

// TCP flags.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
)

// layers locates a packet's headers. ok is false for what the mutator
// does not understand (non-IP, extension headers, short packets).
type layers struct {
	ip    int  // offset of the IP header
	v6    bool // IPv6
	proto uint8
	l4    int // offset of the transport header (or of the fragment's data)
	pay   int // offset of the transport payload (== l4 for a non-first fragment)
	end   int // end of the IP datagram (without link padding)
	frag  bool
	fragH int // IPv6: offset of the fragment header
}

func linkHeader(link uint16, b []byte) (int, bool) {
	switch link {
	case 1: // Ethernet, without VLAN tags
		if len(b) < 14 {
			return 0, false
		}
		e := binary.BigEndian.Uint16(b[12:])
		return 14, e == 0x0800 || e == 0x86dd
	case 113: // Linux SLL
		return 16, len(b) >= 16
	case 276: // Linux SLL2
		return 20, len(b) >= 20
	case 0, 108: // BSD loopback
		return 4, len(b) >= 4
	case 101, 12, 14, 228, 229: // raw IP
		return 0, true
	}
	return 0, false
}

func parse(link uint16, b []byte) (l layers, ok bool) {
	off, ok := linkHeader(link, b)
	if !ok || len(b) < off+20 {
		return l, false
	}
	l.ip = off
	ip := b[off:]
	switch ip[0] >> 4 {
	case 4:
		ihl := int(ip[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if ihl < 20 || total < ihl || total > len(ip) {
			return l, false
		}
		l.proto, l.l4, l.end = ip[9], off+ihl, off+total
		fw := binary.BigEndian.Uint16(ip[6:])
		l.frag = fw&0x3fff != 0
		if l.frag && fw&0x1fff != 0 {
			l.pay = l.l4
			return l, true
		}
	case 6:
		if len(ip) < 40 {
			return l, false
		}
		l.v6 = true
		l.proto, l.l4, l.end = ip[6], off+40, off+40+int(binary.BigEndian.Uint16(ip[4:]))
		if l.end > len(b) {
			return l, false
		}
		if l.proto == protoFrag {
			if l.end < l.l4+8 {
				return l, false
			}
			l.frag, l.fragH = true, l.l4
			l.proto = b[l.l4]
			l.l4 += 8
			if binary.BigEndian.Uint16(b[l.fragH+2:])&0xfff8 != 0 {
				l.pay = l.l4
				return l, true
			}
		}
	default:
		return l, false
	}
	switch l.proto {
	case protoTCP:
		if l.end < l.l4+20 {
			return l, false
		}
		hl := int(b[l.l4+12]>>4) * 4
		if hl < 20 || l.l4+hl > l.end {
			return l, false
		}
		l.pay = l.l4 + hl
	case protoUDP:
		if l.end < l.l4+8 {
			return l, false
		}
		l.pay = l.l4 + 8
	default:
		l.pay = l.l4
	}
	return l, true
}

// isTCP tells whether l is a whole (unfragmented) TCP segment.
func (l layers) isTCP() bool { return l.proto == protoTCP && !l.frag }

// setIPLength fixes the IP (and UDP) length fields after the datagram
// became n bytes past its IP header's start; b must hold them.
func setIPLength(b []byte, l *layers, n int) {
	ip := b[l.ip:]
	if l.v6 {
		binary.BigEndian.PutUint16(ip[4:], uint16(n-40))
	} else {
		binary.BigEndian.PutUint16(ip[2:], uint16(n))
	}
	l.end = l.ip + n
	if l.proto == protoUDP && !l.frag {
		binary.BigEndian.PutUint16(b[l.l4+4:], uint16(l.end-l.l4))
	}
}

// withPayload returns a copy of p's packet whose transport payload is pay,
// lengths fixed (link padding dropped).
func withPayload(b []byte, l layers, pay []byte) []byte {
	out := make([]byte, 0, l.pay+len(pay))
	out = append(out, b[:l.pay]...)
	out = append(out, pay...)
	setIPLength(out, &l, len(out)-l.ip)
	return out
}
