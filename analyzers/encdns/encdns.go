// Package encdns is the encrypted-DNS analyzer: DNS over TLS (TCP port
// 853), DNS over QUIC (UDP port 853) and DNS over HTTPS (TLS to port 443
// whose ClientHello names a DoH service), seen in packets. The messages are
// encrypted: it counts sessions, packets, bytes and distinct clients, the
// clients and servers with the most sessions, and estimates the queries
// from the sizes and order of the TLS records (docs/encrypted-dns.md).
//
// An Analyzer (one per shard) follows the TLS sessions across buckets; a
// State holds one bucket's counts and merges.
package encdns

import (
	"encoding/binary"
	"net/netip"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/sketch"
)

// Kind is an encrypted DNS transport.
type Kind uint8

// The transports.
const (
	DoT Kind = iota
	DoH
	DoQ
	numKinds
)

// Ports of the transports.
const (
	PortDoT   = 853 // TCP; DoQ on UDP
	PortHTTPS = 443
)

// Defaults and bounds.
const (
	TopCapacity     = 1024
	DefaultMaxFlows = 1 << 16         // TLS sessions followed per analyzer at most
	idle            = 120_000_000_000 // a session this quiet (capture time) is forgotten when room is needed
	doqIdle         = 30_000_000_000  // a QUIC flow quiet this long starts a new session with its next Initial
	minQueryRecord  = 32              // TLS records under this are alerts, key updates, HTTP/2 control frames
	minDoQPacket    = 64              // QUIC short-header packets under this carry ACKs, not queries
	minQUICInitial  = 1200            // a client's Initial datagram is padded to at least this (RFC 9000 14.1)
)

// State is one bucket's (or the summary's) encrypted-DNS counts. It merges.
type State struct {
	k                      [numKinds]counts
	topClients, topServers *sketch.TopK
}

type counts struct {
	sessions, packets, bytes, queries uint64
	clients                           *sketch.Cardinality
}

// NewState returns an empty state.
func NewState() *State {
	s := &State{topClients: sketch.NewTopK(TopCapacity), topServers: sketch.NewTopK(TopCapacity)}
	for i := range s.k {
		s.k[i].clients = sketch.NewCardinality()
	}
	return s
}

// Merge adds o into s.
func (s *State) Merge(o *State) {
	for i := range s.k {
		a, b := &s.k[i], &o.k[i]
		a.sessions += b.sessions
		a.packets += b.packets
		a.bytes += b.bytes
		a.queries += b.queries
		a.clients.Merge(b.clients)
	}
	s.topClients.Merge(o.topClients)
	s.topServers.Merge(o.topServers)
}

// Reset empties s for reuse.
func (s *State) Reset() {
	for i := range s.k {
		c := s.k[i].clients
		c.Reset()
		s.k[i] = counts{clients: c}
	}
	s.topClients.Reset()
	s.topServers.Reset()
}

// Queries returns the estimated queries of kind k.
func (s *State) Queries(k Kind) uint64 { return s.k[k].queries }

// Report renders s with top lists of at most top entries.
func (s *State) Report(top int) report.EncryptedDNS {
	t := func(k Kind) report.EncryptedTransport {
		c := &s.k[k]
		return report.EncryptedTransport{Sessions: c.sessions, Packets: c.packets, Bytes: c.bytes, QueriesEst: c.queries,
			Cardinality: report.EncryptedCardinality{Clients: c.clients.Estimate()}}
	}
	return report.EncryptedDNS{DoT: t(DoT), DoH: t(DoH), DoQ: t(DoQ), Top: report.EncryptedTop{
		Clients: report.TopItems(s.topClients, top, visor.AddrName),
		Servers: report.TopItems(s.topServers, top, visor.AddrName),
	}}
}

// Fill puts s's report into sec and adds its estimated queries to the DNS
// view's queries by transport (dns.transport).
func (s *State) Fill(sec *report.Section, top int) {
	sec.Encrypted = s.Report(top)
	for _, x := range []struct {
		name string
		k    Kind
	}{{report.TransportDoT, DoT}, {report.TransportDoH, DoH}, {report.TransportDoQ, DoQ}} {
		if n := s.k[x.k].queries; n > 0 {
			if sec.DNS.Transport == nil {
				sec.DNS.Transport = map[string]uint64{}
			}
			sec.DNS.Transport[x.name] += n
		}
	}
}

// Stats counts what the analyzer could not follow.
type Stats struct {
	FlowsDropped uint64 // sessions not followed: the flow table was full of live sessions
}

