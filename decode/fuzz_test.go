package decode

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/internal/fuzzcap"
)

// fuzzLinks are the link types FuzzPacket picks from, one unsupported.
var fuzzLinks = []uint16{1, 0, 108, 113, 276, 101, 12, 14, 228, 229, 147}

func FuzzPacket(f *testing.F) {
	q := query("example.com.", 1)
	u := udp(53000, 53, q)
	seeds := []struct {
		link uint16
		data []byte
	}{
		{1, eth(0x0800, ip4(17, u))},
		{1, eth(0x8100, cat([]byte{0, 1}, be16(0x86dd), ip6(17, u)))},
		{1, eth(0x88a8, cat([]byte{0, 1}, be16(0x8100), []byte{0, 2}, be16(0x0800), ip4(6, cat(tcpHdr(1, 53, 9, 0x18), framed(q)))))},
		{113, cat(make([]byte, 14), be16(0x0800), ip4(17, u))},
		{276, cat(be16(0x86dd), make([]byte, 18), ip6(0, cat([]byte{17, 0, 1, 4, 0, 0, 0, 0}, u)))},
		{0, cat(le32(30), ip6(44, cat(frag6(17, 8, true, 3), u)))},
		{108, cat(be32(2), ip4(17, u))},
		{101, cat(ipv4Hdr(client4, server4, 17, 20+16, 1, 0x2001, nil), u[:16])},
		{228, cat(ipv4Hdr(client4, server4, 17, 24+len(u), 1, 0, []byte{1, 1, 1, 0}), u)},
		{229, ip6(17, u)},
		{147, u},
	}
	for _, s := range seeds {
		for i, lt := range fuzzLinks {
			if lt == s.link {
				f.Add(uint8(i), s.data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, sel uint8, data []byte) {
		p := &visor.Packet{TS: 1, Data: data, OrigLen: len(data), LinkType: fuzzLinks[int(sel)%len(fuzzLinks)]}
		var fr visor.Frame
		st := Packet(p, &fr)
		if st >= numStatus {
			t.Fatalf("status %d", st)
		}
		_ = st.String()
		checkPayloadInData(t, fr.Payload, data)
		if st != OK {
			return
		}
		switch fr.IPVersion {
		case 0:
			if fr.Payload != nil {
				t.Fatal("payload without IP")
			}
		case 4:
			if !fr.Src.Is4() || !fr.Dst.Is4() {
				t.Fatal("IPv4 frame with other addresses")
			}
		case 6:
			if !fr.Src.Is6() || !fr.Dst.Is6() {
				t.Fatal("IPv6 frame with other addresses")
			}
		default:
			t.Fatalf("IP version %d", fr.IPVersion)
		}
		if fr.FragOffset < 0 || fr.FragOffset > 65535 || (!fr.Fragment && (fr.FragOffset != 0 || fr.FragMore)) {
			t.Fatalf("fragment fields %+v", fr)
		}
		if fr.Fragment {
			// What Add is given never overruns its bound by more than a packet.
			d := NewDefrag()
			if d.Add(&fr) && len(d.out) > maxDatagram {
				t.Fatalf("reassembled %d bytes", len(d.out))
			}
		}
	})
}

func FuzzParseDNS(f *testing.F) {
	f.Add(query("example.com.", 1))
	f.Add(response("www.example.com.", 5))
	f.Add(cat(hdr(1, 0, 1, 0, 0, 0), []byte{0}, be16(2), be16(1)))
	f.Add(cat(hdr(4, 0, 1, 0, 0x0161, 0), []byte{3, 'w', 'w', 'w', 0xc0, 8}, be16(1), be16(1)))
	f.Add(cat(hdr(8, 0, 1, 0, 0, 0xc00a), []byte{0xc0, 10}, be16(1), be16(1)))
	f.Add(cat(hdr(3, 0, 1, 0, 0, 0), bytes.Repeat([]byte{1, 0xff}, 127), []byte{0}, be16(1), be16(1)))
	f.Add(cat(hdr(13, 0, 0, 0, 0, 1), []byte{0}, be16(41), be16(512), be32(0), be16(6), be16(8), be16(40), []byte{0, 1}))
	esc := new(dns.Msg)
	esc.SetQuestion(`A\.b.c\032D.`, dns.TypeTXT)
	if b, err := esc.Pack(); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m DNS
		ok := ParseDNS(b, &m)
		if ok != (len(b) >= HeaderLen) {
			t.Fatalf("ok %v for %d bytes", ok, len(b))
		}
		if !ok {
			return
		}
		name := m.QName()
		if len(name) > maxPresentation {
			t.Fatalf("QName of %d bytes", len(name))
		}
		for k := 1; k <= 3; k++ {
			if got, want := m.QNameSuffix(k), suffixRef(name, k); !bytes.Equal(got, want) {
				t.Fatalf("QNameSuffix(%d) of %q = %q, want %q", k, name, got, want)
			}
		}
		if m.HasQuestion != (len(name) > 0) {
			t.Fatalf("HasQuestion %v with QName %q", m.HasQuestion, name)
		}
		for _, c := range name {
			if c <= ' ' || c >= 0x7f || (c >= 'A' && c <= 'Z') {
				t.Fatalf("QName %q holds byte %#x", name, c)
			}
		}
		if m.HasQuestion && m.QDCount == 0 {
			t.Fatal("question without QDCount")
		}
		// Where miekg/dns reads the same first question, the names agree.
		var ref dns.Msg
		if m.HasQuestion && ref.Unpack(b) == nil && len(ref.Question) > 0 {
			rn := strings.ToLower(strings.TrimSuffix(ref.Question[0].Name, "."))
			if rn == "" {
				rn = "."
			}
			simple := !strings.ContainsAny(rn, `\`)
			if simple && rn != string(name) {
				t.Fatalf("QName %q, miekg/dns %q", name, rn)
			}
			if ref.Question[0].Qtype != m.QType || ref.Question[0].Qclass != m.QClass {
				t.Fatalf("qtype/class %d/%d, miekg/dns %d/%d", m.QType, m.QClass, ref.Question[0].Qtype, ref.Question[0].Qclass)
			}
		}
	})
}

// Segment encoding for FuzzStreams: a 4-byte head per segment, then its
// payload: head[0] bits 0-2 TCP FIN/SYN/RST, bit 3 snaplen-cut, bit 4
// reply direction, bits 5-6 client port, bit 7 advance the clock 20 s;
// head[1:3] a signed offset from where the direction's last segment ended;
// head[3] the payload length.
const fuzzSegHead = 4

type fuzzSeg struct {
	flags      uint8 // TCP FIN/SYN/RST
	cut, reply bool
	port       uint8
	later      bool
	delta      int16
	payload    []byte
}

func encodeSegs(segs []fuzzSeg) []byte {
	var out []byte
	for _, g := range segs {
		h := g.flags & 7
		if g.cut {
			h |= 8
		}
		if g.reply {
			h |= 16
		}
		h |= (g.port & 3) << 5
		if g.later {
			h |= 128
		}
		out = append(out, h)
		out = binary.BigEndian.AppendUint16(out, uint16(g.delta))
		out = append(out, byte(len(g.payload)))
		out = append(out, g.payload...)
	}
	return out
}

// chunks cuts b into pieces of at most 255 bytes, in order.
func chunks(b []byte, size int, reply bool) []fuzzSeg {
	var out []fuzzSeg
	for len(b) > 0 {
		n := min(size, len(b), 255)
		out = append(out, fuzzSeg{reply: reply, payload: b[:n]})
		b = b[n:]
	}
	return out
}

func FuzzStreams(f *testing.F) {
	q, r := framed(query("example.com.", 1)), framed(response("example.com.", 3))
	two := framed(query("a.example.", 1), query("b.example.", 28))
	add := func(parts ...[]fuzzSeg) {
		var all []fuzzSeg
		for _, p := range parts {
			all = append(all, p...)
		}
		f.Add(encodeSegs(all))
	}
	handshake := []fuzzSeg{{flags: 2}, {flags: 2, reply: true}}
	add(handshake, chunks(q, 255, false), chunks(r, 255, true), []fuzzSeg{{flags: 1}, {flags: 1, reply: true}})
	add(handshake, chunks(two, 1, false))
	add(handshake, chunks(r, 7, true))
	add(chunks(two, 30, false)) // mid-connection
	out := chunks(two, 20, false)
	out[1].delta, out[2].delta = 20, -40 // third before second
	add(handshake, out)
	add(handshake, chunks(q, 10, false), []fuzzSeg{{delta: -10, payload: q[len(q)-10:]}}, []fuzzSeg{{flags: 4}})
	add([]fuzzSeg{{flags: 2, port: 1}, {flags: 2, port: 2}, {port: 1, cut: true, payload: q[:9]}, {later: true, port: 2, payload: q}})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewStreams()
		s.MaxStreams, s.Idle = 4, 30_000_000_000
		var cur [2][4]uint32 // where each direction of each port's flow ended
		var ts int64
		for len(data) >= fuzzSegHead {
			h, delta, n := data[0], int16(binary.BigEndian.Uint16(data[1:3])), int(data[3])
			data = data[fuzzSegHead:]
			n = min(n, len(data))
			payload := data[:n]
			data = data[n:]
			dir, port := int(h>>4&1), int(h>>5&3)
			if h&128 != 0 {
				ts += 20_000_000_000
			}
			seq := cur[dir][port] + uint32(int32(delta))
			fr := &visor.Frame{TS: ts, IPVersion: 6, Src: client6, Dst: server6, Proto: 6, SrcPort: 50000 + uint16(port), DstPort: 53,
				TCPFlags: h & 7, TCPSeq: seq, Payload: payload, Truncated: h&8 != 0}
			if dir == 1 {
				fr.Src, fr.Dst, fr.SrcPort, fr.DstPort = server6, client6, 53, 50000+uint16(port)
			}
			next := seq + uint32(len(payload))
			if h&2 != 0 {
				next++
			}
			cur[dir][port] = next
			s.Feed(fr, func(msg []byte, ef *visor.Frame) {
				if len(msg) > 65535 || ef != fr {
					t.Fatalf("emitted %d bytes", len(msg))
				}
			})
			if s.Len() > s.MaxStreams {
				t.Fatalf("%d streams held, max %d", s.Len(), s.MaxStreams)
			}
			checkStreams(t, s)
		}
		s.Close()
		if s.Len() != 0 {
			t.Fatal("streams left after Close")
		}
	})
}

// Fragment encoding for FuzzDefrag: 5 bytes per fragment: [0] bits 0-1
// datagram id, bit 2 IPv6, bit 3 last piece, bit 4 advance the clock 20 s,
// bits 5-7 protocol (UDP, TCP or other); [1:3] offset in 8-byte units;
// [3:5] payload length. The payload is that range of a real UDP datagram
// (a DNS response), padded with 0x5a.
const fuzzFragLen = 5

func encodeFrags(fs []piece, v6 bool) []byte {
	var out []byte
	for _, p := range fs {
		h := byte(p.id & 3)
		if v6 {
			h |= 4
		}
		if p.last {
			h |= 8
		}
		out = append(out, h)
		out = binary.BigEndian.AppendUint16(out, uint16(p.from/8))
		out = binary.BigEndian.AppendUint16(out, uint16(p.to-p.from))
	}
	return out
}

func FuzzDefrag(f *testing.F) {
	dg := udp(53, 53000, response("big.example.", 30))
	n := len(dg)
	f.Add(encodeFrags([]piece{{from: 0, to: 256}, {from: 256, to: n, last: true}}, false))
	f.Add(encodeFrags([]piece{{from: 256, to: 448}, {from: 0, to: 256}, {from: 448, to: n, last: true}}, true))
	f.Add(encodeFrags([]piece{{from: 0, to: 256}, {from: 0, to: 256}, {from: 192, to: n, last: true}}, false))
	f.Add(encodeFrags([]piece{{id: 1, from: 0, to: 64}, {id: 2, from: 0, to: 64}, {id: 1, from: 65528, to: 65528 + 100, last: true}}, false))
	f.Add(encodeFrags([]piece{{id: 3, from: 8, to: 16, last: true}, {id: 3, from: 0, to: 8}}, true))
	pattern := cat(dg, bytes.Repeat([]byte{0x5a}, 2*65536))
	protos := [...]uint8{17, 6, 1, 17, 6, 58, 17, 17}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDefrag()
		d.MaxDatagrams, d.Timeout = 3, 30_000_000_000
		var ts int64
		for len(data) >= fuzzFragLen {
			h := data[0]
			off := int(binary.BigEndian.Uint16(data[1:3])&0x1fff) * 8
			size := int(binary.BigEndian.Uint16(data[3:5]))
			data = data[fuzzFragLen:]
			if h&16 != 0 {
				ts += 20_000_000_000
			}
			src, dst := netip.Addr(client4), server4
			v := uint8(4)
			if h&4 != 0 {
				src, dst, v = client6, server6, 6
			}
			fr := &visor.Frame{TS: ts, IPVersion: v, Src: src, Dst: dst, Proto: protos[h>>5], Fragment: true,
				FragOffset: off, FragMore: h&8 == 0, FragID: uint32(h & 3), Payload: pattern[off : off+size]}
			if d.Add(fr) {
				if len(d.out) > maxDatagram || len(fr.Payload) > maxDatagram {
					t.Fatalf("reassembled %d bytes", len(d.out))
				}
				if fr.Fragment {
					t.Fatal("completed frame still a fragment")
				}
			}
			if len(d.pending) > d.MaxDatagrams {
				t.Fatalf("%d datagrams held, max %d", len(d.pending), d.MaxDatagrams)
			}
			checkDefrag(t, d)
		}
		d.Close()
	})
}

// labCaptures are the lab captures FuzzReassembly edits: TCP connections of
// every kind (lab-tcp) and fragmented UDP answers over IPv4 and IPv6 (lab-eth).
func labCaptures(f *testing.F) []*fuzzcap.Capture {
	var cs []*fuzzcap.Capture
	for _, name := range []string{"lab-tcp.pcap", "lab-eth.pcap"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		c, err := fuzzcap.ReadPcap(b)
		if err != nil {
			f.Fatal(err)
		}
		cs = append(cs, c)
	}
	return cs
}

// FuzzReassembly edits real TCP connections and fragmented datagrams
// (fuzzcap programs over the lab captures) and feeds the packets through
// the decoder, the defragmenter and the stream table as the pipeline does,
// checking the tables' invariants after every packet.
func FuzzReassembly(f *testing.F) {
	cs := labCaptures(f)
	for _, p := range fuzzcap.Seeds(cs, 6) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, prog []byte) {
		c := fuzzcap.Run(cs, prog)
		s, d := NewStreams(), NewDefrag()
		s.MaxStreams, d.MaxDatagrams = 8, 4
		var fr visor.Frame
		for _, p := range c.Packets {
			st := Packet(&visor.Packet{TS: p.TS, Data: p.Data, OrigLen: len(p.Data), LinkType: c.LinkType}, &fr)
			if st != OK {
				continue
			}
			checkPayloadInData(t, fr.Payload, p.Data)
			if fr.Fragment {
				if !d.Add(&fr) || fr.Payload == nil {
					checkDefrag(t, d)
					continue
				}
				if len(fr.Payload) > maxDatagram || fr.Fragment {
					t.Fatalf("reassembled %d bytes, fragment %v", len(fr.Payload), fr.Fragment)
				}
				checkDefrag(t, d)
			}
			switch fr.Proto {
			case 17:
				var m DNS
				ParseDNS(fr.Payload, &m)
			case 6:
				s.Feed(&fr, func(msg []byte, ef *visor.Frame) {
					if len(msg) > 65535 || ef != &fr {
						t.Fatalf("emitted %d bytes", len(msg))
					}
					var m DNS
					ParseDNS(msg, &m)
				})
				if s.Len() > s.MaxStreams {
					t.Fatalf("%d streams held, max %d", s.Len(), s.MaxStreams)
				}
				checkStreams(t, s)
			}
		}
		s.Close()
		d.Close()
		if s.Len() != 0 || s.held != 0 {
			t.Fatalf("%d streams, %d bytes left after Close", s.Len(), s.held)
		}
	})
}
