package engine

import (
	"encoding/binary"
	"io"
	"net/netip"
	"testing"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/anonymize"
	"github.com/visor-dns/visor/capture"
	"github.com/visor-dns/visor/decode"
)

// l4Sum is the ones' complement sum of the UDP or TCP segment of the IP
// packet at b with its pseudo-header: 0xffff when its checksum is right
// (ok false when it cannot be computed: a cut packet, no checksum).
// Captures on veths hold checksums the kernel never filled in: a rewrite
// must keep the sum whatever it was.
func l4Sum(b []byte, f *visor.Frame) (sum uint16, ok bool) {
	var l4 int
	var pseudo uint32
	if f.IPVersion == 4 {
		l4 = int(b[0]&0xf) * 4
		total := int(binary.BigEndian.Uint16(b[2:]))
		if total > len(b) {
			return 0, false
		}
		b = b[:total]
		pseudo = uint32(sum16(b[12:20], 0))
	} else {
		l4 = ipv6Transport(b)
		if l4 < 0 || 40+int(binary.BigEndian.Uint16(b[4:])) > len(b) {
			return 0, false
		}
		b = b[:40+int(binary.BigEndian.Uint16(b[4:]))]
		pseudo = uint32(sum16(b[8:40], 0))
	}
	seg := b[l4:]
	if f.Proto == visor.TransportUDP && binary.BigEndian.Uint16(seg[6:]) == 0 {
		return 0, false
	}
	pseudo += uint32(f.Proto) + uint32(len(seg))
	return sum16(seg, pseudo), true
}

// Rewritten packets keep their checksums right, hold none of their real
// addresses, and decode to the pseudonyms.
func TestCarveAnonRewrite(t *testing.T) {
	an, _ := anonymize.New([]byte("0123456789abcdef0123456789abcdef"), 32, 128)
	c := &carveAnon{an: an, ports: map[uint16]bool{53: true}}
	for _, name := range []string{"lab-eth.pcap", "lab-tcp.pcap", "lab-sll2.pcap"} {
		src, err := capture.Open("../testdata/"+name, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		var p visor.Packet
		var f visor.Frame
		checked := 0
		for {
			if err := src.Next(&p); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			if decode.Packet(&p, &f) != decode.OK || f.IPVersion == 0 || f.Fragment {
				continue
			}
			if f.Proto != visor.TransportUDP && f.Proto != visor.TransportTCP {
				if c.packet(&p, &f) {
					t.Fatalf("%s packet %d (protocol %d) rewritten, not left out", name, p.Number, f.Proto)
				}
				continue
			}
			real := [2]netip.Addr{f.Src, f.Dst}
			o := ipHeader(p.Data, f.Src, f.Dst)
			before, canCheck := l4Sum(p.Data[o:], &f)
			if !c.packet(&p, &f) {
				t.Fatalf("%s packet %d: not rewritten", name, p.Number)
			}
			if f.Src != an.Addr(real[0]) || f.Dst != an.Addr(real[1]) {
				t.Fatalf("%s packet %d: decodes to %s > %s", name, p.Number, f.Src, f.Dst)
			}
			if canCheck {
				if after, _ := l4Sum(p.Data[o:], &f); after != before {
					t.Fatalf("%s packet %d: checksum sum %#x after the rewrite, %#x before", name, p.Number, after, before)
				}
				checked++
			}
		}
		src.Close()
		if checked == 0 {
			t.Errorf("%s: no checksum checked", name)
		}
	}
}
