package decode

import (
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/visor-dns/visor"
)

// benchEthernetUDP is a DNS query for www.example.com/A with EDNS in
// Ethernet/IPv4/UDP, as a resolver's capture holds thousands of.
func benchEthernetUDP() []byte {
	return serialize(
		&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: client4.AsSlice(), DstIP: server4.AsSlice()},
		&layers.UDP{SrcPort: 53000, DstPort: 53},
		gopacket.Payload(query("www.example.com.", 1)))
}

func BenchmarkPacketEthernetUDP(b *testing.B) {
	p := &visor.Packet{Data: benchEthernetUDP(), LinkType: 1}
	p.OrigLen = len(p.Data)
	var f visor.Frame
	b.SetBytes(int64(len(p.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if Packet(p, &f) != OK || f.DstPort != 53 {
			b.Fatal("decode failed")
		}
	}
}

// BenchmarkGopacketDecodingLayerParser does the same decode with gopacket's
// DecodingLayerParser, filling the same Frame, for comparison.
func BenchmarkGopacketDecodingLayerParser(b *testing.B) {
	data := benchEthernetUDP()
	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		ip6     layers.IPv6
		udp     layers.UDP
		tcp     layers.TCP
		payload gopacket.Payload
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &udp, &tcp, &payload)
	parser.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 8)
	var f visor.Frame
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := parser.DecodeLayers(data, &decoded); err != nil {
			b.Fatal(err)
		}
		f = visor.Frame{WireLen: len(data)}
		for _, lt := range decoded {
			switch lt {
			case layers.LayerTypeIPv4:
				f.IPVersion, f.Proto = 4, uint8(ip4.Protocol)
				f.Src, _ = netip.AddrFromSlice(ip4.SrcIP)
				f.Dst, _ = netip.AddrFromSlice(ip4.DstIP)
			case layers.LayerTypeIPv6:
				f.IPVersion, f.Proto = 6, uint8(ip6.NextHeader)
				f.Src, _ = netip.AddrFromSlice(ip6.SrcIP)
				f.Dst, _ = netip.AddrFromSlice(ip6.DstIP)
			case layers.LayerTypeUDP:
				f.SrcPort, f.DstPort, f.Payload = uint16(udp.SrcPort), uint16(udp.DstPort), udp.Payload
			case layers.LayerTypeTCP:
				f.SrcPort, f.DstPort, f.TCPSeq, f.Payload = uint16(tcp.SrcPort), uint16(tcp.DstPort), tcp.Seq, tcp.Payload
			}
		}
		if f.DstPort != 53 {
			b.Fatal("decode failed")
		}
	}
}

func BenchmarkParseDNSQuery(b *testing.B) {
	msg := query("www.example.com.", 1)
	var m DNS
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if !ParseDNS(msg, &m) || m.Malformed {
			b.Fatal("parse failed")
		}
	}
}

// BenchmarkParseDNSResponse parses a response with 8 A records and an OPT
// record carrying DO and ECS.
func BenchmarkParseDNSResponse(b *testing.B) {
	msg := response("www.example.com.", 8)
	var m DNS
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if !ParseDNS(msg, &m) || m.Malformed || !m.ECS || m.ANCount != 8 {
			b.Fatal("parse failed")
		}
	}
}

// BenchmarkStreamsInOrder feeds one connection's in-order segments, each
// holding one length-framed query.
func BenchmarkStreamsInOrder(b *testing.B) {
	seg := framed(query("www.example.com.", 1))
	s := NewStreams()
	f := &visor.Frame{IPVersion: 4, Src: client4, Dst: server4, Proto: 6, SrcPort: 53000, DstPort: 53, TCPFlags: 0x02, TCPSeq: cISN}
	n := 0
	emit := func(msg []byte, _ *visor.Frame) { n++ }
	s.Feed(f, emit)
	f.TCPFlags, f.TCPSeq, f.Payload = ack|psh, cISN+1, seg
	b.SetBytes(int64(len(seg)))
	b.ReportAllocs()
	fed := 0
	for b.Loop() {
		f.TS++
		s.Feed(f, emit)
		f.TCPSeq += uint32(len(seg))
		fed++
	}
	if n != fed || s.Stats != (TCPStats{}) {
		b.Fatalf("%d messages of %d, stats %+v", n, fed, s.Stats)
	}
}
