package export

import (
	"net/netip"

	"github.com/visor-dns/visor"
)

// span is a string of a batch: bytes [off, off+n) of its Text.
type span struct{ off, n uint32 }

// Record is one transaction: its query half, its response half, or both.
// It holds no pointer but its addresses' (a batch of them costs the
// collector little); its strings are spans of its Batch's Text. The
// columns (Columns) are computed from it when it is written.
type Record struct {
	HasQuery, HasResponse bool
	HasQuestion           bool
	EDNS, DO              bool  // EDNS of the query
	Transport             uint8 // visor.Transport*
	IPVersion             uint8
	Dir                   visor.Direction
	EDNSVersion           uint8
	ClientPort            uint16
	ServerPort            uint16
	ID                    uint16
	QType, QClass         uint16
	QFlags, RFlags        uint16 // header flags of the query and of the response
	ANCount, NSCount      uint16 // the response's
	ARCount               uint16
	UDPSize               uint16
	QuerySize             int32 // DNS message bytes
	ResponseSize          int32
	Input                 int32 // index of the input (the query's when both are known)
	// QueryTime is set with the query, or without it by a dnstap response
	// that carries its query's time (0 when unknown). Unix ns.
	QueryTime, ResponseTime     int64
	QueryPacket, ResponsePacket uint64 // 1-based packet numbers within the input
	Client, Server              netip.Addr
	ECS                         netip.Prefix // the Client Subnet's source prefix; invalid without one
	QName                       span         // lowercase presentation form, no trailing dot
	Zone                        span         // registrable zone of QName
	RawName                     span         // QName in the case it had on the wire
	// FindingBits has bit i set when the row belongs to the run's finding
	// i (Finding; a finding that takes its query or its response).
	FindingBits uint64
}

// Batch is records on their way to a Writer, their strings in Text.
type Batch struct {
	Rows []Record
	Text []byte
	// FindingIDs name the findings of the rows' FindingBits (nil when the
	// run was not given findings: the column is then null).
	FindingIDs []string
}

// str is a span's bytes.
func (x *Batch) str(s span) []byte { return x.Text[s.off : s.off+s.n : s.off+s.n] }

func (x *Batch) reset() {
	x.Rows = x.Rows[:0]
	x.Text = x.Text[:0]
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
