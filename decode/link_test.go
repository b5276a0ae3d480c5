package decode

import (
	"encoding/binary"
	"testing"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/internal/linkwrap"
)

// TestLinkWrappers: an IPv4 and an IPv6 DNS query in every wrapping link
// layer decode to the frame the bare IP packet gives.
func TestLinkWrappers(t *testing.T) {
	q := query("example.com.", 1)
	for _, ip := range [][]byte{ip4(17, udp(53000, 53, q)), ip6(17, udp(53000, 53, q))} {
		var want visor.Frame
		if st := Packet(&visor.Packet{Data: ip, LinkType: linkRaw}, &want); st != OK {
			t.Fatalf("raw IP: %v", st)
		}
		cases := []struct {
			name string
			link uint16
			data []byte
		}{
			{"nflog-le", linkNFLOG, linkwrap.NFLOGRecord(ip, binary.LittleEndian)},
			{"nflog-be", linkNFLOG, linkwrap.NFLOGRecord(ip, binary.BigEndian)},
			{"pktap-ethernet", linkPKTAP, linkwrap.PKTAPRecord(1, eth(etherOf(ip), ip))},
			{"pktap149-raw", linkPKTAPDarwin, linkwrap.PKTAPRecord(12, ip)},
			{"pktap-null", linkPKTAP, linkwrap.PKTAPRecord(0, cat(le32(familyOf(ip)), ip))},
			{"arcnet-rfc1201", linkARCNET, linkwrap.ARCNETFrame(ip, false)},
			{"arcnet-linux", linkARCNETLinux, linkwrap.ARCNETLinuxFrame(ip)},
			{"ppp", linkPPP, linkwrap.PPPFrame(ip)},
			{"ppp without address and control", linkPPP, linkwrap.PPPFrame(ip)[2:]},
			{"ppp serial", linkPPPSerial, linkwrap.PPPFrame(ip)},
			{"cisco hdlc", linkPPPSerial, cat([]byte{0x0f, 0}, be16(etherOf(ip)), ip)},
			{"ppp ether", linkPPPEther, linkwrap.PPPoESession(ip)},
			{"ethernet pppoe", linkEthernet, eth(0x8864, linkwrap.PPPoESession(ip))},
			{"ethernet vlan pppoe", linkEthernet, eth(0x8100, cat([]byte{0, 7}, be16(0x8864), linkwrap.PPPoESession(ip), make([]byte, 6)))},
		}
		if ip[0]>>4 == 4 {
			cases = append(cases, struct {
				name string
				link uint16
				data []byte
			}{"arcnet-rfc1051", linkARCNET, linkwrap.ARCNETFrame(ip, true)})
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if !SupportedLink(c.link) {
					t.Fatalf("link type %d not supported", c.link)
				}
				var f visor.Frame
				if st := Packet(&visor.Packet{Data: c.data, LinkType: c.link}, &f); st != OK {
					t.Fatalf("status %v", st)
				}
				if f.Src != want.Src || f.Dst != want.Dst || f.SrcPort != 53000 || f.DstPort != 53 || string(f.Payload) != string(q) || f.Truncated {
					t.Fatalf("frame %+v, want %+v", f, want)
				}
			})
		}
	}
}

func etherOf(ip []byte) uint16 {
	if ip[0]>>4 == 6 {
		return etherIPv6
	}
	return etherIPv4
}

func familyOf(ip []byte) uint32 {
	if ip[0]>>4 == 6 {
		return 30
	}
	return 2
}

