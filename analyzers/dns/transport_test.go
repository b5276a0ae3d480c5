package dns

import (
	"testing"

	"github.com/visor-dns/visor"
)

// TestTransports: queries are counted by the transport dnstap logged, and
// DNSCrypt messages also as UDP or TCP messages; states merge.
func TestTransports(t *testing.T) {
	a, st := NewAnalyzer(), NewState()
	id := uint16(0)
	send := func(tr uint8, n int) {
		for i := 0; i < n; i++ {
			id++
			q := msg(t, int64(id)*1e6, id, "www.example.com", 1, false, 0, 0)
			r := msg(t, int64(id)*1e6+5e5, id, "www.example.com", 1, true, 0, 1)
			q.Transport, r.Transport = tr, tr
			a.Observe(q, st, visor.DirIn)
			a.Observe(r, st, visor.DirIn)
		}
	}
	send(visor.TransportUDP, 5)
	send(visor.TransportTCP, 4)
	send(visor.TransportDoT, 3)
	send(visor.TransportDoH, 2)
	send(visor.TransportDoQ, 1)
	send(visor.TransportDNSCryptUDP, 2)
	send(visor.TransportDNSCryptTCP, 1)
	other := NewState()
	other.Merge(st)
	r := other.Report(10)
	want := map[string]uint64{"udp": 5, "tcp": 4, "dot": 3, "doh": 2, "doq": 1, "dnscrypt": 3}
	if len(r.Transport) != len(want) {
		t.Fatalf("transport %v, want %v", r.Transport, want)
	}
	for k, n := range want {
		if r.Transport[k] != n {
			t.Errorf("transport[%s] = %d, want %d", k, r.Transport[k], n)
		}
	}
	if r.DNSCrypt != 6 || r.UDP != 2*(5+1+2) || r.TCP != 2*(4+3+2+1) || r.DoT != 6 {
		t.Errorf("dnscrypt %d udp %d tcp %d dot %d", r.DNSCrypt, r.UDP, r.TCP, r.DoT)
	}
	b, err := other.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	back := NewState()
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if rb := back.Report(10); rb.DNSCrypt != 6 || rb.Transport["dnscrypt"] != 3 || rb.Transport["udp"] != 5 {
		t.Errorf("summary round trip: %d %v", rb.DNSCrypt, rb.Transport)
	}
	other.Reset()
	if r := other.Report(10); len(r.Transport) != 0 || r.DNSCrypt != 0 {
		t.Errorf("after Reset: %v %d", r.Transport, r.DNSCrypt)
	}
}