// Analyzer follows encrypted-DNS sessions and counts them into States.
type Analyzer struct {
	// DoH holds the server names that make TLS to port 443 DoH; nil or
	// empty: none.
	DoH      *Names
	MaxFlows int
	Stats    Stats
	flows    map[flowKey]*flow
	free     []*flow
	lower    [maxServerName]byte
	cliMemo  sketch.AddrHashes
	srvMemo  sketch.AddrHashes
}

// NewAnalyzer returns an analyzer that knows the DoH names doh.
func NewAnalyzer(doh *Names) *Analyzer {
	return &Analyzer{DoH: doh, MaxFlows: DefaultMaxFlows, flows: map[flowKey]*flow{}}
}

type flowKey struct {
	client, server netip.Addr
	cport, sport   uint16
	udp            bool
}

// flow is one followed session.
type flow struct {
	kind   Kind
	last   int64
	side   [2]side // client, server
	srvApp bool    // the server sent application data before the client did: TLS 1.3
	cliApp bool    // the client sent application data
	n      uint32  // client records that may carry a query
	fin    uint8   // FIN seen from the client (1), the server (2)
}

// side walks one direction's TLS records across segments, in order.
type side struct {
	next   uint32 // sequence number of the next byte expected
	synced bool
	body   int     // bytes of the current record's body still to come
	hdr    [5]byte // a record header cut by the segment's end
	hdrN   int
}

// Observe counts one decoded packet into st. Only TCP and UDP on port 853
// and TCP on port 443 are looked at.
func (a *Analyzer) Observe(f *visor.Frame, st *State) {
	if f.IPVersion == 0 || f.Fragment || f.WireLen < 0 {
		return
	}
	var fromClient bool
	switch f.Proto {
	case visor.TransportTCP:
		switch {
		case f.DstPort == PortDoT || f.DstPort == PortHTTPS:
			fromClient = true
		case f.SrcPort == PortDoT || f.SrcPort == PortHTTPS:
		default:
			return
		}
		a.tcp(f, fromClient, st)
	case visor.TransportUDP:
		switch {
		case f.DstPort == PortDoT:
			fromClient = true
		case f.SrcPort == PortDoT:
		default:
			return
		}
		a.quic(f, fromClient, st)
	}
}

func keyOf(f *visor.Frame, fromClient, udp bool) flowKey {
	if fromClient {
		return flowKey{client: f.Src, server: f.Dst, cport: f.SrcPort, sport: f.DstPort, udp: udp}
	}
	return flowKey{client: f.Dst, server: f.Src, cport: f.DstPort, sport: f.SrcPort, udp: udp}
}

func (a *Analyzer) tcp(f *visor.Frame, fromClient bool, st *State) {
	k := keyOf(f, fromClient, false)
	var fl *flow
	if len(a.flows) > 0 { // HTTPS without DoH costs no lookup
		fl = a.flows[k]
	}
	if fromClient && len(f.Payload) > 5 && f.Payload[0] == tlsHandshake {
		if sni, hello := ClientHelloSNI(f.Payload); hello {
			kind, ok := DoT, k.sport == PortDoT
			if !ok {
				kind, ok = DoH, sni != nil && a.DoH != nil && a.DoH.match(a.lowerName(sni))
			}
			if ok {
				a.session(kind, k, st)
				fl = a.follow(k, kind, f.TS)
			}
		}
	}
	switch {
	case fl != nil:
		st.k[fl.kind].packets++
		st.k[fl.kind].bytes += uint64(f.WireLen)
	case k.sport == PortDoT:
		st.k[DoT].packets++ // a session whose hello the capture missed
		st.k[DoT].bytes += uint64(f.WireLen)
		return
	default:
		return
	}
	fl.last = f.TS
	i := 1
	if fromClient {
		i = 0
	}
	if len(f.Payload) > 0 {
		a.walk(fl, i, f, st)
	}
	if f.TCPFlags&0x04 != 0 { // RST
		a.forget(k, fl)
	} else if f.TCPFlags&0x01 != 0 { // FIN
		if fl.fin |= 1 << i; fl.fin == 3 {
			a.forget(k, fl)
		}
	}
}

