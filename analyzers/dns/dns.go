package dns

import (
	"bytes"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"regexp"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/decode"
	"github.com/visor-dns/visor/sketch"
)

// Transaction defaults, in capture time.
const (
	DefaultTimeout = 5_000_000_000 // a query unanswered this long has timed out
	DefaultSlow    = 500_000_000   // a transaction this slow enters the slow list
	DefaultMaxOpen = 1 << 18       // open queries held per shard at most; the oldest go first
)

// Stats counts what the analyzer could not account for in a bucket.
type Stats struct {
	NotDNS             uint64 // payloads on a DNS port too short for a header
	ResponsesUnmatched uint64 // responses with no open query
	OpenEvicted        uint64 // open queries dropped by the MaxOpen bound
	OpenAtEnd          uint64 // queries still unanswered when the input ended
	DuplicateQueries   uint64 // a query repeated while the first was open
	FilteredBySuffix   uint64 // messages outside --qname-suffix
	FilteredByName     uint64 // messages left out by --qname-regex or --qname-exclude
}

// xactKey identifies a transaction by a 64-bit hash of client and server
// address and port, DNS ID, query type and name: 16 bytes a query, where
// the fields would take 80 (a collision, odds about 2^-64 per pair, would
// pair the wrong response).
type xactKey uint64

type openQuery struct {
	ts    int64
	seq   uint32 // the query's number: its FIFO entry has the same
	epoch uint16 // of the State the query was counted in
	dir   visor.Direction
}

// queued is a query's FIFO entry. Its seq tells it from the entries of
// earlier queries with the same key (and maybe the same time), answered
// since: only the entry whose seq the open query holds is live.
type queued struct {
	key xactKey
	ts  int64
	seq uint32
}

// Analyzer observes DNS messages into a State and keeps the transactions
// open across buckets.
type Analyzer struct {
	Timeout  int64
	Slow     int64
	MaxOpen  int
	Suffixes [][]byte // lowercase, without trailing dot; empty means all
	// Include and Exclude, when set, keep only the messages whose question
	// name (lowercase, without the trailing dot; "" without a question)
	// Include matches and Exclude does not, after Suffixes. Two RE2
	// patterns cost about 0.4 µs a message (BenchmarkNameFilter); unset,
	// one comparison.
	Include, Exclude *regexp.Regexp
	Stats            Stats
	// QHash is sketch.Hash of the question name of the message Observe
	// counted last (0 without a question), for analyzers that follow.
	QHash uint64
	// Hook, when set, hears of every transaction as it is matched (visor
	// export's records). Unset, it costs one comparison a message.
	Hook Hook
	// RSSAC, when set, counts RSSAC002's measurements too (rssac.go).
	RSSAC *RSSACOptions
	// Carry, when set, keeps the transactions at the run's edges for a
	// merge with the runs of the pieces around it (carry.go).
	Carry *Carry
	// PairOnly, when set, makes Observe parse, filter and pair messages
	// for Hook without counting them into the State: no counters, top
	// lists or sketches but the transactions' own and Malformed (visor
	// export writes the transactions and nothing else). One branch a message.
	PairOnly bool

	open     openTable
	fifo     []queued // queries in arrival order, for timeouts
	head     int
	seq      uint32    // queries put in the FIFO (wrapping)
	seed     [6]uint64 // keyOf's random key
	view     decode.DNS
	clients  sketch.AddrHashes
	suffixes [64]suffixMemo // qname2 and qname3 suffixes and their hashes
}

// NewAnalyzer returns an analyzer with the default timeouts and bounds.
func NewAnalyzer() *Analyzer {
	return &Analyzer{Timeout: DefaultTimeout, Slow: DefaultSlow, MaxOpen: DefaultMaxOpen,
		seed: newSeed()}
}

