package decode

import (
	"bytes"
	"net"
	"reflect"
	"testing"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/visor-dns/visor"
)

func TestPacket(t *testing.T) {
	q := query("example.com.", 1)
	u := udp(53000, 53, q)
	v4udp := ip4(17, u)
	v6udp := ip6(17, u)
	macs := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	gpIP := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: client4.AsSlice(), DstIP: server4.AsSlice()}
	gpUDP := &layers.UDP{SrcPort: 53000, DstPort: 53}

	// A UDP frame as the IPv4 and IPv6 cases expect it.
	udp4 := visor.Frame{IPVersion: 4, Src: client4, Dst: server4, Proto: 17, SrcPort: 53000, DstPort: 53, Payload: q}
	udp6 := visor.Frame{IPVersion: 6, Src: client6, Dst: server6, Proto: 17, SrcPort: 53000, DstPort: 53, Payload: q}

	// TCP with MSS, SACK-permitted, timestamps and window scale: a 40-byte header.
	tcpOpts := &layers.TCP{SrcPort: 53001, DstPort: 53, Seq: 1000, DataOffset: 10, PSH: true, ACK: true, Window: 512,
		Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{5, 0xb4}},
			{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 1, 0, 0, 0, 2}},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
		}}
	tcpIP := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: client4.AsSlice(), DstIP: server4.AsSlice()}
	tcpMsg := framed(q)

	// Minimum-size Ethernet frame: a 2-byte TCP payload, padded to 60 bytes.
	tiny := cat(ip4(6, cat(tcpHdr(53002, 53, 77, 0x18), []byte{0xab, 0xcd})))
	padded := cat(eth(0x0800, tiny), make([]byte, 60-14-len(tiny)))

	// IPv4 with 4 bytes of options (NOP NOP NOP EOL).
	v4opts := cat(ipv4Hdr(client4, server4, 17, 24+len(u), 7, 0, []byte{1, 1, 1, 0}), u)

	// IPv6 with hop-by-hop (8 bytes) and destination options (16 bytes).
	hbh := []byte{60, 0, 5, 2, 0, 0, 1, 0}                            // next dest-opts; router alert, PadN
	dopts := []byte{17, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // next UDP; PadN 12
	v6ext := ip6(0, cat(hbh, dopts, u))

	// IPv4 fragments: a 3000-byte datagram in pieces at 0, 1480 and 2960.
	body := bytes.Repeat([]byte("fragment"), 400)[:3000]
	v4first := cat(ipv4Hdr(client4, server4, 17, 20+1480, 0xabcd, 0x2000, nil), body[:1480])
	v4middle := cat(ipv4Hdr(client4, server4, 17, 20+1480, 0xabcd, 0x2000|1480/8, nil), body[1480:2960])
	v4last := cat(ipv4Hdr(client4, server4, 17, 20+40, 0xabcd, 2960/8, nil), body[2960:])
	frag4 := func(off int, more bool, payload []byte) *visor.Frame {
		return &visor.Frame{IPVersion: 4, Src: client4, Dst: server4, Proto: 17, Fragment: true, FragOffset: off, FragMore: more, FragID: 0xabcd, Payload: payload}
	}

	// IPv6 fragments of the same body.
	v6first := ip6(44, cat(frag6(17, 0, true, 0xdeadbeef), body[:1232]))
	v6later := ip6(44, cat(frag6(17, 1232, false, 0xdeadbeef), body[1232:2000]))
	v6atomic := ip6(44, cat(frag6(17, 0, false, 9), u))
	frag6f := func(off int, more bool, payload []byte) *visor.Frame {
		return &visor.Frame{IPVersion: 6, Src: client6, Dst: server6, Proto: 17, Fragment: true, FragOffset: off, FragMore: more, FragID: 0xdeadbeef, Payload: payload}
	}

	sll := func(etherType uint16, b []byte) []byte {
		return cat([]byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}, be16(etherType), b)
	}
	sll2 := func(etherType uint16, b []byte) []byte {
		return cat(be16(etherType), []byte{0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}, b)
	}
	with := func(f visor.Frame, edit func(*visor.Frame)) *visor.Frame { edit(&f); return &f }

	tests := []struct {
		name   string
		link   uint16
		data   []byte
		status Status
		want   *visor.Frame // nil: only the status is checked
	}{
		{"ethernet ipv4 udp (gopacket)", 1, serialize(macs, gpIP, gpUDP, gopacket.Payload(q)), OK, &udp4},
		{"ethernet ipv4 udp", 1, eth(0x0800, v4udp), OK, &udp4},
		{"ethernet ipv6 udp", 1, eth(0x86dd, v6udp), OK, &udp6},
		{"ethernet 802.1Q", 1, eth(0x8100, cat([]byte{0x00, 0x64}, be16(0x0800), v4udp)), OK, &udp4},
		{"ethernet QinQ 88a8+8100", 1, eth(0x88a8, cat([]byte{0, 10}, be16(0x8100), []byte{0, 20}, be16(0x86dd), v6udp)), OK, &udp6},
		{"ethernet 9100+8100", 1, eth(0x9100, cat([]byte{0, 10}, be16(0x8100), []byte{0, 20}, be16(0x0800), v4udp)), OK, &udp4},
		{"ethernet arp", 1, eth(0x0806, make([]byte, 28)), NonIP, &visor.Frame{}},
		{"ethernet vlan arp", 1, eth(0x8100, cat([]byte{0, 1}, be16(0x0806), make([]byte, 28))), NonIP, nil},
		{"sll ipv4", 113, sll(0x0800, v4udp), OK, &udp4},
		{"sll ipv6", 113, sll(0x86dd, v6udp), OK, &udp6},
		{"sll arp", 113, sll(0x0806, make([]byte, 28)), NonIP, nil},
		{"sll2 ipv4", 276, sll2(0x0800, v4udp), OK, &udp4},
		{"sll2 ipv6", 276, sll2(0x86dd, v6udp), OK, &udp6},
		{"null le AF_INET", 0, cat(le32(2), v4udp), OK, &udp4},
		{"null be AF_INET", 0, cat(be32(2), v4udp), OK, &udp4},
		{"null le AF_INET6 linux 10", 0, cat(le32(10), v6udp), OK, &udp6},
		{"null le AF_INET6 bsd 24", 0, cat(le32(24), v6udp), OK, &udp6},
		{"null le AF_INET6 freebsd 28", 0, cat(le32(28), v6udp), OK, &udp6},
		{"null le AF_INET6 darwin 30", 0, cat(le32(30), v6udp), OK, &udp6},
		{"null be AF_INET6 linux 10", 0, cat(be32(10), v6udp), OK, &udp6},
		{"null be AF_INET6 bsd 24", 0, cat(be32(24), v6udp), OK, &udp6},
		{"null be AF_INET6 freebsd 28", 0, cat(be32(28), v6udp), OK, &udp6},
		{"null be AF_INET6 darwin 30", 0, cat(be32(30), v6udp), OK, &udp6},
		{"null unknown family", 0, cat(le32(7), v4udp), NonIP, nil},
		{"loop AF_INET", 108, cat(be32(2), v4udp), OK, &udp4},
		{"loop AF_INET6", 108, cat(be32(24), v6udp), OK, &udp6},
		{"loop little-endian is not AF_INET", 108, cat(le32(2), v4udp), NonIP, nil},
		{"raw 101 ipv4", 101, v4udp, OK, &udp4},
		{"raw 101 ipv6", 101, v6udp, OK, &udp6},
		{"raw 12 ipv4", 12, v4udp, OK, &udp4},
		{"raw 12 ipv6", 12, v6udp, OK, &udp6},
		{"raw 14 ipv4", 14, v4udp, OK, &udp4},
		{"raw 14 ipv6", 14, v6udp, OK, &udp6},
		{"raw bad version", 101, cat([]byte{0x50}, v4udp[1:]), BadIP, nil},
		{"ipv4 linktype 228", 228, v4udp, OK, &udp4},
		{"ipv6 linktype 229", 229, v6udp, OK, &udp6},
		{"ipv4 linktype with ipv6 bytes", 228, v6udp, BadIP, nil},
		{"unsupported link 147", 147, v4udp, UnsupportedLink, &visor.Frame{}},

		{"truncated ethernet", 1, eth(0x0800, nil)[:13], TruncatedLink, nil},
		{"truncated vlan tag", 1, eth(0x8100, []byte{0, 1, 8}), TruncatedLink, nil},
		{"truncated sll", 113, sll(0x0800, nil)[:15], TruncatedLink, nil},
		{"truncated sll2", 276, sll2(0x0800, nil)[:19], TruncatedLink, nil},
		{"truncated null", 0, []byte{2, 0, 0}, TruncatedLink, nil},
		{"truncated loop", 108, []byte{0, 0, 0}, TruncatedLink, nil},
		{"empty raw", 101, nil, TruncatedIP, nil},
		{"truncated ipv4 header", 1, eth(0x0800, v4udp[:19]), TruncatedIP, nil},
		{"truncated ipv4 options", 1, eth(0x0800, v4opts[:22]), TruncatedIP, nil},
		{"ipv4 ihl below 20", 228, cat([]byte{0x44}, v4udp[1:]), BadIP, nil},
		{"ipv4 total below ihl", 228, cat(v4udp[:2], be16(19), v4udp[4:]), BadIP, nil},
		{"truncated ipv6 header", 229, v6udp[:39], TruncatedIP, nil},
		{"truncated ipv6 extension", 229, ip6(0, hbh[:6]), TruncatedIP, nil},
		{"truncated ipv6 extension body", 229, ip6(0, dopts[:8]), TruncatedIP, nil},
		{"truncated ipv6 fragment header", 229, ip6(44, []byte{17, 0, 0, 0}), TruncatedIP, nil},
		{"truncated udp header", 228, ip4(17, u[:7]), TruncatedL4,
			&visor.Frame{IPVersion: 4, Src: client4, Dst: server4, Proto: 17}},
		{"truncated tcp header", 228, ip4(6, tcpHdr(1, 53, 0, 0x10)[:19]), TruncatedL4, nil},
		{"tcp data offset beyond capture", 228, ip4(6, cat(tcpHdr(1, 53, 0, 0x10)[:12], []byte{0xf0, 0x10}, make([]byte, 6))), TruncatedL4, nil},
		{"tcp data offset below 20", 228, ip4(6, cat(tcpHdr(1, 53, 0, 0x10)[:12], []byte{0x40, 0x10}, make([]byte, 6))), TruncatedL4, nil},

		{"ipv4 options", 228, v4opts, OK, &udp4},
		{"ipv4 ethernet padding (tcp)", 1, padded, OK,
			&visor.Frame{IPVersion: 4, Src: client4, Dst: server4, Proto: 6, SrcPort: 53002, DstPort: 53, TCPSeq: 77, TCPFlags: 0x18, Payload: []byte{0xab, 0xcd}}},
		{"ipv4 ethernet padding (udp length 0)", 1, cat(eth(0x0800, ip4(17, cat(udpHdr(53000, 53, 0), []byte{1, 2}))), make([]byte, 20)), OK,
			&visor.Frame{IPVersion: 4, Src: client4, Dst: server4, Proto: 17, SrcPort: 53000, DstPort: 53, Payload: []byte{1, 2}}},
		{"ipv6 ethernet padding", 1, cat(eth(0x86dd, ip6(17, udp(53000, 53, []byte{9}))), make([]byte, 8)), OK,
			&visor.Frame{IPVersion: 6, Src: client6, Dst: server6, Proto: 17, SrcPort: 53000, DstPort: 53, Payload: []byte{9}}},
		{"ipv6 hop-by-hop and destination options", 229, v6ext, OK, &udp6},
		{"ipv6 fragment first", 229, v6first, OK, frag6f(0, true, body[:1232])},
		{"ipv6 fragment later", 229, v6later, OK, frag6f(1232, false, body[1232:2000])},
		{"ipv6 atomic fragment", 229, v6atomic, OK, with(udp6, func(f *visor.Frame) { f.FragID = 9 })},
		{"ipv6 authentication header", 229, ip6(51, cat([]byte{17, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1}, make([]byte, 12), u)), OK, &udp6},
		{"ipv6 routing header", 229, ip6(43, cat([]byte{17, 0, 0, 0, 0, 0, 0, 0}, u)), OK, &udp6},
		{"ipv6 jumbogram trusts the capture", 229, cat(ipv6Hdr(client6, server6, 0, 0), []byte{17, 0, 0xc2, 4, 0, 0, 0, 0}, u), OK, &udp6},
		{"ipv6 too many extension headers", 229, ip6(60, bytes.Repeat([]byte{60, 0, 1, 4, 0, 0, 0, 0}, 20)), BadIP, nil},
		{"ipv6 ethertype with ipv4 bytes", 1, eth(0x86dd, cat(v4udp, make([]byte, 20))), BadIP, nil},
		{"truncated ipv6 authentication header", 229, ip6(51, []byte{17, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1}), TruncatedIP, nil},
		{"ipv6 no next header", 229, ip6(59, nil), OK, &visor.Frame{IPVersion: 6, Src: client6, Dst: server6, Proto: 59}},
		// The first piece's ports are its first four bytes ("frag"), as a
		// port filter reads them.
		{"ipv4 fragment first (MF)", 228, v4first, OK, with(*frag4(0, true, body[:1480]), func(f *visor.Frame) { f.SrcPort, f.DstPort = 0x6672, 0x6167 })},
		{"ipv4 fragment middle", 228, v4middle, OK, frag4(1480, true, body[1480:2960])},
		{"ipv4 fragment last (offset)", 228, v4last, OK, frag4(2960, false, body[2960:])},
		{"tcp with options", 1, serialize(macs, tcpIP, tcpOpts, gopacket.Payload(tcpMsg)), OK,
			&visor.Frame{IPVersion: 4, Src: client4, Dst: server4, Proto: 6, SrcPort: 53001, DstPort: 53, TCPSeq: 1000, TCPFlags: 0x18, Payload: tcpMsg}},
		{"icmp keeps its bytes", 228, ip4(1, []byte{8, 0, 0, 0, 0, 1, 0, 1}), OK,
			&visor.Frame{IPVersion: 4, Src: client4, Dst: server4, Proto: 1, Payload: []byte{8, 0, 0, 0, 0, 1, 0, 1}}},
		{"udp length shorter than captured", 228, ip4(17, cat(udpHdr(53000, 53, 8+4), q[:10])), OK,
			with(udp4, func(f *visor.Frame) { f.Payload = q[:4] })},
		{"udp length longer than captured", 228, ip4(17, cat(udpHdr(53000, 53, 8+100), q[:10])), OK,
			with(udp4, func(f *visor.Frame) { f.Payload, f.Truncated = q[:10], true })},
		{"ipv4 snaplen cut", 1, eth(0x0800, v4udp)[:14+20+8+10], OK,
			with(udp4, func(f *visor.Frame) { f.Payload, f.Truncated = q[:10], true })},
		{"ipv6 snaplen cut", 229, v6udp[:40+8+10], OK,
			with(udp6, func(f *visor.Frame) { f.Payload, f.Truncated = q[:10], true })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &visor.Packet{TS: 42, Data: tc.data, OrigLen: len(tc.data) + 3, LinkType: tc.link}
			f := &visor.Frame{Src: client6, Payload: []byte{1}, Truncated: true} // stale values must go
			st := Packet(p, f)
			if st != tc.status {
				t.Fatalf("status %v, want %v", st, tc.status)
			}
			checkPayloadInData(t, f.Payload, p.Data)
			if tc.want == nil {
				return
			}
			want := *tc.want
			want.TS, want.WireLen = 42, len(tc.data)+3
			if !bytes.Equal(f.Payload, want.Payload) {
				t.Errorf("payload %d bytes %x\nwant %d bytes %x", len(f.Payload), f.Payload, len(want.Payload), want.Payload)
			}
			got := *f
			got.Payload, want.Payload = nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("frame\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// checkPayloadInData fails unless payload is empty or a sub-slice of data.
func checkPayloadInData(t testing.TB, payload, data []byte) {
	t.Helper()
	if len(payload) == 0 {
		return
	}
	if len(data) == 0 {
		t.Fatalf("payload of %d bytes from no data", len(payload))
	}
	p0 := uintptr(unsafe.Pointer(unsafe.SliceData(payload)))
	d0 := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	if p0 < d0 || p0+uintptr(len(payload)) > d0+uintptr(len(data)) {
		t.Fatalf("payload [%#x,+%d) outside data [%#x,+%d)", p0, len(payload), d0, len(data))
	}
}

func TestSupportedLink(t *testing.T) {
	for _, lt := range []uint16{0, 1, 12, 14, 101, 108, 113, 228, 229, 276} {
		if !SupportedLink(lt) {
			t.Errorf("SupportedLink(%d) = false", lt)
		}
	}
	for _, lt := range []uint16{2, 105, 127, 147, 192, 0xffff} {
		if SupportedLink(lt) {
			t.Errorf("SupportedLink(%d) = true", lt)
		}
	}
}

func TestStatusString(t *testing.T) {
	for s := OK; s < numStatus; s++ {
		if s.String() == "" {
			t.Errorf("Status(%d) has no name", s)
		}
	}
	if TruncatedL4.String() != "truncated_transport_header" {
		t.Errorf("TruncatedL4 = %q", TruncatedL4.String())
	}
}
