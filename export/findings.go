package export

import (
	"strings"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/decode"
)

// Finding is a finding of the same inputs' analysis, for the findings
// column: a row belongs to it when its query or its response was seen in
// [From, To] and Match takes that message (the finding's carving
// selector: its zone, its source or target address or prefix).
type Finding struct {
	ID       string // as its carved file is named: 01-random_subdomain
	From, To int64
	Match    func(f *visor.Frame, isDNS bool, m *decode.DNS) bool
}

// maxFindings bounds the findings a row can name (a bit each).
const maxFindings = 64

// findingBits are the findings whose selection takes the message m.
func (s *sink) findingBits(m *visor.Message, v *decode.DNS) uint64 {
	if len(s.findings) == 0 {
		return 0
	}
	f := &s.frame
	*f = visor.Frame{TS: m.TS, Src: m.Src, Dst: m.Dst, SrcPort: m.SrcPort, DstPort: m.DstPort,
		IPVersion: m.IPVersion, Proto: visor.TransportUDP, Payload: m.Data}
	if m.Transport != visor.TransportUDP && m.Transport != visor.TransportDoQ {
		f.Proto = visor.TransportTCP
	}
	var bits uint64
	for i, fd := range s.findings {
		if m.TS >= fd.From && m.TS <= fd.To && fd.Match(f, true, v) {
			bits |= 1 << i
		}
	}
	return bits
}

// appendFindings appends the ids of the findings in bits, comma-separated.
func appendFindings(b []byte, bits uint64, ids []string) []byte {
	first := true
	for i := 0; bits != 0 && i < len(ids); i++ {
		if bits&(1<<i) == 0 {
			continue
		}
		bits &^= 1 << i
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, ids[i]...)
	}
	return b
}

// FindingIDs lists the ids of findings, for documentation and tests.
func FindingIDs(fs []Finding) string {
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.ID
	}
	return strings.Join(ids, ",")
}
