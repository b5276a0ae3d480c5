package analyzers

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/visor-dns/visor"
)

// TestOtherPortWarning: DNS on UDP 8053 is not analysed with the default
// ports, but told once with its port and counted in integrity; random UDP
// on another port is not.
func TestOtherPortWarning(t *testing.T) {
	var warnings []string
	a := New(Options{Bucket: 1e9, DNSPorts: []uint16{53, 5353, 5355}, Shards: 1, Warn: func(s string) { warnings = append(warnings, s) }})
	onPort := func(b []byte, sport, dport uint16) []byte {
		binary.BigEndian.PutUint16(b[20:], sport)
		binary.BigEndian.PutUint16(b[22:], dport)
		return b
	}
	resp := rawQuery(t, 2)
	resp[28+2] |= 0x80 // QR: a response, from the server's port
	r := rand.New(rand.NewPCG(1, 2))
	noise := rawQuery(t, 3)
	for i := 28; i < len(noise); i++ {
		noise[i] = byte(r.Uint32())
	}
	for i, d := range [][]byte{onPort(rawQuery(t, 1), 40001, 8053), onPort(resp, 8053, 40001), onPort(rawQuery(t, 4), 40002, 8053),
		onPort(noise, 40003, 9999), onPort(rawQuery(t, 5), 40004, 53)} {
		a.Observe(&visor.Packet{TS: int64(i+1) * 1e6, Data: d, OrigLen: len(d), LinkType: 101})
	}
	rep := a.Finish()
	defer rep.Close()
	if len(warnings) != 1 || !strings.Contains(warnings[0], "UDP port 8053 ") {
		t.Fatalf("warnings %q", warnings)
	}
	if got := rep.Integrity[integrityOtherPorts]; got != 3 {
		t.Fatalf("integrity %s = %d, want 3", integrityOtherPorts, got)
	}
	if rep.Summary.DNS.Messages != 1 {
		t.Fatalf("%d DNS messages, want the one on port 53", rep.Summary.DNS.Messages)
	}
}

func TestLooksDNS(t *testing.T) {
	pack := func(m *dns.Msg) []byte {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	q := new(dns.Msg)
	q.SetQuestion("www.example.com.", dns.TypeAAAA)
	q.SetEdns0(1232, true)
	r := new(dns.Msg)
	r.SetReply(q)
	rr, _ := dns.NewRR("www.example.com. 60 IN AAAA 2001:db8::1")
	r.Answer = append(r.Answer, rr)
	root := new(dns.Msg)
	root.SetQuestion(".", dns.TypeNS)
	for _, b := range [][]byte{pack(q), pack(r), pack(root)} {
		if !looksDNS(b) {
			t.Errorf("not DNS: % x", b)
		}
	}
	notify := pack(q)
	notify[2] |= 4 << 3
	bad := pack(q)
	binary.BigEndian.PutUint16(bad[4:], 2) // two questions
	long := pack(q)
	long[12] = 64 // a label longer than 63
	cut := pack(q)[:20]
	for _, b := range [][]byte{bad, long, cut, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")} {
		if looksDNS(b) {
			t.Errorf("DNS: % x", b)
		}
	}
	if !looksDNS(notify) {
		t.Error("NOTIFY is not DNS")
	}
	// random bytes: almost never
	rnd := rand.New(rand.NewPCG(3, 4))
	n := 0
	b := make([]byte, 64)
	for i := 0; i < 200000; i++ {
		for j := range b {
			b[j] = byte(rnd.Uint32())
		}
		if looksDNS(b) {
			n++
		}
	}
	if n > 0 {
		t.Errorf("%d of 200000 random payloads look like DNS", n)
	}
}

func FuzzLooksDNS(f *testing.F) {
	q := new(dns.Msg)
	q.SetQuestion("www.example.com.", dns.TypeA)
	b, _ := q.Pack()
	f.Add(b)
	f.Add(b[:17])
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if looksDNS(b) {
			var m dns.Msg
			// what passes has a header and one question miekg/dns reads as such
			if len(b) < 17 || m.Unpack(b[:min(len(b), 512)]) == nil && len(m.Question) != 1 {
				t.Fatalf("% x", b)
			}
		}
	})
}
