package analyzers

import (
	"encoding/binary"

	"github.com/visor-dns/visor"
)

// anonymize replaces a decoded frame's addresses by their pseudonyms
// (Options.Anonymize), and the addresses its DNS carries (A and AAAA
// data, Client Subnet options): in a UDP payload on a DNS port, and in
// the whole length-prefixed messages a TCP segment holds from its start
// (a message split across segments keeps what it carries). The reader
// calls it right after decoding and --bpf, so that nothing downstream,
// counted, reported, exported or carved, sees a real address. Payloads
// are rewritten in place (the source's buffer or the defragmenter's).
func (a *Analysis) anonymize(f *visor.Frame) {
	f.Src, f.Dst = a.anon.Addr(f.Src), a.anon.Addr(f.Dst)
	a.anonymizeDNS(f)
}

// anonymizeDNS rewrites the addresses of the DNS f's payload carries (a
// datagram reassembled from fragments whose addresses are pseudonyms
// already comes here alone).
func (a *Analysis) anonymizeDNS(f *visor.Frame) {
	if f.Fragment || len(f.Payload) == 0 || !a.dnsPort(f.SrcPort) && !a.dnsPort(f.DstPort) {
		return
	}
	switch f.Proto {
	case visor.TransportUDP:
		a.anon.DNS(f.Payload)
	case visor.TransportTCP:
		for b := f.Payload; len(b) >= 2; {
			n := int(binary.BigEndian.Uint16(b))
			if 2+n > len(b) {
				break
			}
			a.anon.DNS(b[2 : 2+n])
			b = b[2+n:]
		}
	}
}

// anonymizeTap is anonymize for a dnstap message: its payload is one
// DNS message whatever the transport.
func (a *Analysis) anonymizeTap(f *visor.Frame) {
	f.Src, f.Dst = a.anon.Addr(f.Src), a.anon.Addr(f.Dst)
	a.anon.DNS(f.Payload)
}

func (a *Analysis) dnsPort(p uint16) bool { return a.ports[p/64]&(1<<(p%64)) != 0 }
