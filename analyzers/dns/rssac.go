package dns

import (
	"net/netip"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/decode"
	"github.com/visor-dns/visor/rssac002"
	"github.com/visor-dns/visor/sketch"
)

// RSSACOptions turn on an Analyzer's RSSAC002 counters (--format
// rssac002); nil leaves them off at the cost of one comparison a message.
type RSSACOptions struct {
	// ExactSources counts distinct sources in sets (memory grows with
	// them) instead of HyperLogLog sketches.
	ExactSources bool
}

// rssacState is a State's RSSAC002 counters (docs/rssac002.md): queries
// received and responses sent by transport and IP version, their sizes in
// 16-byte bins, responses by 12-bit rcode, and distinct query sources.
type rssacState struct {
	n           uint64 // messages counted
	first, last int64
	queries     [2][2]uint64
	responses   [2][2]uint64
	reqSizes    [2][rssac002.Bins]uint64
	respSizes   [2][rssac002.Bins]uint64
	rcodes      [4096]uint64
	exact       bool
	sets        [3]addrSet             // IPv4, IPv6, IPv6 /64, with exact
	sketches    [3]*sketch.Cardinality // the same, estimated
}

func newRSSACState(exact bool) *rssacState {
	r := &rssacState{exact: exact}
	if !exact {
		for i := range r.sketches {
			r.sketches[i] = sketch.NewCardinality()
		}
	}
	return r
}

// observeRSSAC counts v into s's RSSAC002 counters. A query counts when it
// was received by the service (dir is not out), a response when the
// service sent it (dir is not in); without --host-spec every message
// counts.
func (s *State) observeRSSAC(o *RSSACOptions, m *visor.Message, v *decode.DNS, dir visor.Direction) {
	resp := v.Response()
	if (!resp && dir == visor.DirOut) || (resp && dir == visor.DirIn) {
		return
	}
	r := s.rssac
	if r == nil {
		r = newRSSACState(o.ExactSources)
		s.rssac = r
	}
	if r.n == 0 || m.TS < r.first {
		r.first = m.TS
	}
	if m.TS > r.last {
		r.last = m.TS
	}
	r.n++
	tr := rssac002.UDP
	switch m.Transport {
	case visor.TransportTCP, visor.TransportDoT, visor.TransportDoH:
		tr = rssac002.TCP
	}
	ip := rssac002.IPv4
	if m.IPVersion == 6 {
		ip = rssac002.IPv6
	}
	bin := min(m.WireLen>>4, rssac002.Bins-1)
	if resp {
		r.responses[tr][ip]++
		r.respSizes[tr][bin]++
		r.rcodes[v.FullRcode()]++
		return
	}
	r.queries[tr][ip]++
	r.reqSizes[tr][bin]++
	r.addSource(m.Src)
}

// addSource counts a query's source address, and an IPv6 one's /64.
func (r *rssacState) addSource(a netip.Addr) {
	hi, lo := visor.AddrWords(a)
	if a.Is4() {
		r.addKey(0, hi, lo)
		return
	}
	r.addKey(1, hi, lo)
	r.addKey(2, hi, 0)
}

func (r *rssacState) addKey(k int, hi, lo uint64) {
	if r.exact {
		r.sets[k].add([2]uint64{hi, lo})
		return
	}
	r.sketches[k].InsertHash(mix(hi^0x9e3779b97f4a7c15, lo^0xc2b2ae3d27d4eb4f))
}

func (r *rssacState) merge(o *rssacState) {
	if o.n == 0 {
		return
	}
	if r.n == 0 || o.first < r.first {
		r.first = o.first
	}
	r.last = max(r.last, o.last)
	r.n += o.n
	for t := range r.queries {
		for i := range r.queries[t] {
			r.queries[t][i] += o.queries[t][i]
			r.responses[t][i] += o.responses[t][i]
		}
		for j, n := range o.reqSizes[t] {
			r.reqSizes[t][j] += n
		}
		for j, n := range o.respSizes[t] {
			r.respSizes[t][j] += n
		}
	}
	for i, n := range o.rcodes {
		r.rcodes[i] += n
	}
	for k := range r.sets {
		if r.exact {
			o.sets[k].each(r.sets[k].add)
		} else {
			r.sketches[k].Merge(o.sketches[k])
		}
	}
}

