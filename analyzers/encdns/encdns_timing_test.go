package encdns

import (
	"net/netip"
	"testing"

	"github.com/visor-dns/visor"
)

// BenchmarkObservePlainDNS is what every frame of a DNS capture costs the
// analyzer: a port check.
func BenchmarkObservePlainDNS(b *testing.B) {
	a, st := NewAnalyzer(NewNames([]string{"default"})), NewState()
	f := &visor.Frame{IPVersion: 4, Proto: visor.TransportUDP, Src: netip.MustParseAddr("198.51.100.10"),
		Dst: netip.MustParseAddr("198.51.100.53"), SrcPort: 40000, DstPort: 53, WireLen: 80, Payload: make([]byte, 38)}
	b.ReportAllocs()
	for b.Loop() {
		a.Observe(f, st)
	}
}

// BenchmarkObserveDoT is a DoT session's client record segment.
func BenchmarkObserveDoT(b *testing.B) {
	a, st := NewAnalyzer(nil), NewState()
	s := &flowSim{cli: netip.MustParseAddr("198.51.100.10"), srv: netip.MustParseAddr("198.51.100.53"), cport: 40000, srvPort: 853}
	a.Observe(s.frame(true, 0x18, realHello(b, "")), st)
	f := s.frame(true, 0x18, rec(23, 147))
	b.ReportAllocs()
	for b.Loop() {
		a.Observe(f, st)
		f.TCPSeq += uint32(len(f.Payload))
	}
}
