package analyzers

import (
	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/analyzers/dns"
	"github.com/visor-dns/visor/analyzers/encdns"
	"github.com/visor-dns/visor/analyzers/findings"
	"github.com/visor-dns/visor/analyzers/net"
	"github.com/visor-dns/visor/decode"
	"github.com/visor-dns/visor/geo"
)

// shard analyses the flows whose symmetric hash falls to it: a query and
// its response, and every segment of a TCP connection, meet on one shard.
type shard struct {
	a       *Analysis
	id      int
	in      chan *batch
	free    chan *batch // where processed batches go back to the reader
	out     chan<- part
	ports   *[1024]uint64
	streams *decode.Streams
	enc     *encdns.Analyzer
	dnsA    *dns.Analyzer
	st      states
	spare   chan states // emptied states coming back from the merger
	made    int         // states made so far, at most shardStates
	msg     visor.Message
	cur     *item
	emit    func([]byte, *visor.Frame)
	geo     *geo.Lookup // this shard's cache; nil without databases
	rec     TransactionHook
}

// states is one shard's (or the merger's) analyzer states for a bucket.
type states struct {
	net  *net.State
	dns  *dns.State
	find *findings.State
	enc  *encdns.State
	qps  *PerSecond // queries a second
}

// newStates makes empty analyzer states: the one place that knows which
// analyzers a bucket has (and the options they take). lk is the geo lookup
// of the goroutine that fills them (nil without databases).
func (a *Analysis) newStates(lk *geo.Lookup) states {
	return states{net: net.NewGeoState(lk), dns: dns.NewGeoState(lk), find: findings.NewState(), enc: encdns.NewState(),
		qps: NewPerSecond(int64(a.opts.Bucket))}
}

func (st states) merge(o states) {
	st.net.Merge(o.net)
	st.dns.Merge(o.dns)
	st.find.Merge(o.find)
	st.enc.Merge(o.enc)
	st.qps.Merge(o.qps)
}

func (st states) reset() {
	st.net.Reset()
	st.dns.Reset()
	st.find.Reset()
	st.enc.Reset()
	st.qps.Reset()
}

// shardStates bounds the states a shard makes: one filling, one or two with
// the merger. A shard that has made them all waits for one to come back, so
// a run of many short buckets reuses them instead of making a state a bucket.
const shardStates = 3

// part is what a shard hands the merger when a bucket closes.
type part struct {
	shard  int
	bucket int64
	end    int64
	st     states
	final  bool
	tcp    decode.TCPStats
	dnsSt  dns.Stats
	reader *readerPart // set only on the reader's part
}

func newShard(id int, a *Analysis, out chan<- part) *shard {
	s := &shard{a: a, id: id, in: make(chan *batch, 8), free: a.free, out: out, ports: &a.ports,
		streams: decode.NewStreams(), dnsA: a.newDNSAnalyzer(),
		geo: geo.NewLookup(a.opts.GeoCity, a.opts.GeoASN), spare: make(chan states, shardStates)}
	s.st, s.made = a.newStates(s.geo), 1
	// The tables' bounds hold for the whole run: each shard gets its share.
	n := a.opts.Shards
	s.streams.MaxStreams = max(decode.DefaultMaxStreams/n, 1)
	s.streams.MaxBuffered = max(decode.DefaultMaxBuffered/n, 1<<20)
	s.dnsA.MaxOpen = max(dns.DefaultMaxOpen/n, 1)
	s.emit = s.emitTCP
	s.enc = a.newEncAnalyzer()
	s.dnsA.Carry = a.newCarry()
	if a.opts.Transactions != nil {
		s.rec = a.opts.Transactions
		s.dnsA.Hook = s.rec
		s.dnsA.PairOnly = true
	}
	return s
}

func (s *shard) dnsPort(p uint16) bool { return s.ports[p/64]&(1<<(p%64)) != 0 }

func (s *shard) run() {
	for b := range s.in {
		switch b.mark {
		case markNone:
			for i := range b.items {
				s.observe(&b.items[i])
			}
		case markBucket:
			s.dnsA.Expire(b.end, s.st.dns)
			s.handOff(b.bucket, b.end, false)
		case markFinish:
			s.streams.Close()
			s.dnsA.Close(s.st.dns)
			s.handOff(b.bucket, b.end, true)
		}
		b.reset()
		s.free <- b
	}
}

// handOff gives the bucket's states to the merger and takes empty ones.
func (s *shard) handOff(bucket, end int64, final bool) {
	p := part{shard: s.id, bucket: bucket, end: end, st: s.st, final: final}
	if final {
		p.tcp, p.dnsSt = s.streams.Stats, s.dnsA.Stats
	}
	s.out <- p
	if final {
		return
	}
	if s.made == shardStates {
		s.st = <-s.spare
		return
	}
	select {
	case st := <-s.spare:
		s.st = st
	default:
		s.st = s.a.newStates(s.geo)
		s.made++
	}
}

func (s *shard) observe(it *item) {
	f := &it.f
	if s.rec != nil {
		s.rec.Packet(int(it.input), it.number)
	} else if f.WireLen >= 0 { // -1 marks a reassembled datagram, counted as its pieces
		s.st.net.Observe(f, it.dir)
		s.st.find.ObserveFrame(f, it.dir)
		if !it.tap {
			s.enc.Observe(f, s.st.enc)
		}
	}
	s.dnsA.Expire(f.TS, s.st.dns)
	if it.tap {
		m := &s.msg
		*m = visor.Message{TS: f.TS, IPVersion: f.IPVersion, Transport: it.transport, Src: f.Src, Dst: f.Dst,
			SrcPort: f.SrcPort, DstPort: f.DstPort, WireLen: len(f.Payload), Data: f.Payload, QueryTime: it.queryTime}
		s.observeDNS(m, it.dir)
		return
	}
	if f.IPVersion == 0 || f.Fragment {
		return
	}
	switch f.Proto {
	case visor.TransportUDP:
		if s.dnsPort(f.SrcPort) || s.dnsPort(f.DstPort) {
			s.message(f, f.Payload, visor.TransportUDP, it.dir)
		}
	case visor.TransportTCP:
		if s.dnsPort(f.SrcPort) || s.dnsPort(f.DstPort) {
			s.cur = it
			s.streams.Feed(f, s.emit)
		}
	}
}

func (s *shard) emitTCP(b []byte, f *visor.Frame) {
	s.message(f, b, visor.TransportTCP, s.cur.dir)
}

func (s *shard) message(f *visor.Frame, b []byte, transport uint8, dir visor.Direction) {
	m := &s.msg
	*m = visor.Message{TS: f.TS, IPVersion: f.IPVersion, Transport: transport, Src: f.Src, Dst: f.Dst,
		SrcPort: f.SrcPort, DstPort: f.DstPort, WireLen: len(b), Data: b}
	s.observeDNS(m, dir)
}

func (s *shard) observeDNS(m *visor.Message, dir visor.Direction) {
	v := s.dnsA.Observe(m, s.st.dns, dir)
	if v != nil && !v.Response() { // as dns counts Queries
		s.st.qps.add(m.TS)
	}
	if v != nil && s.rec == nil {
		s.st.find.ObserveDNS(m, v, s.dnsA.QHash, dir)
	}
}
