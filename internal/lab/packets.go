package lab

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	mdns "github.com/miekg/dns"
)

// Segment is one TCP segment of TCPPcap.
type Segment struct {
	Seq  uint32
	SYN  bool
	Data []byte
}

// TCPPcap is an Ethernet pcap of TCP segments from 198.51.100.10:40000
// (MAC 02:00:00:00:00:01) to 198.51.100.1:53 at MAC dst, 1 ms apart from
// 2024-05-01 12:00 UTC: hand-made packets for visor's hostile tests, or to
// Inject on a lab's link.
func TCPPcap(dst net.HardwareAddr, segs []Segment) ([]byte, error) {
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i, s := range segs {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: dst, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IPv4(198, 51, 100, 10), DstIP: net.IPv4(198, 51, 100, 1)}
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 53, Seq: s.Seq, SYN: s.SYN, ACK: !s.SYN, PSH: len(s.Data) > 0, Window: 65535}
		tcp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(s.Data)); err != nil {
			return nil, err
		}
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}
		if err := w.WritePacket(ci, buf.Bytes()); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// TCPQuery is a DNS query for name, type A, with its RFC 1035 length prefix.
func TCPQuery(name string) ([]byte, error) {
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), mdns.TypeA)
	b, err := m.Pack()
	if err != nil {
		return nil, err
	}
	return append([]byte{byte(len(b) >> 8), byte(len(b))}, b...), nil
}

// UDPPacket is an Ethernet/IPv4 or IPv6/UDP packet from src:sport to
// dst:dport carrying payload, checksums computed (MACs 02:00:00:00:00:01
// to :02).
func UDPPacket(src, dst string, sport, dport uint16, payload []byte) ([]byte, error) {
	s, d := net.ParseIP(src), net.ParseIP(dst)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	var ip gopacket.SerializableLayer
	if s.To4() != nil {
		eth.EthernetType = layers.EthernetTypeIPv4
		ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: s, DstIP: d}
		udp.SetNetworkLayerForChecksum(ip4)
		ip = ip4
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: s, DstIP: d}
		udp.SetNetworkLayerForChecksum(ip6)
		ip = ip6
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(payload)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// UDP is UDPPacket for a test: an error fails t.
func UDP(t testing.TB, src, dst string, sport, dport uint16, payload []byte) []byte {
	t.Helper()
	b, err := UDPPacket(src, dst, sport, dport, payload)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
