package engine

import (
	"bytes"
	"encoding/binary"
	"net/netip"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/anonymize"
	"github.com/visor-dns/visor/decode"
)

// carveAnon rewrites carved packets with --anonymize's pseudonyms: the
// IP header's addresses (its checksum recomputed), the addresses of the
// DNS the packet carries (as the analysis rewrites them), and the UDP or
// TCP checksum (updated by the difference, RFC 1624, so that a packet
// cut short by the snap length keeps a correct one too). A packet it
// cannot rewrite whole (not UDP or TCP: ICMP errors and neighbour
// discovery carry addresses in their bodies; an address it cannot find)
// is left out and counted, never written with a real address.
type carveAnon struct {
	an      *anonymize.Anonymizer
	ports   map[uint16]bool
	orig    []byte
	dropped uint64
}

func newCarveAnon(cfg *Config, ports map[uint16]bool) *carveAnon {
	if cfg.anon == nil {
		return nil
	}
	return &carveAnon{an: cfg.anon.Clone(), ports: ports}
}

// packet rewrites p in place; fr is its decoded frame, real on entry and
// re-decoded from the rewritten bytes on return. It reports false when
// p must be left out.
func (c *carveAnon) packet(p *visor.Packet, fr *visor.Frame) bool {
	if fr.IPVersion == 0 || fr.Proto != visor.TransportUDP && fr.Proto != visor.TransportTCP {
		c.dropped++
		return false
	}
	src, dst := fr.Src, fr.Dst
	nsrc, ndst := c.an.Addr(src), c.an.Addr(dst)
	o := ipHeader(p.Data, src, dst)
	if o < 0 {
		c.dropped++
		return false
	}
	b := p.Data[o:]
	c.orig = append(c.orig[:0], b...)
	l4 := -1 // offset of the transport header in b, when this packet has it
	if fr.IPVersion == 4 {
		a, d := nsrc.As4(), ndst.As4()
		copy(b[12:16], a[:])
		copy(b[16:20], d[:])
		ihl := int(b[0]&0xf) * 4
		if ihl >= 20 && ihl <= len(b) {
			binary.BigEndian.PutUint16(b[10:], 0)
			binary.BigEndian.PutUint16(b[10:], ^sum16(b[:ihl], 0))
			if binary.BigEndian.Uint16(b[6:])&0x1fff == 0 { // first piece (or whole)
				l4 = ihl
			}
		}
	} else {
		a, d := nsrc.As16(), ndst.As16()
		copy(b[8:24], a[:])
		copy(b[24:40], d[:])
		l4 = ipv6Transport(b)
	}
	if l4 >= 0 && l4 < len(b) {
		c.transport(b, l4, fr)
	}
	st := decode.Packet(p, fr)
	if st != decode.OK || fr.Src != nsrc || fr.Dst != ndst || c.leaks(p.Data, src, dst) {
		c.dropped++
		return false
	}
	return true
}

// transport rewrites the DNS the segment at b[l4:] carries and updates its
// checksum by what changed since c.orig (the pseudo-header's addresses
// among it).
func (c *carveAnon) transport(b []byte, l4 int, fr *visor.Frame) {
	seg := b[l4:]
	var csum int
	switch fr.Proto {
	case visor.TransportUDP:
		if len(seg) < 8 {
			return
		}
		csum = 6
		if !fr.Fragment && (c.ports[fr.SrcPort] || c.ports[fr.DstPort]) {
			c.an.DNS(seg[8:])
		}
	case visor.TransportTCP:
		if len(seg) < 20 {
			return
		}
		csum = 16
		off := int(seg[12]>>4) * 4
		if off >= 20 && off <= len(seg) && (c.ports[fr.SrcPort] || c.ports[fr.DstPort]) {
			for m := seg[off:]; len(m) >= 2; {
				n := int(binary.BigEndian.Uint16(m))
				if 2+n > len(m) {
					break
				}
				c.an.DNS(m[2 : 2+n])
				m = m[2+n:]
			}
		}
	default:
		return
	}
	if len(seg) < csum+2 {
		return
	}
	old := binary.BigEndian.Uint16(seg[csum:])
	if fr.Proto == visor.TransportUDP && old == 0 && fr.IPVersion == 4 {
		return // no checksum
	}
	// ~HC' = ~HC + sum(~m) + sum(m') over the words that changed.
	acc := uint32(^old)
	addrs := [2]int{12, 20} // the pseudo-header's addresses in the IP header
	if fr.IPVersion == 6 {
		addrs = [2]int{8, 40}
	}
	for i := addrs[0]; i < addrs[1]; i += 2 {
		acc += uint32(^binary.BigEndian.Uint16(c.orig[i:])) + uint32(binary.BigEndian.Uint16(b[i:]))
	}
	os := c.orig[l4:]
	for i := 0; i < len(seg); i += 2 {
		var m, n uint16
		if i+1 < len(seg) {
			m, n = binary.BigEndian.Uint16(os[i:]), binary.BigEndian.Uint16(seg[i:])
		} else {
			m, n = uint16(os[i])<<8, uint16(seg[i])<<8
		}
		if m != n {
			acc += uint32(^m) + uint32(n)
		}
	}
	for acc > 0xffff {
		acc = acc&0xffff + acc>>16
	}
	v := ^uint16(acc)
	if v == 0 && fr.Proto == visor.TransportUDP {
		v = 0xffff
	}
	binary.BigEndian.PutUint16(seg[csum:], v)
}

// leaks reports whether a real address's bytes are still in the packet
// (an outer header of a tunnel, say).
func (c *carveAnon) leaks(b []byte, addrs ...netip.Addr) bool {
	for _, a := range addrs {
		if c.an.Addr(a) == a {
			continue // its own pseudonym (as with a short --anonymize-prefix)
		}
		if bytes.Contains(b, a.AsSlice()) {
			return true
		}
	}
	return false
}

// ipHeader finds the IP header whose addresses are src and dst in the
// packet's first bytes (past its link layers), or -1.
func ipHeader(b []byte, src, dst netip.Addr) int {
	s, d := src.AsSlice(), dst.AsSlice()
	for o := 0; o < len(b) && o <= 256; o++ {
		if src.Is4() {
			if o+20 <= len(b) && b[o]>>4 == 4 && bytes.Equal(b[o+12:o+16], s) && bytes.Equal(b[o+16:o+20], d) {
				return o
			}
		} else if o+40 <= len(b) && b[o]>>4 == 6 && bytes.Equal(b[o+8:o+24], s) && bytes.Equal(b[o+24:o+40], d) {
			return o
		}
	}
	return -1
}

// ipv6Transport is the offset of the transport header after b's IPv6
// header and extension headers, or -1 (a fragment that is not the first,
// an unknown header).
func ipv6Transport(b []byte) int {
	next, o := b[6], 40
	for {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if o+2 > len(b) {
				return -1
			}
			next, o = b[o], o+(int(b[o+1])+1)*8
		case 44: // fragment
			if o+8 > len(b) || binary.BigEndian.Uint16(b[o+2:])&0xfff8 != 0 {
				return -1
			}
			next, o = b[o], o+8
		default:
			return o
		}
	}
}

// sum16 adds b's 16-bit words to acc in ones' complement.
func sum16(b []byte, acc uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		acc += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		acc += uint32(b[len(b)-1]) << 8
	}
	for acc > 0xffff {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
}
