package dns

import (
	"net/netip"
	"reflect"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/report"
)

// depthMsg packs m as a message from src to dst over transport.
func depthMsg(t testing.TB, ts int64, m *mdns.Msg, src, dst netip.Addr, sport, dport uint16, transport uint8) *visor.Message {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	ipv := uint8(4)
	if src.Is6() {
		ipv = 6
	}
	return &visor.Message{TS: ts, IPVersion: ipv, Transport: transport, Src: src, Dst: dst,
		SrcPort: sport, DstPort: dport, WireLen: len(b), Data: b}
}

func withOPT(m *mdns.Msg, size uint16, version uint8, cookie bool, ede ...uint16) *mdns.Msg {
	o := &mdns.OPT{Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeOPT}}
	o.SetUDPSize(size)
	o.SetVersion(version)
	if cookie {
		o.Option = append(o.Option, &mdns.EDNS0_COOKIE{Code: mdns.EDNS0COOKIE, Cookie: "0102030405060708"})
	}
	for _, c := range ede {
		o.Option = append(o.Option, &mdns.EDNS0_EDE{InfoCode: c})
	}
	m.Extra = append(m.Extra, o)
	return m
}

func TestDepth(t *testing.T) {
	const s = int64(1e9)
	v6c := netip.MustParseAddr("2001:db8::10")
	v6s := netip.MustParseAddr("2001:db8::1")
	q := func(name string, qtype uint16) *mdns.Msg {
		m := new(mdns.Msg)
		m.SetQuestion(name, qtype)
		return m
	}
	resp := func(qm *mdns.Msg, rcode int) *mdns.Msg {
		r := new(mdns.Msg)
		r.SetRcode(qm, rcode)
		return r
	}
	big := q("big.example.", mdns.TypeTXT)
	tcResp := resp(big, 0)
	tcResp.Truncated = true
	notify := q("example.", mdns.TypeSOA)
	notify.Opcode = mdns.OpcodeNotify
	bad := resp(q("v.example.", mdns.TypeA), 0)
	withOPT(bad, 1232, 0, false)
	bad.Rcode = mdns.RcodeBadVers // the packer puts its upper bits in the OPT record
	msgs := []*visor.Message{
		depthMsg(t, 0, withOPT(q("a.example.", mdns.TypeA), 1232, 0, true), client, server, 40000, 53, visor.TransportUDP),
		depthMsg(t, 1, withOPT(q("b.example.", mdns.TypeA), 4096, 1, false), client, server, 40001, 53, visor.TransportUDP),
		depthMsg(t, 2, withOPT(q("c.example.", mdns.TypeA), 1232, 0, false), v6c, v6s, 40002, 53, visor.TransportUDP),
		depthMsg(t, 3, big, client, server, 40003, 53, visor.TransportUDP),
		depthMsg(t, 4, tcResp, server, client, 53, 40003, visor.TransportUDP),
		// The retry: a new port, over TCP, within the timeout.
		depthMsg(t, 2*s, big, client, server, 50000, 53, visor.TransportTCP),
		// Not a retry: another name over TCP.
		depthMsg(t, 2*s, q("other.example.", mdns.TypeTXT), client, server, 50001, 53, visor.TransportTCP),
		depthMsg(t, 3*s, notify, server, client, 40005, 53, visor.TransportUDP),
		depthMsg(t, 4*s, bad, server, client, 53, 40006, visor.TransportUDP),
		depthMsg(t, 5*s, withOPT(resp(q("s.example.", mdns.TypeA), mdns.RcodeServerFailure), 1232, 0, false, 6, 22), server, client, 53, 40007, visor.TransportUDP),
	}
	// Every message in its own bucket half the time: the retry is matched
	// across buckets through the carry as within one.
	for _, split := range []bool{false, true} {
		a := NewAnalyzer()
		var carry RetryCarry
		sum := NewState()
		st := NewState()
		for i, m := range msgs {
			a.Observe(m, st, visor.DirUnknown)
			if split || i == len(msgs)-1 {
				st.SettleRetries(&carry, m.TS+1, a.Timeout)
				sum.Merge(st)
				st.Reset()
			}
		}
		r := sum.Report(10)
		if want := map[string]uint64{"QUERY": 6, "NOTIFY": 1}; !reflect.DeepEqual(r.Opcodes, want) {
			t.Errorf("split %v: opcodes %v, want %v", split, r.Opcodes, want)
		}
		e := r.EDNSDetail
		if want := map[string]uint64{"1232": 2, "4096": 1}; !reflect.DeepEqual(e.UDPSizes, want) {
			t.Errorf("split %v: udp sizes %v, want %v", split, e.UDPSizes, want)
		}
		if want := map[string]uint64{"0": 4, "1": 1}; !reflect.DeepEqual(e.Versions, want) {
			t.Errorf("split %v: versions %v, want %v", split, e.Versions, want)
		}
		if want := map[string]uint64{"BADVERS": 1}; !reflect.DeepEqual(e.ExtRcodes, want) {
			t.Errorf("split %v: ext rcodes %v, want %v", split, e.ExtRcodes, want)
		}
		if want := map[string]uint64{"DNSSEC Bogus": 1, "No Reachable Authority": 1}; !reflect.DeepEqual(e.EDE, want) {
			t.Errorf("split %v: EDE %v, want %v", split, e.EDE, want)
		}
		if e.Cookies != 1 {
			t.Errorf("split %v: cookies %d, want 1", split, e.Cookies)
		}
		if want := (report.Truncation{Responses: 1, TCPRetries: 1}); r.Truncation != want {
			t.Errorf("split %v: truncation %+v, want %+v", split, r.Truncation, want)
		}
		var n4, n6, nt uint64
		for _, b := range append(r.Sizes.UDP.IPv4.Queries, r.Sizes.UDP.IPv4.Responses...) {
			n4 += b.Count
		}
		for _, b := range append(r.Sizes.UDP.IPv6.Queries, r.Sizes.UDP.IPv6.Responses...) {
			n6 += b.Count
		}
		for _, b := range r.Sizes.TCP.IPv4.Queries {
			nt += b.Count
			if b.High-b.Low != 15 || b.Low%16 != 0 {
				t.Errorf("bin %+v", b)
			}
		}
		if n4 != 7 || n6 != 1 || nt != 2 {
			t.Errorf("split %v: sizes udp v4 %d v6 %d tcp %d, want 7 1 2", split, n4, n6, nt)
		}
		if r.Sizes.QueryBytes.P50 == 0 || r.Sizes.QueryBytes.P50 > r.Sizes.QueryBytes.P99 {
			t.Errorf("split %v: query size quantiles %+v", split, r.Sizes.QueryBytes)
		}
	}
}

