// Package analyzers runs the analysis: it reads packets in capture-time
// order, decodes them, feeds the net and dns analyzers, closes time buckets
// on capture time, and builds the report. Bucket states merge into the
// summary, so the summary is the merge of the buckets, not a recount.
package analyzers

import (
	"context"
	"fmt"
	"io"
	"net/netip"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/analyzers/dns"
	"github.com/visor-dns/visor/analyzers/net"
	"github.com/visor-dns/visor/capture"
	"github.com/visor-dns/visor/decode"
	"github.com/visor-dns/visor/filter"
	"github.com/visor-dns/visor/report"
)

// Options are the analysis settings every analysing command shares.
type Options struct {
	Bucket        int64 // bucket width in ns of capture time; a whole number of seconds
	Top           int
	DNSPorts      []uint16
	HostSpec      []netip.Prefix
	QNameSuffixes []string
	XactTimeout   int64
	Slow          int64
	Filter        *filter.Filter // --bpf; nil passes everything
	// Warn receives one line per new kind of problem (e.g. an unsupported
	// link type), for stderr.
	Warn func(string)
	// Progress, if set, is called every few thousand packets.
	Progress func(packets uint64)
}

// Reader yields packets in capture-time order (capture.Merge does).
type Reader interface {
	Next(p *visor.Packet) error
}

// Analysis is one run's state.
type Analysis struct {
	opts     Options
	ports    [1024]uint64 // bitset of DNS ports
	frame    visor.Frame
	msg      visor.Message
	defrag   *decode.Defrag
	streams  *decode.Streams
	dnsA     *dns.Analyzer
	net      *net.State
	dns      *dns.State
	sumNet   *net.State
	sumDNS   *dns.State
	started  bool
	bucket   int64 // start of the open bucket
	lastTS   int64
	packets  uint64
	filtered uint64 // packets the --bpf filter left out
	status   [16]uint64
	links    map[uint16]uint64 // unsupported link types seen
	back     uint64            // timestamps that went backwards
	backMax  int64
	trunc    uint64
	buckets  []report.Bucket
	emitFunc func([]byte, *visor.Frame)
}

// New prepares an analysis.
func New(opts Options) *Analysis {
	if opts.Bucket <= 0 {
		opts.Bucket = 60e9
	}
	if opts.Top <= 0 {
		opts.Top = 10
	}
	a := &Analysis{opts: opts, defrag: decode.NewDefrag(), streams: decode.NewStreams(),
		dnsA: dns.NewAnalyzer(), net: net.NewState(), dns: dns.NewState(),
		sumNet: net.NewState(), sumDNS: dns.NewState(), links: map[uint16]uint64{}}
	if opts.XactTimeout > 0 {
		a.dnsA.Timeout = opts.XactTimeout
	}
	if opts.Slow > 0 {
		a.dnsA.Slow = opts.Slow
	}
	for _, s := range opts.QNameSuffixes {
		a.dnsA.Suffixes = append(a.dnsA.Suffixes, []byte(normalizeSuffix(s)))
	}
	for _, p := range opts.DNSPorts {
		a.ports[p/64] |= 1 << (p % 64)
	}
	a.emitFunc = a.emitTCP
	return a
}

func normalizeSuffix(s string) string {
	b := []byte(s)
	for len(b) > 0 && b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	for len(b) > 0 && b[0] == '.' {
		b = b[1:]
	}
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func (a *Analysis) dnsPort(p uint16) bool { return a.ports[p/64]&(1<<(p%64)) != 0 }

func (a *Analysis) direction(f *visor.Frame) visor.Direction {
	for _, p := range a.opts.HostSpec {
		if p.Contains(f.Dst) {
			return visor.DirIn
		}
	}
	for _, p := range a.opts.HostSpec {
		if p.Contains(f.Src) {
			return visor.DirOut
		}
	}
	return visor.DirUnknown
}

// Run reads r to its end (or ctx's cancellation) and observes every packet.
func (a *Analysis) Run(ctx context.Context, r Reader) error {
	var p visor.Packet
	for n := uint64(0); ; n++ {
		if n&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if a.opts.Progress != nil && n > 0 {
				a.opts.Progress(n)
			}
		}
		err := r.Next(&p)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		a.Observe(&p)
	}
}

// Observe analyses one packet.
func (a *Analysis) Observe(p *visor.Packet) {
	if p.Tap != nil {
		a.observeTap(p)
		return
	}
	f := &a.frame
	st := decode.Packet(p, f)
	if a.opts.Filter != nil && !a.opts.Filter.Match(f) {
		a.filtered++
		return
	}
	a.packets++
	a.clock(p.TS)
	if st != decode.OK && st != decode.NonIP {
		a.status[st]++
		if st == decode.UnsupportedLink {
			if a.links[p.LinkType] == 0 && a.opts.Warn != nil {
				a.opts.Warn(fmt.Sprintf("visor: link type %s (%d) is not supported; its packets are counted in integrity", capture.LinkTypeName(p.LinkType), p.LinkType))
			}
			a.links[p.LinkType]++
		}
	}
	if f.Truncated {
		a.trunc++
	}
	dir := a.direction(f)
	a.net.Observe(f, dir)
	a.dnsA.Expire(f.TS, a.dns)
	if st != decode.OK || f.IPVersion == 0 {
		return
	}
	if f.Fragment {
		if !a.defrag.Add(f) || f.Payload == nil {
			return
		}
	}
	switch f.Proto {
	case visor.TransportUDP:
		if a.dnsPort(f.SrcPort) || a.dnsPort(f.DstPort) {
			a.message(f, f.Payload, visor.TransportUDP, dir)
		}
	case visor.TransportTCP:
		if a.dnsPort(f.SrcPort) || a.dnsPort(f.DstPort) {
			a.streams.Feed(f, a.emitFunc)
		}
	}
}