// TestLinkEdges: what each wrapping link layer does with records that
// carry no IP packet, are cut short, or lie about their lengths.
func TestLinkEdges(t *testing.T) {
	ip := ip4(17, udp(53000, 53, query("example.com.", 1)))
	nf := linkwrap.NFLOGRecord(ip, binary.LittleEndian)
	pk := linkwrap.PKTAPRecord(1, eth(0x0800, ip))
	badLen := append([]byte(nil), pk...)
	binary.LittleEndian.PutUint32(badLen, 20)
	longHdr := append([]byte(nil), pk...)
	binary.LittleEndian.PutUint32(longHdr, uint32(len(pk)+1))
	noPacket := append([]byte(nil), pk...)
	binary.LittleEndian.PutUint32(noPacket[4:], 0)
	nested := linkwrap.PKTAPRecord(258, pk)
	arc := linkwrap.ARCNETFrame(ip, false)
	split := func(flag byte) []byte { b := append([]byte(nil), arc...); b[3] = flag; return b }
	except := cat([]byte{1, 2, 212, 0xff, 0xff, 0xff, 212, 0, 0, 7}, ip)
	for _, c := range []struct {
		name      string
		link      uint16
		data      []byte
		want      Status
		truncated bool
	}{
		{"nflog short", linkNFLOG, nf[:6], TruncatedLink, false},
		{"nflog no payload", linkNFLOG, nf[:4+8+12+8], NonIP, false},
		{"nflog cut payload", linkNFLOG, nf[:len(nf)-5], OK, true},
		{"nflog TLV length 2", linkNFLOG, cat(nf[:4], []byte{2, 0, 1, 0}, nf[8:]), TruncatedLink, false},
		{"nflog other family", linkNFLOG, cat([]byte{7}, nf[1:]), NonIP, false},
		{"nflog TLV past the end", linkNFLOG, cat(nf[:4], []byte{0xff, 0, 1, 0}), TruncatedLink, false},
		{"pktap short", linkPKTAP, pk[:100], TruncatedLink, false},
		{"pktap header length under 108", linkPKTAP, badLen, BadLink, false},
		{"pktap header past the packet", linkPKTAP, longHdr, TruncatedLink, false},
		{"pktap record without packet", linkPKTAP, noPacket, NonIP, false},
		{"pktap inside pktap", linkPKTAP, nested, UnsupportedLink, false},
		{"pktap unknown inner link", linkPKTAP, linkwrap.PKTAPRecord(147, ip), UnsupportedLink, false},
		{"arcnet short", linkARCNET, arc[:2], TruncatedLink, false},
		{"arcnet short new header", linkARCNET, arc[:5], TruncatedLink, false},
		{"arcnet first of 3 fragments", linkARCNET, split(3)[:60], OK, true},
		{"arcnet later fragment", linkARCNET, split(2), NonIP, false},
		{"arcnet exception packet", linkARCNET, except, OK, false},
		{"arcnet exception short", linkARCNET, except[:8], TruncatedLink, false},
		{"arcnet arp", linkARCNET, cat([]byte{1, 2, 213, 0, 0, 0}, make([]byte, 28)), NonIP, false},
		{"arcnet diagnose", linkARCNET, []byte{1, 2, 0x80, 9}, NonIP, false},
		{"arcnet-linux short", linkARCNETLinux, linkwrap.ARCNETLinuxFrame(ip)[:7], TruncatedLink, false},
		{"arcnet-linux rfc1051", linkARCNETLinux, cat([]byte{1, 2, 0, 0, 240}, ip), OK, false},
		{"ppp compressed protocol", linkPPP, cat([]byte{0x21}, ip), OK, false},
		{"ppp lcp", linkPPP, cat([]byte{0xff, 3, 0xc0, 0x21}, make([]byte, 8)), NonIP, false},
		{"ppp short", linkPPP, []byte{0xff, 3, 0}, TruncatedLink, false},
		{"cisco hdlc short", linkPPPSerial, []byte{0x8f, 0, 8}, TruncatedLink, false},
		{"pppoe discovery", linkPPPEther, cat([]byte{0x11, 9, 0, 0, 0, 4}, make([]byte, 4)), NonIP, false},
		{"pppoe short", linkPPPEther, []byte{0x11, 0, 0, 1, 0}, TruncatedLink, false},
		{"pppoe length past the capture", linkPPPEther, cat([]byte{0x11, 0, 0, 1, 0xff, 0xff, 0, 0x21}, ip), OK, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var f visor.Frame
			st := Packet(&visor.Packet{Data: c.data, LinkType: c.link}, &f)
			if st != c.want || f.Truncated != c.truncated {
				t.Fatalf("status %v truncated %v, want %v %v", st, f.Truncated, c.want, c.truncated)
			}
			if st == OK && (f.Src != client4 || f.DstPort != 53) {
				t.Fatalf("frame %+v", f)
			}
		})
	}
}
