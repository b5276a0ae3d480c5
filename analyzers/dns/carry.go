package dns

import (
	"net/netip"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/decode"
)

// Carry, set on an Analyzer, keeps what joins a run to the runs of the
// pieces before and after it (files cut from one capture, analysed apart
// and merged from their summaries): the queries still open when the input
// ends, which Close then leaves uncounted, and the responses near the
// start of the run that found no query. A merge pairs them as one run over
// the whole capture would have, and counts the rest as timed out
// (summary.Report). Unset, an Analyzer pays one comparison a query.
type Carry struct {
	// Open and Orphans are filled by the analyzer: Open by Close.
	Open    []Edge
	Orphans []Edge
	// Lost counts open queries whose fields had left the ring (more than
	// carryRing queries came after them): they are counted timed out at
	// the end, as without Carry.
	Lost uint64

	ring  []carryRec
	first int64 // the first message's time: responses within the timeout of it are kept
	begun bool
}

// MaxOrphans bounds the responses a Carry keeps; more count in Stats as
// unmatched only.
const MaxOrphans = 1 << 16

// carryRing is how many of the last queries' fields a Carry remembers.
const carryRing = 1 << 16

// Edge is a transaction's key fields and a time: an open query (TS the
// query's, Dir its direction) or an orphan response (TS the response's,
// QName its question's name).
type Edge struct {
	Client, Server         netip.Addr
	ClientPort, ServerPort uint16
	ID, QType              uint16
	QHash                  uint64
	TS                     int64
	Dir                    visor.Direction
	QName                  string
	HasQuestion            bool
}

// Same reports whether e and o are the same transaction.
func (e *Edge) Same(o *Edge) bool {
	return e.Client == o.Client && e.Server == o.Server && e.ClientPort == o.ClientPort &&
		e.ServerPort == o.ServerPort && e.ID == o.ID && e.QType == o.QType && e.QHash == o.QHash
}

type carryRec struct {
	seq uint32
	ok  bool
	e   Edge
}

// remember keeps a new open query's fields under its sequence number.
func (c *Carry) remember(seq uint32, m *visor.Message, v *decode.DNS, dir visor.Direction, qh uint64) {
	c.start(m.TS)
	if c.ring == nil {
		c.ring = make([]carryRec, carryRing)
	}
	c.ring[seq%carryRing] = carryRec{seq: seq, ok: true, e: Edge{Client: m.Src, Server: m.Dst, ClientPort: m.SrcPort,
		ServerPort: m.DstPort, ID: v.ID, QType: v.QType, QHash: qh, TS: m.TS, Dir: dir}}
}

// orphan keeps a response that found no query, if it came within timeout
// of the run's start.
func (c *Carry) orphan(m *visor.Message, v *decode.DNS, dir visor.Direction, qh uint64, timeout int64) {
	c.start(m.TS)
	if m.TS-c.first > timeout || len(c.Orphans) >= MaxOrphans {
		return
	}
	e := Edge{Client: m.Dst, Server: m.Src, ClientPort: m.DstPort, ServerPort: m.SrcPort,
		ID: v.ID, QType: v.QType, QHash: qh, TS: m.TS, Dir: dir, HasQuestion: v.HasQuestion}
	if v.HasQuestion {
		e.QName = string(v.QName())
	}
	c.Orphans = append(c.Orphans, e)
}

// start notes the first message's time. The shard's first message comes
// no earlier than the run's first packet, so the window it opens holds
// every response a query before the run could answer.
func (c *Carry) start(ts int64) {
	if !c.begun {
		c.first, c.begun = ts, true
	}
}

// open returns the fields of open query seq, if the ring still has them.
func (c *Carry) open(seq uint32) (Edge, bool) {
	if c.ring == nil {
		return Edge{}, false
	}
	r := &c.ring[seq%carryRing]
	return r.e, r.ok && r.seq == seq
}

// AddTransaction counts into s a transaction a merge joined across two
// runs: query q (open at the end of one) answered by orphan r (near the
// start of the other), as Analyzer.response would have.
func (s *State) AddTransaction(q, r *Edge, slow int64) {
	s.xactTotal++
	d := &s.dirs[q.Dir]
	d.count++
	lat := max(r.TS-q.TS, 0)
	d.latency.Add(float64(lat) / 1e3)
	if lat >= slow && r.HasQuestion {
		s.topSlow.AddString(r.QName, 1)
	}
}

// AddTimeout counts into s a query a merge found unanswered.
func (s *State) AddTimeout(dir visor.Direction) {
	s.xactTimedOut++
	s.dirs[dir].timedOut++
}
