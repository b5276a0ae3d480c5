package decode

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// pack packs m, failing the test on error.
func pack(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hdr is a DNS header with the given counts.
func hdr(id, flags, qd, an, ns, ar uint16) []byte {
	return cat(be16(id), be16(flags), be16(qd), be16(an), be16(ns), be16(ar))
}

func TestParseDNS(t *testing.T) {
	q := query("Example.COM.", dns.TypeAAAA)
	resp := response("example.com.", 3)

	escaped := new(dns.Msg)
	escaped.SetQuestion(`A\.b.c\032D.Ex\\ample.`, dns.TypeTXT)
	esc := pack(t, escaped)

	ecsQuery := new(dns.Msg)
	ecsQuery.SetQuestion("example.net.", dns.TypeA)
	ecsQuery.SetEdns0(4096, false)
	ecsQuery.IsEdns0().Option = append(ecsQuery.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0123456789abcdef"},
		&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 2, SourceNetmask: 56, Address: client6.AsSlice()})
	ecsq := pack(t, ecsQuery)

	nxdomain := new(dns.Msg)
	nxdomain.SetQuestion("nope.example.", dns.TypeA)
	nxdomain.Response, nxdomain.Rcode, nxdomain.Truncated = true, dns.RcodeNameError, true
	nx := pack(t, nxdomain)

	notify := new(dns.Msg)
	notify.SetNotify("example.org.")
	nfy := pack(t, notify)

	// A name of 127 one-byte labels of 0xff: 254 wire bytes, the longest
	// legal name, each byte escaped.
	longName := bytes.Repeat([]byte{1, 0xff}, 127)
	longWant := strings.TrimSuffix(strings.Repeat(`\255.`, 127), ".")
	// One byte more than a name may hold: 256 octets with the root.
	tooLong := cat(bytes.Repeat([]byte{1, 'a'}, 126), []byte{2, 'a', 'b'})

	type want struct {
		id, flags      uint16
		qd, an, ns, ar uint16
		hasQ           bool
		qname          string
		qtype, qclass  uint16
		edns, do, ecs  bool
		udpSize        uint16
		malformed      bool
		response, tc   bool
		rcode, opcode  uint8
	}
	tests := []struct {
		name string
		msg  []byte
		want want
	}{
		{"query with EDNS DO (miekg)", q, want{id: 0xbeef, flags: 0x0100, qd: 1, ar: 1, hasQ: true, qname: "example.com", qtype: 28, qclass: 1, edns: true, do: true, udpSize: 1232}},
		{"response with answers, EDNS DO and ECS (miekg)", resp, want{id: 0xbeef, flags: 0x8180, qd: 1, an: 3, ar: 1, hasQ: true, qname: "example.com", qtype: 1, qclass: 1, edns: true, do: true, ecs: true, udpSize: 1232, response: true}},
		{"query with cookie then ECS, no DO", ecsq, want{id: ecsQuery.Id, flags: 0x0100, qd: 1, ar: 1, hasQ: true, qname: "example.net", qtype: 1, qclass: 1, edns: true, ecs: true, udpSize: 4096}},
		{"escaped bytes lowercased", esc, want{id: escaped.Id, flags: 0x0100, qd: 1, hasQ: true, qname: `a\046b.c\032d.ex\092ample`, qtype: 16, qclass: 1}},
		{"nxdomain truncated response", nx, want{id: nxdomain.Id, flags: 0x8303, qd: 1, hasQ: true, qname: "nope.example", qtype: 1, qclass: 1, response: true, tc: true, rcode: 3}},
		{"notify opcode", nfy, want{id: notify.Id, flags: 0x2400, qd: 1, hasQ: true, qname: "example.org", qtype: 6, qclass: 1, opcode: 4}},
		{"root name", cat(hdr(1, 0, 1, 0, 0, 0), []byte{0}, be16(2), be16(1)), want{id: 1, qd: 1, hasQ: true, qname: ".", qtype: 2, qclass: 1}},
		{"uppercase and binary bytes", cat(hdr(2, 0, 1, 0, 0, 0), []byte{4, 'W', 0x7f, ' ', 'z', 0}, be16(1), be16(1)), want{id: 2, qd: 1, hasQ: true, qname: `w\127\032z`, qtype: 1, qclass: 1}},
		{"longest name", cat(hdr(3, 0, 1, 0, 0, 0), longName, []byte{0}, be16(1), be16(1)), want{id: 3, qd: 1, hasQ: true, qname: longWant, qtype: 1, qclass: 1}},
		{"name over 255 bytes", cat(hdr(3, 0, 1, 0, 0, 0), tooLong, []byte{0}, be16(1), be16(1)), want{id: 3, qd: 1, malformed: true}},
		// Question "www" + pointer to offset 8, where NSCount/ARCount spell
		// "\x01a\x00": the name is www.a. The 0x161 authority records are missing.
		{"compression pointer in question", cat(hdr(4, 0, 1, 0, 0x0161, 0), []byte{3, 'w', 'w', 'w', 0xc0, 8}, be16(1), be16(1)),
			want{id: 4, qd: 1, ns: 0x0161, hasQ: true, qname: "www.a", qtype: 1, qclass: 1, malformed: true}},
		{"second question compressed", cat(hdr(5, 0, 2, 0, 0, 0), []byte{7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0}, be16(1), be16(1),
			[]byte{3, 'w', 'w', 'w', 0xc0, 12}, be16(28), be16(1)),
			want{id: 5, qd: 2, hasQ: true, qname: "example", qtype: 1, qclass: 1}},
		{"pointer to itself", cat(hdr(6, 0, 1, 0, 0, 0), []byte{0xc0, 12}, be16(1), be16(1)), want{id: 6, qd: 1, malformed: true}},
		{"forward pointer", cat(hdr(7, 0, 1, 0, 0, 0), []byte{0xc0, 14, 1, 'a', 0}, be16(1), be16(1)), want{id: 7, qd: 1, malformed: true}},
		// Backward to ARCount at 10, which holds a pointer to itself.
		{"pointer loop through header", cat(hdr(8, 0, 1, 0, 0, 0xc00a), []byte{0xc0, 10}, be16(1), be16(1)), want{id: 8, qd: 1, ar: 0xc00a, malformed: true}},
		{"reserved label type", cat(hdr(9, 0, 1, 0, 0, 0), []byte{0x40, 0}, be16(1), be16(1)), want{id: 9, qd: 1, malformed: true}},
		{"truncated in question name", q[:16], want{id: 0xbeef, flags: 0x0100, qd: 1, ar: 1, malformed: true}},
		{"truncated in question type", q[:len(q)-11-3], want{id: 0xbeef, flags: 0x0100, qd: 1, ar: 1, malformed: true}},
		{"truncated in additional", q[:len(q)-2], want{id: 0xbeef, flags: 0x0100, qd: 1, ar: 1, hasQ: true, qname: "example.com", qtype: 28, qclass: 1, malformed: true}},
		{"truncated in answers", resp[:40], want{id: 0xbeef, flags: 0x8180, qd: 1, an: 3, ar: 1, hasQ: true, qname: "example.com", qtype: 1, qclass: 1, malformed: true, response: true}},
		{"pointer cut after its first byte", cat(hdr(14, 0, 1, 0, 0, 0), []byte{3, 'w', 'w', 'w', 0xc0}), want{id: 14, qd: 1, malformed: true}},
		{"second question truncated", cat(hdr(15, 0, 2, 0, 0, 0), []byte{1, 'a', 0}, be16(1), be16(1), []byte{5, 'b'}),
			want{id: 15, qd: 2, hasQ: true, qname: "a", qtype: 1, qclass: 1, malformed: true}},
		{"second question name too long", cat(hdr(16, 0, 2, 0, 0, 0), []byte{1, 'a', 0}, be16(1), be16(1), bytes.Repeat([]byte{1, 'a'}, 130), []byte{0}, be16(1), be16(1)),
			want{id: 16, qd: 2, hasQ: true, qname: "a", qtype: 1, qclass: 1, malformed: true}},
		{"second question bad label type", cat(hdr(17, 0, 2, 0, 0, 0), []byte{1, 'a', 0}, be16(1), be16(1), []byte{0x80, 0}, be16(1), be16(1)),
			want{id: 17, qd: 2, hasQ: true, qname: "a", qtype: 1, qclass: 1, malformed: true}},
		{"answer rdata past the end", cat(hdr(18, 0x8000, 0, 1, 0, 0), []byte{0}, be16(1), be16(1), be32(60), be16(4), []byte{192, 0}),
			want{id: 18, flags: 0x8000, an: 1, malformed: true, response: true}},
		{"additional rdata past the end", cat(hdr(19, 0, 0, 0, 0, 1), []byte{0}, be16(41), be16(512), be32(0), be16(8), []byte{0, 8}),
			want{id: 19, ar: 1, malformed: true}},
		{"header only", hdr(10, 0x8180, 0, 0, 0, 0), want{id: 10, flags: 0x8180, response: true}},
		{"counts past the data", hdr(11, 0, 0, 2, 3, 4), want{id: 11, an: 2, ns: 3, ar: 4, malformed: true}},
		{"OPT not at the root is not EDNS", cat(hdr(12, 0, 0, 0, 0, 1), []byte{1, 'x', 0}, be16(41), be16(512), be32(0x8000), be16(0)),
			want{id: 12, ar: 1}},
		{"OPT with truncated option", cat(hdr(13, 0, 0, 0, 0, 1), []byte{0}, be16(41), be16(512), be32(0), be16(6), be16(8), be16(40), []byte{0, 1}),
			want{id: 13, ar: 1, edns: true, ecs: true, udpSize: 512}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m DNS
			// Leave stale state from another message; Parse must reset it.
			if !ParseDNS(resp, &m) {
				t.Fatal("priming parse failed")
			}
			if !ParseDNS(tc.msg, &m) {
				t.Fatal("ParseDNS = false")
			}
			got := want{m.ID, m.Flags, m.QDCount, m.ANCount, m.NSCount, m.ARCount, m.HasQuestion, string(m.QName()), m.QType, m.QClass,
				m.EDNS, m.DO, m.ECS, m.UDPSize, m.Malformed, m.Response(), m.TC(), m.Rcode(), m.Opcode()}
			if got != tc.want {
				t.Errorf("\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseDNSShort(t *testing.T) {
	var m DNS
	for n := 0; n < HeaderLen; n++ {
		if ParseDNS(make([]byte, n), &m) {
			t.Errorf("ParseDNS(%d bytes) = true", n)
		}
	}
	if !ParseDNS(make([]byte, HeaderLen), &m) {
		t.Error("ParseDNS(12 zero bytes) = false")
	}
}

// TestReadNameCompressed follows a pointer chain in an answer's owner.
func TestReadNameCompressed(t *testing.T) {
	m := new(dns.Msg)
	m.SetQuestion("www.example.com.", dns.TypeCNAME)
	m.Response = true
	rr, _ := dns.NewRR("www.example.com. 60 IN CNAME cdn.example.com.")
	rr2, _ := dns.NewRR("cdn.example.com. 60 IN A 192.0.2.1")
	m.Answer = append(m.Answer, rr, rr2)
	m.Compress = true
	b := pack(t, m)
	// The answers start after the header and question (17 + 4 bytes).
	off := HeaderLen + 17 + 4
	if b[off]&0xc0 != 0xc0 {
		t.Fatalf("answer owner at %d is not compressed: %x", off, b[off:])
	}
	var dst [maxPresentation]byte
	n, next, ok := readName(b, off, dst[:], &labelSeps{})
	if !ok || string(dst[:n]) != "www.example.com" || next != off+2 {
		t.Fatalf("owner: %q next %d ok %v", dst[:n], next, ok)
	}
	// CNAME target "cdn" + pointer to example.com.
	rdata := next + 10
	n, next, ok = readName(b, rdata, dst[:], &labelSeps{})
	if !ok || string(dst[:n]) != "cdn.example.com" || next != rdata+6 {
		t.Fatalf("target: %q next %d ok %v", dst[:n], next, ok)
	}
	// The second answer's owner points at the CNAME target, which itself
	// ends in a pointer: two jumps.
	off2 := next
	n, _, ok = readName(b, off2, dst[:], &labelSeps{})
	if !ok || string(dst[:n]) != "cdn.example.com" {
		t.Fatalf("second owner: %q ok %v", dst[:n], ok)
	}
	var v DNS
	if !ParseDNS(b, &v) || v.Malformed || v.ANCount != 2 {
		t.Fatalf("parse: %+v", v)
	}
}

// lowerPlain agrees with the byte table on every byte value, at every
// position of a word and in the tail, read byte by byte (lab and d end
// where their capacity does) or as a masked word (bytes that must be
// escaped follow lab in its buffer).
func TestLowerPlain(t *testing.T) {
	for _, spare := range []int{0, 8} {
		for n := 1; n <= 20; n++ {
			for c := 0; c < 256; c++ {
				for pos := 0; pos < n; pos++ {
					buf := append(bytes.Repeat([]byte{'q'}, n), bytes.Repeat([]byte{'.', 0xff, 'A', 0}, 2)...)
					lab := buf[: n : n+spare]
					lab[pos] = byte(c)
					d := make([]byte, n, n+spare)
					ok := lowerPlain(d, lab)
					want := nameByte[c] != 0
					if ok != want {
						t.Fatalf("n=%d spare=%d byte %#x at %d: plain=%v, want %v", n, spare, c, pos, ok, want)
					}
					if !ok {
						continue
					}
					for i := range n {
						if w := nameByte[lab[i]]; d[i] != w {
							t.Fatalf("n=%d spare=%d byte %#x at %d: d[%d] = %#x, want %#x", n, spare, c, pos, i, d[i], w)
						}
					}
				}
			}
		}
	}
}

// Mixed labels of plain bytes lower as the table does, whole.
func TestLowerPlainMixed(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for range 2000 {
		lab := make([]byte, 1+r.IntN(63))
		for i := range lab {
			for lab[i] = byte(0x21 + r.IntN(0x7e-0x21+1)); lab[i] == '.' || lab[i] == '\\'; {
				lab[i] = byte(0x21 + r.IntN(0x7e-0x21+1))
			}
		}
		d := make([]byte, len(lab))
		if !lowerPlain(d, lab) {
			t.Fatalf("%q: not plain", lab)
		}
		for i, c := range lab {
			if d[i] != nameByte[c] {
				t.Fatalf("%q: lowered to %q", lab, d)
			}
		}
	}
}

// suffixRef is QNameSuffix written the obvious way: count dots from the end.
func suffixRef(name []byte, k int) []byte {
	if len(name) == 0 || len(name) == 1 && name[0] == '.' {
		return nil
	}
	seen := 0
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '.' {
			if seen++; seen == k {
				return name[i:]
			}
		}
	}
	if seen == k-1 {
		return name
	}
	return nil
}

func TestQNameSuffix(t *testing.T) {
	names := []string{".", "com", "example.com", "www.example.com", "a.b.c.d.e.f", "x\\.y.example.com", "A.B.Example.COM"}
	for _, n := range names {
		msg := new(dns.Msg)
		msg.SetQuestion(dns.Fqdn(n), dns.TypeA)
		b, err := msg.Pack()
		if err != nil {
			t.Fatal(err)
		}
		var v DNS
		if !ParseDNS(b, &v) || !v.HasQuestion {
			t.Fatalf("%s: no question", n)
		}
		for k := 1; k <= 3; k++ {
			if got, want := v.QNameSuffix(k), suffixRef(v.QName(), k); !bytes.Equal(got, want) {
				t.Errorf("%s (%s) k=%d: got %q, want %q", n, v.QName(), k, got, want)
			}
		}
	}
}