// Observe parses m and counts it into st. dir is the packet's direction.
// It returns the parsed view (valid until the next call), or nil when m
// was not counted.
func (a *Analyzer) Observe(m *visor.Message, st *State, dir visor.Direction) *decode.DNS {
	v := &a.view
	if !decode.ParseDNS(m.Data, v) {
		a.Stats.NotDNS++
		return nil
	}
	qname := v.QName()
	if len(a.Suffixes) > 0 && !a.matchSuffix(qname) {
		a.Stats.FilteredBySuffix++
		return nil
	}
	if (a.Include != nil || a.Exclude != nil) && !a.matchName(qname) {
		a.Stats.FilteredByName++
		return nil
	}
	if a.PairOnly {
		return a.pair(m, v, st, dir, qname)
	}
	st.Messages++
	switch m.Transport {
	case visor.TransportUDP:
		st.UDP++
	case visor.TransportTCP:
		st.TCP++
	case visor.TransportDoT:
		st.TCP++
		st.DoT++
	case visor.TransportDoH:
		st.TCP++
		st.DoH++
	case visor.TransportDoQ:
		st.UDP++
		st.DoQ++
	}
	st.countTransport(m, !v.Response()) // queries by transport, DNSCrypt (transport.go)
	if m.IPVersion == 6 {
		st.IPv6++
	} else {
		st.IPv4++
	}
	if v.Malformed {
		st.Malformed++
	}
	if v.EDNS {
		st.EDNS++
	}
	if v.DO {
		st.DO++
	}
	if v.ECS {
		st.ECS++
	}
	if v.TC() {
		st.TC++
	}
	qh := uint64(0) // a message without a question is keyed by an empty name
	a.QHash = 0
	if v.HasQuestion {
		qh = sketch.Hash(qname)
		a.QHash = qh
		st.topQName.AddHash(qname, qh, 1)
		// A suffix that is the whole name shares its hash.
		if s := v.QNameSuffix(2); s != nil {
			st.topQName2.AddHash(s, a.suffixHash(s, qname, qh), 1)
		}
		if s := v.QNameSuffix(3); s != nil {
			st.topQName3.AddHash(s, a.suffixHash(s, qname, qh), 1)
		}
	}
	st.depth.observeDepth(m, v, qh)
	if a.RSSAC != nil {
		st.observeRSSAC(a.RSSAC, m, v, dir)
	}
	if !v.Response() {
		st.Queries++
		if v.HasQuestion {
			if v.QType < uint16(len(st.qtypeLow)) {
				st.qtypeLow[v.QType]++
			} else {
				st.qtypes[v.QType]++
			}
		}
		ch, _ := a.clients.Hash(m.Src)
		st.topClients.AddAddr(m.Src, ch, 1)
		if v.ECS {
			st.observeECS(v)
		}
		if v.HasQuestion {
			st.qnames.InsertHash(qh)
		}
		a.query(m, v, st, dir, qh)
		return v
	}
	st.Responses++
	rc := v.Rcode()
	st.rcodes[rc]++
	if v.HasQuestion {
		switch rc {
		case 0:
			if v.ANCount == 0 {
				st.topNodata.AddHash(qname, qh, 1)
			}
		case 2:
			st.topServfail.AddHash(qname, qh, 1)
		case 3:
			st.topNX.AddHash(qname, qh, 1)
		case 5:
			st.topRefused.AddHash(qname, qh, 1)
		}
	}
	if rc == 0 && v.ANCount == 0 {
		st.Nodata++
	}
	// The name is counted distinct already when its query was, in st.
	if !a.response(m, v, st, dir, qh) && v.HasQuestion {
		st.qnames.InsertHash(qh)
	}
	return v
}

// pair is Observe with PairOnly: the message only opens or closes its
// transaction.
func (a *Analyzer) pair(m *visor.Message, v *decode.DNS, st *State, dir visor.Direction, qname []byte) *decode.DNS {
	if v.Malformed {
		st.Malformed++
	}
	qh := uint64(0)
	if v.HasQuestion {
		qh = sketch.Hash(qname)
	}
	a.QHash = qh
	if v.Response() {
		a.response(m, v, st, dir, qh)
	} else {
		a.query(m, v, st, dir, qh)
	}
	return v
}