// observeTap analyses a dnstap message: its frame is built from the
// addresses the server logged, its direction from the message type.
func (a *Analysis) observeTap(p *visor.Packet) {
	t := p.Tap
	f := &a.frame
	*f = visor.Frame{TS: p.TS, WireLen: len(t.Message), IPVersion: t.IPVersion, Payload: t.Message,
		Src: t.QueryAddr, Dst: t.ResponseAddr, SrcPort: t.QueryPort, DstPort: t.ResponsePort}
	if t.Response {
		f.Src, f.Dst, f.SrcPort, f.DstPort = f.Dst, f.Src, f.DstPort, f.SrcPort
	}
	switch t.Transport {
	case visor.TransportUDP, visor.TransportDoQ:
		f.Proto = visor.TransportUDP
	default:
		f.Proto = visor.TransportTCP
	}
	if a.opts.Filter != nil && !a.opts.Filter.Match(f) {
		a.filtered++
		return
	}
	a.packets++
	a.clock(p.TS)
	a.net.Observe(f, t.Dir)
	a.dnsA.Expire(f.TS, a.dns)
	m := &a.msg
	*m = visor.Message{TS: f.TS, IPVersion: f.IPVersion, Transport: t.Transport, Src: f.Src, Dst: f.Dst,
		SrcPort: f.SrcPort, DstPort: f.DstPort, WireLen: len(t.Message), Data: t.Message}
	if t.Response && t.QueryTime != 0 {
		m.QueryTime = t.QueryTime
	}
	a.dnsA.Observe(m, a.dns, t.Dir)
}

func (a *Analysis) emitTCP(b []byte, f *visor.Frame) {
	a.message(f, b, visor.TransportTCP, a.direction(f))
}

func (a *Analysis) message(f *visor.Frame, b []byte, transport uint8, dir visor.Direction) {
	m := &a.msg
	*m = visor.Message{TS: f.TS, IPVersion: f.IPVersion, Transport: transport, Src: f.Src, Dst: f.Dst,
		SrcPort: f.SrcPort, DstPort: f.DstPort, WireLen: len(b), Data: b}
	a.dnsA.Observe(m, a.dns, dir)
}

// clock moves the open bucket forward on capture time.
func (a *Analysis) clock(ts int64) {
	b := floorDiv(ts, a.opts.Bucket) * a.opts.Bucket
	if !a.started {
		a.started, a.bucket, a.lastTS = true, b, ts
		return
	}
	if ts < a.lastTS {
		a.back++
		if d := a.lastTS - ts; d > a.backMax {
			a.backMax = d
		}
	} else {
		a.lastTS = ts
	}
	if b > a.bucket {
		a.closeBucket()
		a.bucket = b
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// closeBucket renders the open bucket and merges it into the summary.
func (a *Analysis) closeBucket() {
	end := a.bucket + a.opts.Bucket
	a.dnsA.Expire(end, a.dns)
	a.net.Flush()
	a.buckets = append(a.buckets, report.Bucket{
		Start: report.Time(a.bucket), End: report.Time(end),
		Section: report.Section{Net: a.net.Report(a.opts.Top), DNS: a.dns.Report(a.opts.Top)},
	})
	a.sumNet.Merge(a.net)
	a.sumDNS.Merge(a.dns)
	a.net.Reset()
	a.dns.Reset()
}

// Finish closes open state and returns the report (without inputs and
// tool, which the caller knows).
func (a *Analysis) Finish() *report.Report {
	a.streams.Close()
	a.defrag.Close()
	if a.started {
		a.dnsA.Close(a.dns)
		a.closeBucket()
	} else {
		a.dnsA.Close(a.dns)
	}
	return &report.Report{
		Schema:        report.Schema,
		Integrity:     a.integrity(),
		BucketSeconds: float64(a.opts.Bucket) / 1e9,
		Summary:       report.Section{Net: a.sumNet.Report(a.opts.Top), DNS: a.sumDNS.Report(a.opts.Top)},
		Buckets:       a.buckets,
		Findings:      []report.Finding{},
	}
}

// integrity lists every non-zero count of what was not fully analysed.
func (a *Analysis) integrity() map[string]uint64 {
	m := map[string]uint64{}
	put := func(k string, v uint64) {
		if v > 0 {
			m[k] += v
		}
	}
	for st, n := range a.status {
		if n > 0 {
			put(decode.Status(st).String(), n)
		}
	}
	put("snaplen_truncated", a.trunc)
	put("timestamps_backwards", a.back)
	if a.back > 0 {
		put("timestamps_backwards_max_us", uint64(a.backMax/1e3))
	}
	t := a.streams.Stats
	put("tcp_gaps", t.Gaps)
	put("tcp_streams_evicted", t.Evicted)
	put("tcp_streams_expired_partial", t.Expired)
	put("tcp_segments_unsynced", t.Unsynced)
	put("tcp_segments_over_bound", t.Oversize)
	put("tcp_segments_truncated", t.Truncated)
	d := a.defrag.Stats
	put("ip_fragments_incomplete", d.Incomplete)
	put("ip_fragments_evicted", d.Evicted)
	put("ip_fragment_overlaps", d.Overlaps)
	put("ip_fragments_too_big", d.TooBig)
	s := a.dnsA.Stats
	put("dns_malformed", a.sumDNS.Malformed)
	put("dns_not_dns", s.NotDNS)
	put("dns_responses_unmatched", s.ResponsesUnmatched)
	put("dns_queries_unanswered_at_end", s.OpenAtEnd)
	put("dns_open_queries_evicted", s.OpenEvicted)
	return m
}