// walk reads the TLS record headers of a segment of direction i (0 the
// client), in sequence order: a segment that repeats bytes already read is
// skipped, and one past a gap starts afresh where a record header may be.
func (a *Analyzer) walk(fl *flow, i int, f *visor.Frame, st *State) {
	s := &fl.side[i]
	b := f.Payload
	if s.synced {
		d := int32(f.TCPSeq - s.next)
		switch {
		case d < 0:
			return // a retransmission
		case d > 0:
			s.synced = false // bytes missing: find the next record header in this segment
		}
	}
	s.next = f.TCPSeq + uint32(len(b))
	if !s.synced {
		if len(b) < 5 || b[0] < 20 || b[0] > 24 || b[1] != 3 {
			return
		}
		s.synced, s.body, s.hdrN = true, 0, 0
	}
	for len(b) > 0 {
		if s.body > 0 {
			n := min(s.body, len(b))
			s.body -= n
			b = b[n:]
			continue
		}
		n := copy(s.hdr[s.hdrN:], b)
		s.hdrN += n
		b = b[n:]
		if s.hdrN < 5 {
			return // the header goes on in the next segment
		}
		s.hdrN = 0
		typ, size := s.hdr[0], int(binary.BigEndian.Uint16(s.hdr[3:5]))
		s.body = size
		a.record(fl, i, typ, size, st)
	}
}

// record counts one TLS record of direction i: the client's application
// data records carry its queries, but for TLS 1.3's Finished (the client's
// first one, when the server's encrypted flight came before), alerts and
// HTTP/2 control frames (small records), and, over HTTPS, the connection
// preface and each request's HEADERS beside its DATA.
func (a *Analyzer) record(fl *flow, i int, typ byte, size int, st *State) {
	if typ != tlsAppData {
		return
	}
	if i == 1 {
		if !fl.cliApp {
			fl.srvApp = true
		}
		return
	}
	if !fl.cliApp {
		fl.cliApp = true
		if fl.srvApp {
			return // TLS 1.3: the client's Finished
		}
	}
	if size < minQueryRecord {
		return
	}
	fl.n++
	if fl.kind == DoT || fl.n%2 == 0 {
		// DoH: preface, then HEADERS and DATA per POST: queries = (n-1)/2, rounded up
		st.k[fl.kind].queries++
	}
}

// quic counts a UDP packet to or from port 853: a client's padded Initial
// on a flow not seen lately starts a session; a client's short-header
// packet big enough to hold a query is counted as one.
func (a *Analyzer) quic(f *visor.Frame, fromClient bool, st *State) {
	c := &st.k[DoQ]
	c.packets++
	c.bytes += uint64(f.WireLen)
	if !fromClient || len(f.Payload) == 0 {
		return
	}
	k := keyOf(f, true, true)
	fl := a.flows[k]
	b := f.Payload
	if QUICInitial(b) && f.WireLen >= minQUICInitial {
		if fl == nil || f.TS-fl.last > doqIdle {
			a.session(DoQ, k, st)
			fl = a.follow(k, DoQ, f.TS)
		}
	} else if b[0]&0x80 == 0 && len(b) >= minDoQPacket {
		c.queries++
	}
	if fl != nil {
		fl.last = f.TS
	}
}

// session counts a new session of kind from k's client to its server.
func (a *Analyzer) session(kind Kind, k flowKey, st *State) {
	c := &st.k[kind]
	c.sessions++
	h, _ := a.cliMemo.Hash(k.client)
	c.clients.InsertHash(h)
	st.topClients.AddAddr(k.client, h, 1)
	hs, _ := a.srvMemo.Hash(k.server)
	st.topServers.AddAddr(k.server, hs, 1)
}

// follow starts following k's session (a new ClientHello on a followed
// flow starts it afresh). With the table full of sessions active in the
// last two minutes, the session is counted but not followed.
func (a *Analyzer) follow(k flowKey, kind Kind, ts int64) *flow {
	fl := a.flows[k]
	if fl == nil {
		if len(a.flows) >= a.MaxFlows {
			for k2, f2 := range a.flows {
				if ts-f2.last > idle {
					a.forget(k2, f2)
				}
			}
			if len(a.flows) >= a.MaxFlows {
				a.Stats.FlowsDropped++
				return nil
			}
		}
		if n := len(a.free); n > 0 {
			fl, a.free = a.free[n-1], a.free[:n-1]
		} else {
			fl = new(flow)
		}
		a.flows[k] = fl
	}
	*fl = flow{kind: kind, last: ts}
	return fl
}

func (a *Analyzer) forget(k flowKey, fl *flow) {
	delete(a.flows, k)
	a.free = append(a.free, fl)
}

// Len is the number of sessions followed.
func (a *Analyzer) Len() int { return len(a.flows) }

// lowerName lowercases a server name into the analyzer's buffer.
func (a *Analyzer) lowerName(b []byte) []byte {
	n := copy(a.lower[:], b)
	out := a.lower[:n]
	for i, c := range out {
		if c >= 'A' && c <= 'Z' {
			out[i] = c + 32
		}
	}
	return out
}
