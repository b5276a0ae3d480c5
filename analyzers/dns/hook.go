package dns

import (
	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/decode"
)

// Hook hears of the transactions an Analyzer matches, in capture order:
// every counted query and response once, and every open query's end. The
// message and view are valid only during the call. A query is named by a
// sequence number the Analyzer gives it; numbers wrap after 2^32 queries,
// long after the query that had one was closed (open queries are bounded).
type Hook interface {
	// Query is a counted query. open says it waits for its response under
	// seq; a query repeated while the first is open is not (seq is 0): it
	// stands alone.
	Query(seq uint32, open bool, m *visor.Message, v *decode.DNS, dir visor.Direction)
	// Response is a counted response. matched says it answers the open
	// query seq, which is closed by it; otherwise it stands alone (a dnstap
	// response may still carry its query's time in m.QueryTime). dir is
	// the transaction's, its query's when matched.
	Response(seq uint32, matched bool, m *visor.Message, v *decode.DNS, dir visor.Direction)
	// Unanswered closes the open query seq without a response: it timed
	// out, was evicted by the open-query bound, or was open at the end.
	Unanswered(seq uint32)
}
