package encdns

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"testing"

	"github.com/visor-dns/visor"
)

// realHello returns the first TLS record crypto/tls writes as a client for
// serverName ("" sends no SNI).
func realHello(t testing.TB, serverName string) []byte {
	t.Helper()
	a, b := net.Pipe()
	go func() {
		c := tls.Client(a, &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
		c.Handshake()
		a.Close()
	}()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(b, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint16(hdr[3:]))
	if _, err := io.ReadFull(b, body); err != nil {
		t.Fatal(err)
	}
	b.Close()
	return append(hdr, body...)
}

func TestClientHelloSNI(t *testing.T) {
	named := realHello(t, "Dns.Google")
	anon := realHello(t, "")
	for _, c := range []struct {
		name  string
		b     []byte
		sni   string
		hello bool
	}{
		{"crypto/tls with SNI", named, "Dns.Google", true},
		{"crypto/tls without SNI", anon, "", true},
		{"cut in the random", named[:30], "", true},
		{"cut in the server name", named[:bytes.Index(named, []byte("Dns.Google"))+3], "", true},
		{"application data", append([]byte{23, 3, 3, 0, 5}, 1, 2, 3, 4, 5), "", false},
		{"ServerHello", append([]byte{22, 3, 3, 0, 4, 2}, 0, 0, 0), "", false},
		{"SSL 2 style", []byte{22, 2, 0, 0, 4, 1, 0, 0, 0}, "", false},
		{"empty", nil, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			sni, hello := ClientHelloSNI(c.b)
			if string(sni) != c.sni || hello != c.hello {
				t.Fatalf("sni %q hello %v, want %q %v", sni, hello, c.sni, c.hello)
			}
		})
	}
}

func FuzzClientHelloSNI(f *testing.F) {
	f.Add(realHello(f, "dns.google"))
	f.Add(realHello(f, ""))
	f.Add([]byte{22, 3, 1, 0, 40, 1, 0, 0, 36})
	f.Fuzz(func(t *testing.T, b []byte) {
		sni, hello := ClientHelloSNI(b)
		if sni != nil && (!hello || len(sni) == 0 || len(sni) > maxServerName || !bytes.Contains(b, sni)) {
			t.Fatalf("sni %q hello %v", sni, hello)
		}
		_ = QUICInitial(b)
	})
}

func TestQUICInitial(t *testing.T) {
	v1 := append([]byte{0xc3, 0, 0, 0, 1, 8}, make([]byte, 20)...)
	v2 := append([]byte{0xd3, 0x6b, 0x33, 0x43, 0xcf, 8}, make([]byte, 20)...)
	handshake := append([]byte{0xe3, 0, 0, 0, 1, 8}, make([]byte, 20)...)
	short := append([]byte{0x43}, make([]byte, 30)...)
	vn := append([]byte{0xc3, 0, 0, 0, 0, 8}, make([]byte, 20)...)
	for _, c := range []struct {
		b    []byte
		want bool
	}{{v1, true}, {v2, true}, {handshake, false}, {short, false}, {vn, false}, {v1[:6], false}} {
		if got := QUICInitial(c.b); got != c.want {
			t.Errorf("QUICInitial(% x) = %v", c.b[:min(6, len(c.b))], got)
		}
	}
}

func TestNames(t *testing.T) {
	n := NewNames([]string{"default", " My.DoH.Example. "})
	for name, want := range map[string]bool{"dns.google": true, "my.doh.example": true, "a.b.my.doh.example": true,
		"xyz.dns.nextdns.io": true, "google": false, "evil-dns.google.example": false, "doh.example": false, "": false} {
		if got := n.match([]byte(name)); got != want {
			t.Errorf("match(%q) = %v", name, got)
		}
	}
	if NewNames([]string{"none"}).match([]byte("dns.google")) {
		t.Error("none matches")
	}
}

// flowSim writes the frames of one TCP connection.
type flowSim struct {
	cli, srv       netip.Addr
	cport, srvPort uint16
	seq            [2]uint32
	ts             int64
}

func (s *flowSim) frame(fromClient bool, flags uint8, payload []byte) *visor.Frame {
	s.ts += 1e6
	i := 1
	f := &visor.Frame{TS: s.ts, IPVersion: 4, Proto: visor.TransportTCP, TCPFlags: flags, Payload: payload, WireLen: 54 + len(payload),
		Src: s.srv, Dst: s.cli, SrcPort: s.srvPort, DstPort: s.cport}
	if fromClient {
		i = 0
		f.Src, f.Dst, f.SrcPort, f.DstPort = s.cli, s.srv, s.cport, s.srvPort
	}
	f.TCPSeq = s.seq[i]
	s.seq[i] += uint32(len(payload))
	return f
}

