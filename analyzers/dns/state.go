// Package dns is the DNS analyzer: message counters, rcodes and qtypes,
// distinct and top names, and query/response transactions with latency,
// all on capture time.
package dns

import (
	"strconv"
	"sync/atomic"

	"github.com/visor-dns/visor"

	mdns "github.com/miekg/dns"

	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/sketch"
)

// TopCapacity is the frequent-items capacity of each DNS top list.
const TopCapacity = 1024

// xactDir is one direction's transaction state.
type xactDir struct {
	count, timedOut uint64
	latency         *sketch.Quantiles // microseconds
}

// State is one bucket's (or the summary's) DNS state. It merges.
type State struct {
	Messages, Queries, Responses uint64
	UDP, TCP, IPv4, IPv6         uint64
	Malformed, Nodata            uint64
	EDNS, DO, ECS, TC            uint64
	DoT, DoH, DoQ                uint64 // encrypted transports, from dnstap
	rcodes                       [16]uint64
	qtypeLow                     [256]uint64       // query types below 256, counted without a map
	qtypes                       map[uint16]uint64 // the others
	qnames                       *sketch.Cardinality

	topQName, topQName2, topQName3 *sketch.TopK
	topNX, topServfail, topRefused *sketch.TopK
	topNodata, topClients, topSlow *sketch.TopK

	xactTotal, xactTimedOut uint64
	dirs                    [3]xactDir
	ecs                     ecsTops
	depth                   depth       // opcodes, sizes, EDNS detail, truncation (depth.go)
	rssac                   *rssacState // RSSAC002 counters, only with Analyzer.RSSAC (rssac.go)
	// epoch tells this use of the state (from NewState or a Reset) from
	// the others: a response whose query was counted under the same epoch
	// adds nothing to qnames. It takes 16 bits of a count that wraps after
	// 65536 uses of states; a false match needs a query left open that long
	// (the transaction timeout closes queries within a few buckets) and
	// would leave out at most that response's name from one bucket's count.
	epoch uint16

	DNSCrypt  uint64     // DNSCrypt messages, from dnstap
	transport transports // queries by transport (transport.go)
}

var epochs atomic.Uint32

func nextEpoch() uint16 { return uint16(epochs.Add(1)) }

// NewState returns an empty state.
func NewState() *State {
	s := &State{qtypes: map[uint16]uint64{}, qnames: sketch.NewDenseCardinality(), epoch: nextEpoch()}
	for _, t := range s.tops() {
		*t = sketch.NewTopK(TopCapacity)
	}
	for i := range s.dirs {
		s.dirs[i].latency = sketch.NewQuantiles()
	}
	return s
}

func (s *State) tops() []**sketch.TopK {
	return []**sketch.TopK{&s.topQName, &s.topQName2, &s.topQName3, &s.topNX, &s.topServfail,
		&s.topRefused, &s.topNodata, &s.topClients, &s.topSlow}
}

// Merge adds o into s.
func (s *State) Merge(o *State) {
	s.Messages += o.Messages
	s.Queries += o.Queries
	s.Responses += o.Responses
	s.UDP += o.UDP
	s.TCP += o.TCP
	s.IPv4 += o.IPv4
	s.IPv6 += o.IPv6
	s.Malformed += o.Malformed
	s.Nodata += o.Nodata
	s.EDNS += o.EDNS
	s.DO += o.DO
	s.ECS += o.ECS
	s.TC += o.TC
	s.DoT += o.DoT
	s.DoH += o.DoH
	s.DoQ += o.DoQ
	s.DNSCrypt += o.DNSCrypt
	s.transport.merge(&o.transport)
	for i, n := range o.rcodes {
		s.rcodes[i] += n
	}
	for t, n := range o.qtypeLow {
		s.qtypeLow[t] += n
	}
	for t, n := range o.qtypes {
		s.qtypes[t] += n
	}
	s.qnames.Merge(o.qnames)
	st, ot := s.tops(), o.tops()
	for i := range st {
		(*st[i]).Merge(*ot[i])
	}
	s.xactTotal += o.xactTotal
	s.xactTimedOut += o.xactTimedOut
	for i := range s.dirs {
		s.dirs[i].count += o.dirs[i].count
		s.dirs[i].timedOut += o.dirs[i].timedOut
		s.dirs[i].latency.Merge(o.dirs[i].latency)
	}
	s.ecs.merge(&o.ecs)
	s.depth.merge(&o.depth)
	if o.rssac != nil && o.rssac.n > 0 {
		if s.rssac == nil {
			s.rssac = newRSSACState(o.rssac.exact)
		}
		s.rssac.merge(o.rssac)
	}
}