// keyOf hashes a transaction's fields with the name's hash qh: a
// multiply-fold chain (as wyhash does) keyed by the analyzer's random seed,
// so crafted traffic cannot aim at collisions.
func (a *Analyzer) keyOf(client, server netip.Addr, cport, sport uint16, v *decode.DNS, qh uint64) xactKey {
	ch, cl := visor.AddrWords(client)
	sh, sl := visor.AddrWords(server)
	k := &a.seed
	h := mix(ch^k[0], cl^k[1])
	h = mix(h^sh^k[2], sl^k[3])
	f := uint64(cport) | uint64(sport)<<16 | uint64(v.ID)<<32 | uint64(v.QType)<<48
	return xactKey(mix(h^f^k[4], qh^k[5]))
}

func mix(x, y uint64) uint64 {
	hi, lo := bits.Mul64(x, y)
	return hi ^ lo
}

func newSeed() (k [6]uint64) {
	for i := range k {
		k[i] = rand.Uint64() | 1
	}
	return k
}

func (a *Analyzer) query(m *visor.Message, v *decode.DNS, st *State, dir visor.Direction, qh uint64) {
	k := a.keyOf(m.Src, m.Dst, m.SrcPort, m.DstPort, v, qh)
	if a.open.len() >= a.MaxOpen {
		if _, dup := a.open.get(k); dup {
			a.Stats.DuplicateQueries++
			if a.Hook != nil {
				a.Hook.Query(0, false, m, v, dir)
			}
			return
		}
		a.evictOldest()
	}
	// One probe both checks for a duplicate and inserts.
	if !a.open.add(k, openQuery{ts: m.TS, seq: a.seq + 1, dir: dir, epoch: st.epoch}) {
		a.Stats.DuplicateQueries++
		if a.Hook != nil {
			a.Hook.Query(0, false, m, v, dir)
		}
		return
	}
	a.seq++
	if a.Hook != nil {
		a.Hook.Query(a.seq, true, m, v, dir)
	}
	if a.Carry != nil {
		a.Carry.remember(a.seq, m, v, dir, qh)
	}
	a.fifo = append(a.fifo, queued{key: k, ts: m.TS, seq: a.seq})
	if len(a.fifo)-a.head > 2*a.MaxOpen {
		a.dropAnswered()
	}
}

// response pairs a response with its query. It reports whether the query
// was counted in st (so its name is in st's distinct names).
func (a *Analyzer) response(m *visor.Message, v *decode.DNS, st *State, dir visor.Direction, qh uint64) (sameState bool) {
	k := a.keyOf(m.Dst, m.Src, m.DstPort, m.SrcPort, v, qh)
	q, ok := a.open.take(k)
	switch {
	case ok:
		sameState = q.epoch == st.epoch
	case m.QueryTime != 0:
		// A dnstap response that carries its query's time is a whole transaction.
		q = openQuery{ts: m.QueryTime, dir: dir}
	default:
		a.Stats.ResponsesUnmatched++
		if a.Carry != nil {
			a.Carry.orphan(m, v, dir, qh, a.Timeout)
		}
		if a.Hook != nil {
			a.Hook.Response(0, false, m, v, dir)
		}
		return false
	}
	if a.Hook != nil {
		a.Hook.Response(q.seq, ok, m, v, q.dir)
	}
	if m.QueryTime != 0 {
		q.ts = m.QueryTime
	}
	st.xactTotal++
	d := &st.dirs[q.dir]
	d.count++
	lat := m.TS - q.ts
	if lat < 0 {
		lat = 0
	}
	d.latency.Add(float64(lat) / 1e3)
	if lat >= a.Slow && v.HasQuestion {
		st.topSlow.Add(v.QName(), 1)
	}
	return sameState
}

// Expire times out the queries open longer than the timeout at capture
// time now, counting them into st.
func (a *Analyzer) Expire(now int64, st *State) {
	for a.head < len(a.fifo) {
		e := a.fifo[a.head]
		if now-e.ts <= a.Timeout {
			break
		}
		a.head++
		a.timeout(e, st)
	}
	a.compact()
}

