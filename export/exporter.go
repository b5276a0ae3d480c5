package export

import (
	"net/netip"
	"regexp"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/analyzers/dns"
	"github.com/visor-dns/visor/decode"
	"github.com/visor-dns/visor/filter"
)

// Options are an export's settings, as the analysis takes them.
type Options struct {
	DNSPorts      []uint16
	HostSpec      []netip.Prefix
	QNameSuffixes []string // lowercase, without the trailing dot
	// QNameRegex and QNameExclude, when set, keep only the names the first
	// matches and the second does not (dns.Analyzer's Include, Exclude).
	QNameRegex, QNameExclude *regexp.Regexp
	Filter                   *filter.Filter
	XactTimeout              int64 // ns of capture time; 0: dns.DefaultTimeout
}

// Stats count an export's work.
type Stats struct {
	Packets  uint64 // packets read
	Filtered uint64 // left out by the filter
	Rows     uint64 // records written
	Matched  uint64 // rows with both a query and a response
	DNS      dns.Stats
}

// Exporter turns packets into records: Observe every packet in capture
// order, then Close.
type Exporter struct {
	w       Writer
	opts    Options
	ports   [1024]uint64
	frame   visor.Frame
	defrag  *decode.Defrag
	streams *decode.Streams
	dnsA    *dns.Analyzer
	st      *dns.State
	msg     visor.Message
	emit    func([]byte, *visor.Frame)
	zones   zones
	pending map[uint32]Record // open queries' rows, by the Analyzer's sequence number
	out     Record
	pkt     *visor.Packet // the packet being observed
	dir     visor.Direction
	err     error
	stats   Stats
}

// New returns an exporter writing to w.
func New(w Writer, opts Options) *Exporter {
	e := &Exporter{w: w, opts: opts, defrag: decode.NewDefrag(), streams: decode.NewStreams(),
		dnsA: dns.NewAnalyzer(), st: dns.NewState(), pending: map[uint32]Record{}}
	for _, p := range opts.DNSPorts {
		e.ports[p/64] |= 1 << (p % 64)
	}
	if opts.XactTimeout > 0 {
		e.dnsA.Timeout = opts.XactTimeout
	}
	for _, s := range opts.QNameSuffixes {
		e.dnsA.Suffixes = append(e.dnsA.Suffixes, []byte(s))
	}
	e.dnsA.Include, e.dnsA.Exclude = opts.QNameRegex, opts.QNameExclude
	e.dnsA.Hook = e
	e.emit = func(b []byte, f *visor.Frame) { e.message(f, b, visor.TransportTCP, e.dir) }
	return e
}

func (e *Exporter) dnsPort(p uint16) bool { return e.ports[p/64]&(1<<(p%64)) != 0 }

// Observe exports what p completes. It returns the first write error.
func (e *Exporter) Observe(p *visor.Packet) error {
	e.stats.Packets++
	e.pkt = p
	if p.Tap != nil {
		e.observeTap(p)
		return e.err
	}
	f := &e.frame
	st := decode.Packet(p, f)
	if e.opts.Filter != nil && !e.opts.Filter.Match(f) {
		e.stats.Filtered++
		return e.err
	}
	e.dnsA.Expire(p.TS, e.st)
	if f.IPVersion == 0 {
		return e.err
	}
	e.dir = e.direction(f)
	e.frameDNS(f)
	if st == decode.OK && f.Fragment && e.defrag.Add(f) && f.Payload != nil {
		e.frameDNS(f) // the whole datagram
	}
	return e.err
}

func (e *Exporter) frameDNS(f *visor.Frame) {
	if f.Fragment || !e.dnsPort(f.SrcPort) && !e.dnsPort(f.DstPort) {
		return
	}
	switch f.Proto {
	case visor.TransportUDP:
		e.message(f, f.Payload, visor.TransportUDP, e.dir)
	case visor.TransportTCP:
		e.streams.Feed(f, e.emit)
	}
}