// Reset empties s for reuse, keeping its sketches' memory.
func (s *State) Reset() {
	keep := *s
	*s = State{qtypes: keep.qtypes, qnames: keep.qnames,
		topQName: keep.topQName, topQName2: keep.topQName2, topQName3: keep.topQName3,
		topNX: keep.topNX, topServfail: keep.topServfail, topRefused: keep.topRefused,
		topNodata: keep.topNodata, topClients: keep.topClients, topSlow: keep.topSlow, ecs: keep.ecs,
		depth: depth{tcEv: keep.depth.tcEv, tcpQ: keep.depth.tcpQ}, rssac: keep.rssac, epoch: nextEpoch()}
	s.depth.reset()
	if s.rssac != nil {
		s.rssac.reset()
	}
	s.ecs.reset()
	clear(s.qtypes)
	s.qnames.Reset()
	for _, t := range s.tops() {
		(*t).Reset()
	}
	for i := range s.dirs {
		s.dirs[i] = xactDir{latency: keep.dirs[i].latency}
		s.dirs[i].latency.Reset()
	}
}

// RcodeName names a response code as the contract's rcodes keys do.
func RcodeName(rc int) string {
	if n, ok := mdns.RcodeToString[rc]; ok {
		return n
	}
	return "RCODE" + strconv.Itoa(rc)
}

// QtypeName names a query type as the contract's qtypes keys do.
func QtypeName(t uint16) string {
	if n, ok := mdns.TypeToString[t]; ok {
		return n
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// Report renders s with top-N lists of at most top entries.
func (s *State) Report(top int) report.DNS {
	r := report.DNS{
		Messages: s.Messages, Queries: s.Queries, Responses: s.Responses,
		UDP: s.UDP, TCP: s.TCP, IPv4: s.IPv4, IPv6: s.IPv6,
		Malformed: s.Malformed, Nodata: s.Nodata,
		EDNS: s.EDNS, DO: s.DO, ECS: s.ECS, TC: s.TC, DoT: s.DoT, DoH: s.DoH, DoQ: s.DoQ,
		Rcodes: map[string]uint64{}, Qtypes: map[string]uint64{},
		Cardinality: report.DNSCardinality{QName: s.qnames.Estimate()},
		Top: report.DNSTop{
			QName:    report.TopItems(s.topQName, top, nil),
			QName2:   report.TopItems(s.topQName2, top, nil),
			QName3:   report.TopItems(s.topQName3, top, nil),
			NXDomain: report.TopItems(s.topNX, top, nil),
			Servfail: report.TopItems(s.topServfail, top, nil),
			Refused:  report.TopItems(s.topRefused, top, nil),
			Nodata:   report.TopItems(s.topNodata, top, nil),
			Clients:  report.TopItems(s.topClients, top, visor.AddrName),
			Slow:     report.TopItems(s.topSlow, top, nil),
			ECS:      topOf(s.ecs.prefix, top, ecsName),
			ECSGeo:   topOf(s.ecs.loc, top, nil),
			ECSASN:   topOf(s.ecs.autonomy, top, nil),
		},
		Xacts: report.Xacts{Total: s.xactTotal, TimedOut: s.xactTimedOut},
	}
	r.DNSCrypt, r.Transport = s.DNSCrypt, s.transport.report()
	for rc, n := range s.rcodes {
		if n > 0 {
			r.Rcodes[RcodeName(rc)] = n
		}
	}
	for t, n := range s.qtypeLow {
		if n > 0 {
			r.Qtypes[QtypeName(uint16(t))] = n
		}
	}
	for t, n := range s.qtypes {
		r.Qtypes[QtypeName(t)] = n
	}
	s.depth.reportDepth(&r)
	dirs := []*report.XactDir{&r.Xacts.Unknown, &r.Xacts.In, &r.Xacts.Out}
	for i, d := range s.dirs {
		*dirs[i] = report.XactDir{Count: d.count, TimedOut: d.timedOut, LatencyUS: report.QuantilesOf(d.latency)}
	}
	return r
}
