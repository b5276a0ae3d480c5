package export

import (
	"net/netip"

	"github.com/visor-dns/visor"
)

// Record is one transaction: its query half, its response half, or both.
// The columns (Columns) are computed from it when it is written.
type Record struct {
	HasQuery, HasResponse bool
	// QueryTime is set with the query, or without it by a dnstap response
	// that carries its query's time (0 when unknown). Unix ns.
	QueryTime, ResponseTime int64
	Client, Server          netip.Addr
	ClientPort, ServerPort  uint16
	Transport               uint8 // visor.Transport*
	IPVersion               uint8
	ID                      uint16
	HasQuestion             bool
	QName                   string // lowercase presentation form, no trailing dot
	Zone                    string // registrable zone of QName
	QType, QClass           uint16
	QFlags, RFlags          uint16 // header flags of the query and of the response
	ANCount, NSCount        uint16 // the response's
	ARCount                 uint16
	QuerySize, ResponseSize int // DNS message bytes

	// EDNS of the query.
	EDNS    bool
	DO      bool
	UDPSize uint16
	ECS     netip.Prefix // the Client Subnet's source prefix; invalid without one

	Dir                         visor.Direction
	Input                       int    // index of the input
	QueryPacket, ResponsePacket uint64 // 1-based packet numbers within the input
}

// Latency is the response's time after the query's, when both are known.
func (r *Record) Latency() (int64, bool) {
	if !r.HasResponse || r.QueryTime == 0 {
		return 0, false
	}
	return r.ResponseTime - r.QueryTime, true
}

// respFlag is a header flag of the response (AA, TC, RA, AD).
func (r *Record) respFlag(bit uint16) (int64, bool) {
	if !r.HasResponse {
		return 0, false
	}
	return b2i(r.RFlags&bit != 0), true
}

// queryFlag is a header flag of the query (RD, CD), or of the response's
// copy when the query was not seen.
func (r *Record) queryFlag(bit uint16) (int64, bool) {
	switch {
	case r.HasQuery:
		return b2i(r.QFlags&bit != 0), true
	case r.HasResponse:
		return b2i(r.RFlags&bit != 0), true
	}
	return 0, false
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