func (e *Exporter) observeTap(p *visor.Packet) {
	t := p.Tap
	f := &e.frame
	*f = visor.Frame{TS: p.TS, WireLen: len(t.Message), IPVersion: t.IPVersion, Payload: t.Message,
		Src: t.QueryAddr, Dst: t.ResponseAddr, SrcPort: t.QueryPort, DstPort: t.ResponsePort}
	if t.Response {
		f.Src, f.Dst, f.SrcPort, f.DstPort = f.Dst, f.Src, f.DstPort, f.SrcPort
	}
	f.Proto = visor.TransportTCP
	if t.Transport == visor.TransportUDP || t.Transport == visor.TransportDoQ {
		f.Proto = visor.TransportUDP
	}
	if e.opts.Filter != nil && !e.opts.Filter.Match(f) {
		e.stats.Filtered++
		return
	}
	e.dnsA.Expire(p.TS, e.st)
	m := &e.msg
	*m = visor.Message{TS: f.TS, IPVersion: f.IPVersion, Transport: t.Transport, Src: f.Src, Dst: f.Dst,
		SrcPort: f.SrcPort, DstPort: f.DstPort, WireLen: len(f.Payload), Data: f.Payload}
	if t.Response {
		m.QueryTime = t.QueryTime
	}
	e.dnsA.Observe(m, e.st, t.Dir)
}

func (e *Exporter) direction(f *visor.Frame) visor.Direction {
	for _, p := range e.opts.HostSpec {
		if p.Contains(f.Dst) {
			return visor.DirIn
		}
	}
	for _, p := range e.opts.HostSpec {
		if p.Contains(f.Src) {
			return visor.DirOut
		}
	}
	return visor.DirUnknown
}

func (e *Exporter) message(f *visor.Frame, b []byte, transport uint8, dir visor.Direction) {
	m := &e.msg
	*m = visor.Message{TS: f.TS, IPVersion: f.IPVersion, Transport: transport, Src: f.Src, Dst: f.Dst,
		SrcPort: f.SrcPort, DstPort: f.DstPort, WireLen: len(b), Data: b}
	e.dnsA.Observe(m, e.st, dir)
}

// Close ends the input: open queries become rows without responses. It
// returns the first write error, and does not close the Writer.
func (e *Exporter) Close() (Stats, error) {
	e.defrag.Close()
	e.streams.Close() // a partial TCP message left is dropped, as analyze does
	e.dnsA.Close(e.st)
	e.stats.DNS = e.dnsA.Stats
	return e.stats, e.err
}

// question fills r's common part from the message that has it.
func (e *Exporter) question(r *Record, m *visor.Message, v *decode.DNS, response bool, dir visor.Direction) {
	r.Client, r.Server, r.ClientPort, r.ServerPort = m.Src, m.Dst, m.SrcPort, m.DstPort
	if response {
		r.Client, r.Server, r.ClientPort, r.ServerPort = m.Dst, m.Src, m.DstPort, m.SrcPort
	}
	r.Transport, r.IPVersion, r.ID, r.Dir, r.Input = m.Transport, m.IPVersion, v.ID, dir, e.pkt.Input
	r.HasQuestion, r.QType, r.QClass = v.HasQuestion, v.QType, v.QClass
	if v.HasQuestion {
		r.QName = string(v.QName())
		r.Zone = e.zones.zone(r.QName)
	}
}

// Query is the dns.Hook's: a query's half-row waits for its response, or
// is written at once when it stands alone.
func (e *Exporter) Query(seq uint32, open bool, m *visor.Message, v *decode.DNS, dir visor.Direction) {
	r := &e.out
	*r = Record{HasQuery: true, QueryTime: m.TS, QFlags: v.Flags, QuerySize: m.WireLen,
		EDNS: v.EDNS, DO: v.DO, UDPSize: v.UDPSize, ECS: v.ECSPrefix(), QueryPacket: e.pkt.Number}
	e.question(r, m, v, false, dir)
	if open {
		e.pending[seq] = *r
		return
	}
	e.write(r)
}

// Response is the dns.Hook's: the response completes its query's row, or
// makes one of its own.
func (e *Exporter) Response(seq uint32, matched bool, m *visor.Message, v *decode.DNS, dir visor.Direction) {
	r := &e.out
	if q, ok := e.pending[seq]; matched && ok {
		delete(e.pending, seq)
		*r = q
		e.stats.Matched++
	} else {
		*r = Record{QueryTime: m.QueryTime}
		e.question(r, m, v, true, dir)
	}
	r.HasResponse, r.ResponseTime, r.RFlags, r.ResponseSize = true, m.TS, v.Flags, m.WireLen
	r.ANCount, r.NSCount, r.ARCount, r.ResponsePacket = v.ANCount, v.NSCount, v.ARCount, e.pkt.Number
	e.write(r)
}

// Unanswered is the dns.Hook's: the query's row is written without a response.
func (e *Exporter) Unanswered(seq uint32) {
	if q, ok := e.pending[seq]; ok {
		delete(e.pending, seq)
		e.out = q
		e.write(&e.out)
	}
}

func (e *Exporter) write(r *Record) {
	if e.err != nil {
		return
	}
	e.stats.Rows++
	e.err = e.w.Write(r)
}