func (r *rssacState) reset() {
	sets, sk, exact := r.sets, r.sketches, r.exact
	*r = rssacState{sets: sets, sketches: sk, exact: exact}
	for k := range r.sets {
		r.sets[k].reset()
		if r.sketches[k] != nil {
			r.sketches[k].Reset()
		}
	}
}

// sourceError is the relative standard error of the distinct-source
// estimates: HyperLogLog of precision 14 (sketch.Cardinality), 1.04/sqrt(2^14).
const sourceError = 0.0081

// RSSACDay gathers the RSSAC002 counters of one UTC day's buckets.
type RSSACDay struct {
	start int64
	r     *rssacState
}

// NewRSSACDay returns an empty day starting at start (Unix ns, 00:00 UTC).
func NewRSSACDay(start int64, o *RSSACOptions) *RSSACDay {
	return &RSSACDay{start: start, r: newRSSACState(o.ExactSources)}
}

// MoveRSSAC adds s's RSSAC002 counters into d and empties them in s (so a
// summary that merges s does not hold them twice).
func (s *State) MoveRSSAC(d *RSSACDay) {
	if s.rssac == nil || s.rssac.n == 0 {
		return
	}
	d.r.merge(s.rssac)
	s.rssac.reset()
}

// Day is d's measurements.
func (d *RSSACDay) Day() rssac002.Day {
	r := d.r
	out := rssac002.Day{Start: d.start, First: r.first, Last: r.last, Queries: r.queries, Responses: r.responses,
		RequestSizes: r.reqSizes, ResponseSizes: r.respSizes, Rcodes: r.rcodes, Exact: r.exact}
	var n [3]uint64
	for k := range n {
		if r.exact {
			n[k] = uint64(r.sets[k].n)
		} else {
			n[k] = r.sketches[k].Estimate()
		}
	}
	out.Sources4, out.Sources6, out.Sources6Agg = n[0], n[1], n[2]
	if !r.exact {
		out.SourceError = sourceError
	}
	return out
}

// addrSet is a set of 128-bit keys: open addressing with linear probing,
// growing by doubling. The all-zero key is kept aside.
type addrSet struct {
	cells [][2]uint64
	mask  uint64
	n     int
	zero  bool
}

func (s *addrSet) add(k [2]uint64) {
	if k == [2]uint64{} {
		if !s.zero {
			s.zero = true
			s.n++
		}
		return
	}
	if 2*(s.n+1) > len(s.cells) {
		s.grow()
	}
	if s.insert(k) {
		s.n++
	}
}

// insert puts k (not zero) in its cell; it reports whether k was new.
func (s *addrSet) insert(k [2]uint64) bool {
	for i := mix(k[0]^0x94d049bb133111eb, k[1]|1) & s.mask; ; i = (i + 1) & s.mask {
		switch s.cells[i] {
		case [2]uint64{}:
			s.cells[i] = k
			return true
		case k:
			return false
		}
	}
}

func (s *addrSet) grow() {
	old := s.cells
	size := max(64, 2*len(old))
	s.cells, s.mask = make([][2]uint64, size), uint64(size-1)
	for _, c := range old {
		if c != [2]uint64{} {
			s.insert(c)
		}
	}
}

func (s *addrSet) each(fn func([2]uint64)) {
	if s.zero {
		fn([2]uint64{})
	}
	for _, c := range s.cells {
		if c != [2]uint64{} {
			fn(c)
		}
	}
}

func (s *addrSet) reset() {
	clear(s.cells)
	s.n, s.zero = 0, false
}