func rec(typ byte, n int) []byte {
	return append([]byte{typ, 3, 3, byte(n >> 8), byte(n)}, make([]byte, n)...)
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// session plays a TLS 1.3 session: the hello, the server's flight (with
// encrypted records), the client's CCS and Finished, then each client
// record of reqs answered by a server record, then close_notify.
func session(t *testing.T, a *Analyzer, st *State, s *flowSim, hello []byte, reqs [][]byte) {
	t.Helper()
	a.Observe(s.frame(true, 0x02, nil), st)
	a.Observe(s.frame(false, 0x12, nil), st)
	a.Observe(s.frame(true, 0x18, hello), st)
	a.Observe(s.frame(false, 0x18, cat(rec(22, 122), rec(20, 1), rec(23, 59), rec(23, 851), rec(23, 281), rec(23, 69))), st)
	a.Observe(s.frame(true, 0x18, cat(rec(20, 1), rec(23, 53))), st)
	for _, r := range reqs {
		a.Observe(s.frame(true, 0x18, r), st)
		a.Observe(s.frame(false, 0x18, rec(23, 120)), st)
	}
	a.Observe(s.frame(true, 0x19, rec(23, 19)), st)
	a.Observe(s.frame(false, 0x19, rec(23, 19)), st)
}

func TestAnalyzer(t *testing.T) {
	cli, srv := netip.MustParseAddr("198.51.100.10"), netip.MustParseAddr("198.51.100.53")
	hello, doh := realHello(t, ""), realHello(t, "dns.google")
	q := rec(23, 147)
	t.Run("DoT", func(t *testing.T) {
		a, st := NewAnalyzer(NewNames(nil)), NewState()
		s := &flowSim{cli: cli, srv: srv, cport: 40000, srvPort: 853}
		// four queries: one split across two segments, one whole, one
		// with the next one's record header cut at the segment's end
		session(t, a, st, s, hello, [][]byte{q[:70], q[70:], q, cat(q, q[:3]), q[3:]})
		r := st.Report(10)
		if r.DoT.Sessions != 1 || r.DoT.QueriesEst != 4 || r.DoT.Cardinality.Clients != 1 || r.DoT.Packets != 17 {
			t.Fatalf("%+v", r.DoT)
		}
		if a.Len() != 0 {
			t.Fatalf("%d flows left after both FINs", a.Len())
		}
		// a retransmitted query adds nothing
		s2 := &flowSim{cli: cli, srv: srv, cport: 40001, srvPort: 853}
		a.Observe(s2.frame(true, 0x18, hello), st)
		a.Observe(s2.frame(false, 0x18, cat(rec(22, 90), rec(20, 1), rec(23, 500))), st)
		a.Observe(s2.frame(true, 0x18, rec(23, 53)), st)
		f := s2.frame(true, 0x18, q)
		a.Observe(f, st)
		a.Observe(f, st)
		if got := st.Report(10).DoT.QueriesEst; got != 5 {
			t.Fatalf("queries %d after a retransmission, want 5", got)
		}
	})
	t.Run("DoH", func(t *testing.T) {
		a, st := NewAnalyzer(NewNames([]string{"default"})), NewState()
		s := &flowSim{cli: cli, srv: srv, cport: 40002, srvPort: 443}
		// preface and SETTINGS, then HEADERS and DATA twice; a SETTINGS ACK
		session(t, a, st, s, doh, [][]byte{rec(23, 56), cat(rec(23, 92), rec(23, 154)), rec(23, 26), cat(rec(23, 46), rec(23, 154))})
		// the same with a server name of no DoH service: plain HTTPS
		s2 := &flowSim{cli: cli, srv: srv, cport: 40003, srvPort: 443}
		session(t, a, st, s2, realHello(t, "www.example.com"), [][]byte{rec(23, 56), cat(rec(23, 92), rec(23, 154))})
		r := st.Report(10)
		if r.DoH.Sessions != 1 || r.DoH.QueriesEst != 2 || r.DoT.Packets != 0 || len(r.Top.Servers) != 1 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("DoQ", func(t *testing.T) {
		a, st := NewAnalyzer(nil), NewState()
		initial := append([]byte{0xc3, 0, 0, 0, 1, 8}, make([]byte, 1194)...)
		udp := func(ts int64, fromClient bool, b []byte) *visor.Frame {
			f := &visor.Frame{TS: ts, IPVersion: 4, Proto: visor.TransportUDP, Src: cli, Dst: srv, SrcPort: 50000, DstPort: 853, Payload: b, WireLen: 42 + len(b)}
			if !fromClient {
				f.Src, f.Dst, f.SrcPort, f.DstPort = srv, cli, 853, 50000
			}
			return f
		}
		a.Observe(udp(1e9, true, initial), st)
		a.Observe(udp(2e9, true, initial), st) // a retransmitted Initial
		a.Observe(udp(3e9, false, initial), st)
		a.Observe(udp(4e9, true, append([]byte{0x43}, make([]byte, 150)...)), st) // a query
		a.Observe(udp(5e9, true, append([]byte{0x43}, make([]byte, 30)...)), st)  // an ACK
		a.Observe(udp(40e9, true, initial), st)                                   // a new connection on the same ports
		r := st.Report(10).DoQ
		if r.Sessions != 2 || r.QueriesEst != 1 || r.Packets != 6 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("merge and reset", func(t *testing.T) {
		a, x, y := NewAnalyzer(nil), NewState(), NewState()
		session(t, a, x, &flowSim{cli: cli, srv: srv, cport: 1, srvPort: 853}, hello, [][]byte{q})
		session(t, a, y, &flowSim{cli: srv, srv: cli, cport: 2, srvPort: 853}, hello, [][]byte{q, q})
		x.Merge(y)
		if r := x.Report(10); r.DoT.Sessions != 2 || r.DoT.QueriesEst != 3 || r.DoT.Cardinality.Clients != 2 {
			t.Fatalf("%+v", r.DoT)
		}
		x.Reset()
		if r := x.Report(10); r.DoT.Sessions != 0 || len(r.Top.Clients) != 0 {
			t.Fatalf("%+v", r)
		}
	})
}

// FuzzAnalyzer feeds segments of fuzzed bytes to the analyzer: 3 bytes a
// segment (flags: direction, transport and port, FIN/RST; a sequence
// offset; the length), then the payload. Nothing panics, the flow table
// keeps its bound, and no query is counted without client bytes for it.
func FuzzAnalyzer(f *testing.F) {
	hello := realHello(f, "dns.google")
	seg := func(h, off byte, p []byte) []byte { return append([]byte{h, off, byte(len(p))}, p...) }
	f.Add(cat(seg(1, 0, hello[:250]), seg(0, 0, cat(rec(22, 40), rec(23, 60))), seg(1, 0, rec(23, 53)), seg(1, 0, rec(23, 147)[:100])))
	f.Add(cat(seg(5, 0, hello[:200]), seg(1, 0, rec(23, 200)[:120]), seg(1, 0xf0, rec(23, 80))))
	f.Add(seg(2+1, 0, append([]byte{0xc3, 0, 0, 0, 1, 8}, make([]byte, 200)...)))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, st := NewAnalyzer(NewNames([]string{"default"})), NewState()
		a.MaxFlows = 2
		cli, srv := netip.MustParseAddr("198.51.100.10"), netip.MustParseAddr("198.51.100.53")
		var seq [2]uint32
		var clientBytes uint64
		for ts := int64(1); len(data) >= 3; ts += 1e9 {
			h, off, n := data[0], data[1], int(data[2])
			data = data[3:]
			n = min(n, len(data))
			p := data[:n]
			data = data[n:]
			fromClient, udp := h&1 != 0, h&2 != 0
			port := uint16(853)
			if h&4 != 0 {
				port = 443
			}
			fr := &visor.Frame{TS: ts, IPVersion: 4, Proto: visor.TransportTCP, Src: srv, Dst: cli, SrcPort: port, DstPort: 40000 + uint16(h>>6),
				Payload: p, WireLen: 1500, TCPFlags: h >> 3 & 5}
			if udp {
				fr.Proto, fr.WireLen = visor.TransportUDP, 42+len(p)+int(off)*8
			}
			if fromClient {
				fr.Src, fr.Dst, fr.SrcPort, fr.DstPort = fr.Dst, fr.Src, fr.DstPort, fr.SrcPort
				clientBytes += uint64(len(p))
			}
			i := 1
			if fromClient {
				i = 0
			}
			fr.TCPSeq = seq[i] + uint32(int8(off))
			seq[i] = fr.TCPSeq + uint32(len(p))
			a.Observe(fr, st)
			if a.Len() > a.MaxFlows {
				t.Fatalf("%d flows, bound %d", a.Len(), a.MaxFlows)
			}
		}
		// each query counted took a record header (5 bytes) or a QUIC packet of the client's
		r := st.Report(10)
		if q := r.DoT.QueriesEst + r.DoH.QueriesEst + r.DoQ.QueriesEst; q > clientBytes/5 {
			t.Fatalf("%d queries from %d bytes of the client", q, clientBytes)
		}
	})
}
