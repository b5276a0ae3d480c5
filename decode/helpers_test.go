package decode

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/miekg/dns"
)

// Addresses the tests' packets carry (documentation ranges).
var (
	client4 = netip.MustParseAddr("192.0.2.10")
	server4 = netip.MustParseAddr("198.51.100.53")
	client6 = netip.MustParseAddr("2001:db8::10")
	server6 = netip.MustParseAddr("2001:db8::53")
)

// serialize builds a packet with gopacket, fixing lengths.
func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ls...); err != nil {
		panic(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// cat joins byte slices into a new one.
func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// udpHdr is a UDP header whose length field says ulen.
func udpHdr(sport, dport uint16, ulen int) []byte {
	return cat(be16(sport), be16(dport), be16(uint16(ulen)), be16(0))
}

// udp is a UDP datagram with a correct length field.
func udp(sport, dport uint16, payload []byte) []byte {
	return cat(udpHdr(sport, dport, 8+len(payload)), payload)
}

// tcpHdr is a 20-byte TCP header.
func tcpHdr(sport, dport uint16, seq uint32, flags uint8) []byte {
	return cat(be16(sport), be16(dport), be32(seq), be32(0), []byte{5 << 4, flags}, be16(65535), be16(0), be16(0))
}

// ipv4Hdr is an IPv4 header with the given total length, identification,
// flags/fragment-offset word and options (a multiple of 4 bytes).
func ipv4Hdr(src, dst netip.Addr, proto uint8, total int, id, fragWord uint16, opts []byte) []byte {
	h := []byte{byte(0x40 | (20+len(opts))/4), 0}
	h = append(h, be16(uint16(total))...)
	h = append(h, be16(id)...)
	h = append(h, be16(fragWord)...)
	h = append(h, 64, proto, 0, 0)
	s, d := src.As4(), dst.As4()
	h = append(h, s[:]...)
	h = append(h, d[:]...)
	return append(h, opts...)
}

// ip4 is an unfragmented IPv4 packet carrying l4.
func ip4(proto uint8, l4 []byte) []byte {
	return cat(ipv4Hdr(client4, server4, proto, 20+len(l4), 0x1234, 0x4000, nil), l4)
}

// ipv6Hdr is an IPv6 header with the given payload length.
func ipv6Hdr(src, dst netip.Addr, next uint8, plen int) []byte {
	h := []byte{0x60, 0, 0, 0}
	h = append(h, be16(uint16(plen))...)
	h = append(h, next, 64)
	s, d := src.As16(), dst.As16()
	h = append(h, s[:]...)
	return append(h, d[:]...)
}

// ip6 is an IPv6 packet carrying l4 (which may start with extension headers).
func ip6(next uint8, l4 []byte) []byte {
	return cat(ipv6Hdr(client6, server6, next, len(l4)), l4)
}

// frag6 is an IPv6 fragment extension header.
func frag6(next uint8, off int, more bool, id uint32) []byte {
	w := uint16(off) &^ 7
	if more {
		w |= 1
	}
	return cat([]byte{next, 0}, be16(w), be32(id))
}

// eth is an Ethernet II frame around b.
func eth(etherType uint16, b []byte) []byte {
	return cat([]byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2}, be16(etherType), b)
}

// query is a packed DNS query for name/type with EDNS.
func query(name string, qtype uint16) []byte {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Id = 0xbeef
	m.SetEdns0(1232, true)
	b, err := m.Pack()
	if err != nil {
		panic(err)
	}
	return b
}

// response is a packed DNS response to name/A with n answers and EDNS + ECS.
func response(name string, n int) []byte {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	m.Id = 0xbeef
	m.Response, m.RecursionAvailable = true, true
	for i := 0; i < n; i++ {
		rr, err := dns.NewRR(dns.Fqdn(name) + " 300 IN A 192.0.2." + string(rune('1'+i%9)))
		if err != nil {
			panic(err)
		}
		m.Answer = append(m.Answer, rr)
	}
	o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
	o.SetUDPSize(1232)
	o.SetDo()
	o.Option = append(o.Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: netip.MustParseAddr("203.0.113.0").AsSlice()})
	m.Extra = append(m.Extra, o)
	m.Compress = true
	b, err := m.Pack()
	if err != nil {
		panic(err)
	}
	return b
}

// framed prefixes a DNS message with its RFC 1035 4.2.2 length.
func framed(msgs ...[]byte) []byte {
	var out []byte
	for _, m := range msgs {
		out = append(out, be16(uint16(len(m)))...)
		out = append(out, m...)
	}
	return out
}