// timeout counts the queued query as timed out if it is still open.
func (a *Analyzer) timeout(e queued, st *State) {
	q, ok := a.open.get(e.key)
	if !ok || q.seq != e.seq {
		return
	}
	a.open.del(e.key)
	st.xactTimedOut++
	st.dirs[q.dir].timedOut++
	if a.Hook != nil {
		a.Hook.Unanswered(q.seq)
	}
}

func (a *Analyzer) evictOldest() {
	for a.head < len(a.fifo) {
		e := a.fifo[a.head]
		a.head++
		if q, ok := a.open.get(e.key); ok && q.seq == e.seq {
			a.open.del(e.key)
			a.Stats.OpenEvicted++
			if a.Hook != nil {
				a.Hook.Unanswered(q.seq)
			}
			return
		}
	}
}

// dropAnswered keeps in the FIFO only the queries still open, so its length
// stays within twice MaxOpen whatever the timestamps (answered queries
// otherwise wait in it until their timeout passes).
func (a *Analyzer) dropAnswered() {
	kept := a.fifo[:0]
	for _, e := range a.fifo[a.head:] {
		if q, ok := a.open.get(e.key); ok && q.seq == e.seq {
			kept = append(kept, e)
		}
	}
	clear(a.fifo[len(kept):])
	a.fifo, a.head = kept, 0
}

// compact reclaims the consumed head of the FIFO.
func (a *Analyzer) compact() {
	if a.head > 4096 && a.head*2 > len(a.fifo) {
		n := copy(a.fifo, a.fifo[a.head:])
		a.fifo = a.fifo[:n]
		a.head = 0
	}
}

// Close ends the input: queries still open count as timed out in st, and
// in Stats.OpenAtEnd.
func (a *Analyzer) Close(st *State) {
	for ; a.head < len(a.fifo); a.head++ {
		e := a.fifo[a.head]
		if q, ok := a.open.get(e.key); ok && q.seq == e.seq {
			if a.Carry != nil {
				if ed, ok := a.Carry.open(q.seq); ok {
					// Left for the merge to pair or time out.
					ed.Dir = q.dir
					a.Carry.Open = append(a.Carry.Open, ed)
					a.open.del(e.key)
					if a.Hook != nil {
						a.Hook.Unanswered(q.seq)
					}
					continue
				}
				a.Carry.Lost++
			}
			a.Stats.OpenAtEnd++
			a.timeout(e, st)
		}
	}
	a.fifo, a.head = a.fifo[:0], 0
}

func (a *Analyzer) matchName(name []byte) bool {
	return (a.Include == nil || a.Include.Match(name)) && (a.Exclude == nil || !a.Exclude.Match(name))
}

func (a *Analyzer) matchSuffix(name []byte) bool {
	for _, s := range a.Suffixes {
		if bytes.Equal(name, s) || (bytes.HasSuffix(name, s) && len(name) > len(s) && name[len(name)-len(s)-1] == '.') {
			return true
		}
	}
	return false
}

// suffixHash is sketch.Hash(s) for a suffix s of name, whose hash is qh.
// A zone's suffix comes back message after message: its hash is taken
// from a small memo of suffixes when it is there.
func (a *Analyzer) suffixHash(s, name []byte, qh uint64) uint64 {
	if len(s) == len(name) {
		return qh
	}
	if len(s) > suffixMemoLen {
		return sketch.Hash(s)
	}
	c := &a.suffixes[(len(s)*7+int(s[len(s)-1])+int(s[len(s)/2])*3)&(len(a.suffixes)-1)]
	if int(c.n) == len(s) && string(c.b[:c.n]) == string(s) {
		return c.h
	}
	c.h = sketch.Hash(s)
	c.n = uint8(copy(c.b[:], s))
	return c.h
}

// suffixMemoLen is the longest suffix the memo keeps.
const suffixMemoLen = 62

// suffixMemo is a remembered suffix and its hash.
type suffixMemo struct {
	h uint64
	n uint8
	b [suffixMemoLen]byte
}
