package analyzers

import (
	"encoding/binary"
	"fmt"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/analyzers/encdns"
)

// newEncAnalyzer makes a shard's encrypted-DNS analyzer, with its share of
// the sessions it may follow.
func (a *Analysis) newEncAnalyzer() *encdns.Analyzer {
	list := a.opts.DoHSNI
	if list == nil {
		list = []string{"default"}
	}
	e := encdns.NewAnalyzer(encdns.NewNames(list))
	e.MaxFlows = max(encdns.DefaultMaxFlows/max(a.opts.Shards, 1), 1)
	return e
}

// maxOtherPorts bounds the ports otherPorts names; past it, packets are
// only counted.
const maxOtherPorts = 64

// otherPorts counts UDP packets that look like DNS on ports that are not
// DNS ports (the reader's, on decoded frames): such DNS is not analysed,
// and the user is told once per port.
type otherPorts struct {
	packets uint64
	ports   map[uint16]uint64
}

// lookDNS checks a decoded UDP frame on no DNS port. It runs on the reader.
func (a *Analysis) lookDNS(f *visor.Frame) {
	if a.isDNSPort(f.SrcPort) || a.isDNSPort(f.DstPort) || !looksDNS(f.Payload) {
		return
	}
	port := f.DstPort
	if f.Payload[2]&0x80 != 0 { // a response: the server's port is the source
		port = f.SrcPort
	}
	o := &a.other
	o.packets++
	if o.ports == nil {
		o.ports = map[uint16]uint64{}
	}
	if n, ok := o.ports[port]; ok || len(o.ports) < maxOtherPorts {
		o.ports[port] = n + 1
		if n == 0 && a.opts.Warn != nil {
			a.opts.Warn(fmt.Sprintf("visor: UDP port %d carries what looks like DNS, but it is not a DNS port: its packets are not analysed as DNS (counted in integrity.%s)", port, integrityOtherPorts))
		}
	}
}

// integrityOtherPorts is the integrity reason of DNS-like UDP packets on
// ports that are not DNS ports.
const integrityOtherPorts = "udp_dns_like_other_port"

func (a *Analysis) isDNSPort(p uint16) bool { return a.ports[p/64]&(1<<(p%64)) != 0 }

// looksDNS is a cheap test of a UDP payload for a DNS message with one
// question: a sane header (known opcode, Z clear, few records), one name of
// valid labels within 255 octets, no compression, a query class of IN,
// CHAOS, HESIOD, NONE or ANY (mDNS's unicast bit aside). Random bytes pass
// it about once in 2^30.
func looksDNS(b []byte) bool {
	if len(b) < 17 || b[3]&0x40 != 0 {
		return false
	}
	switch b[2] >> 3 & 0xf { // opcode
	case 0, 1, 2, 4, 5:
	default:
		return false
	}
	be := binary.BigEndian
	if be.Uint16(b[4:]) != 1 || be.Uint16(b[6:]) > 64 || be.Uint16(b[8:]) > 64 || be.Uint16(b[10:]) > 64 {
		return false
	}
	i := 12
	for {
		l := int(b[i])
		if l == 0 {
			i++
			break
		}
		if l > 63 {
			return false
		}
		i += l + 1
		if i >= len(b) || i-12 > 255 {
			return false
		}
	}
	if i+4 > len(b) || be.Uint16(b[i:]) == 0 {
		return false
	}
	switch be.Uint16(b[i+2:]) &^ 0x8000 {
	case 1, 3, 4, 254, 255:
		return true
	}
	return false
}