// TestDepthRetryTimeout: a TCP query after the timeout, or before the
// truncated response, is no retry.
func TestDepthRetryTimeout(t *testing.T) {
	const s = int64(1e9)
	qm := new(mdns.Msg)
	qm.SetQuestion("big.example.", mdns.TypeTXT)
	r := new(mdns.Msg)
	r.SetRcode(qm, 0)
	r.Truncated = true
	a := NewAnalyzer()
	st := NewState()
	var carry RetryCarry
	a.Observe(depthMsg(t, 0, qm, client, server, 50000, 53, visor.TransportTCP), st, visor.DirUnknown)
	a.Observe(depthMsg(t, 1*s, r, server, client, 53, 40000, visor.TransportUDP), st, visor.DirUnknown)
	st.SettleRetries(&carry, 2*s, a.Timeout)
	a.Observe(depthMsg(t, 7*s, qm, client, server, 50001, 53, visor.TransportTCP), st, visor.DirUnknown)
	st.SettleRetries(&carry, 8*s, a.Timeout)
	if got := st.Report(10).Truncation; got.TCPRetries != 0 || got.Responses != 1 {
		t.Fatalf("truncation %+v, want 1 response and no retry", got)
	}
	if len(carry.ev) != 0 {
		t.Fatalf("carry holds %d responses past the timeout", len(carry.ev))
	}
}

// TestDepthAllocs: observing into a warm state allocates nothing.
func TestDepthAllocs(t *testing.T) {
	qm := withOPT(new(mdns.Msg).SetQuestion("a.example.", mdns.TypeA), 1232, 0, true)
	q := depthMsg(t, 0, qm, client, server, 40000, 53, visor.TransportTCP)
	rm := withOPT(new(mdns.Msg).SetRcode(qm, mdns.RcodeServerFailure), 1232, 0, false, 22)
	rm.Truncated = true
	r := depthMsg(t, 1, rm, server, client, 53, 40000, visor.TransportUDP)
	a := NewAnalyzer()
	st := NewState()
	var carry RetryCarry
	run := func() {
		for i := 0; i < 64; i++ {
			a.Observe(q, st, visor.DirUnknown)
			a.Observe(r, st, visor.DirUnknown)
		}
	}
	run()
	st.SettleRetries(&carry, 2, a.Timeout)
	st.Reset()
	if n := testing.AllocsPerRun(100, func() {
		run()
		st.depth.tcEv, st.depth.tcpQ = st.depth.tcEv[:0], st.depth.tcpQ[:0]
	}); n != 0 {
		t.Fatalf("%v allocations a run", n)
	}
}
