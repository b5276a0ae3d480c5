// Package analyzers runs the analysis. One reader decodes every packet
// (link, IP, fragment reassembly, --bpf), keeps the capture-time clock and
// the packet rate, and hands frames in batches to shards chosen by a
// symmetric flow hash, so a query and its response, or the segments of a
// TCP connection, meet on one shard. Shards run the net and dns analyzers
// on their own state; when a bucket closes, a merger adds the shards'
// states into the bucket's report and the summary. The summary is the
// merge of the buckets, not a recount.
package analyzers

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"runtime"
	"sync"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/analyzers/dns"
	"github.com/visor-dns/visor/analyzers/encdns"
	"github.com/visor-dns/visor/analyzers/findings"
	"github.com/visor-dns/visor/analyzers/net"
	"github.com/visor-dns/visor/anonymize"
	"github.com/visor-dns/visor/capture"
	"github.com/visor-dns/visor/decode"
	"github.com/visor-dns/visor/filter"
	"github.com/visor-dns/visor/geo"
	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/sketch"
)

// Options are the analysis settings every analysing command shares.
type Options struct {
	Bucket        int64 // bucket width in ns of capture time; a whole number of seconds
	Top           int
	DNSPorts      []uint16
	HostSpec      []netip.Prefix
	QNameSuffixes []string
	// QNameInclude and QNameExclude (--qname-regex, --qname-exclude), when
	// set, keep only the DNS messages whose name the first matches and the
	// second does not, before anything is counted.
	QNameInclude, QNameExclude *regexp.Regexp
	XactTimeout                int64
	Slow                       int64
	Filter                     *filter.Filter // --bpf; nil passes everything
	// Shards is the number of analysing goroutines; 0 means one per CPU.
	// The report is the same whatever the number.
	Shards int
	// Warn receives one line per new kind of problem (e.g. an unsupported
	// link type), for stderr.
	Warn func(string)
	// Progress, if set, is called every few thousand packets.
	Progress func(packets uint64)
	// Thresholds of the findings detectors (--threshold); nil: defaults.
	Thresholds *findings.Thresholds
	// DoHSNI (--doh-sni) lists the TLS server names that make a connection
	// to port 443 DNS over HTTPS; "default" stands for encdns.DefaultDoH,
	// and nil means it alone.
	DoHSNI []string
	// GeoCity and GeoASN (--geoip-city, --geoip-asn), when set, add the
	// geo and asn tops; nil means no geo work at all.
	GeoCity, GeoASN *geo.DB
	// RSSAC, when set, counts RSSAC002's daily measurements (--format
	// rssac002; rssac.go); the report's RSSAC002 holds them.
	RSSAC *dns.RSSACOptions
	// Summary, when set, receives every closed bucket's merged states (on
	// the merger's goroutine, before they are reset), and the DNS analyzers
	// keep the transactions at the run's edges (Carried): what a summary
	// file holds (summary.go).
	Summary func(BucketStates)
	// Transactions, when set, hears of every DNS transaction (visor
	// export's records; records.go). The run then has one shard, so that
	// it hears them in one order whatever the machine, and counts no net,
	// findings or DNS state (its dns Analyzer only pairs: dns.Analyzer's
	// PairOnly); the report's integrity is still counted.
	Transactions TransactionHook
	// Anonymize, when set, replaces every address by its pseudonym right
	// after decoding and --bpf, before anything is counted (anonymize.go);
	// HostSpec is mapped the same way. The run uses a Clone of it.
	Anonymize *anonymize.Anonymizer
}

// Reader yields packets in capture-time order (capture.Merge does).
type Reader interface {
	Next(p *visor.Packet) error
}

// readerPart is the reader's share of a closed bucket.
type readerPart struct {
	pps  *sketch.Quantiles
	edge net.RateEdge // with Options.Summary: the bucket's first and last seconds (rate.go)
	secs *PerSecond   // packets a second
}

// Analysis is one run: the reader's state, the shards and the merger.
type Analysis struct {
	opts    Options
	ports   [1024]uint64 // bitset of DNS ports
	frame   visor.Frame
	defrag  *decode.Defrag
	shards  []*shard
	batches []*batch // the batch being filled for each shard
	free    chan *batch
	parts   chan part
	rate    *rate
	running sync.WaitGroup         // the shards' goroutines
	ppsFree chan *sketch.Quantiles // the reader's rate sketches, emptied by the merger

	secs  *PerSecond // the open bucket's packets a second (the reader's)
	rates Rates      // the merger's

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

	// Written by the merger; read after done is closed.
	done    chan struct{}
	buckets *report.BucketStore // closed buckets in their report form, compact
	accFree []states            // the merger's emptied bucket states, for the next buckets
	sumNet  *net.State
	sumDNS  *dns.State
	sumEnc  *encdns.State
	other   otherPorts // DNS-like UDP on ports that are not DNS ports (encdns_hook.go)
	tcp     decode.TCPStats
	dnsSt   dns.Stats
	detect  *findings.Detector
	geo     *geo.Lookup // never asked: it says which geo tops the merged states have
	snap    snapshots   // live views (snapshot.go)

	// The shards' edge transactions, with Options.Summary.
	carries []*dns.Carry

	// Truncated responses a later bucket's TCP query may retry (merger).
	retry dns.RetryCarry
	// RSSAC002's days (merger; rssac.go).
	rssac rssacDays

	anon *anonymize.Anonymizer // Options.Anonymize's clone, or nil
}

// New prepares an analysis and starts its shards and merger.
func New(opts Options) *Analysis {
	if opts.Bucket <= 0 {
		opts.Bucket = 60e9
	}
	if opts.Top <= 0 {
		opts.Top = 10
	}
	if opts.Shards <= 0 {
		opts.Shards = runtime.GOMAXPROCS(0)
	}
	if opts.Transactions != nil {
		opts.Shards = 1
	}
	var anon *anonymize.Anonymizer
	if opts.Anonymize != nil {
		anon = opts.Anonymize.Clone()
		hosts := make([]netip.Prefix, len(opts.HostSpec))
		for i, p := range opts.HostSpec {
			hosts[i] = anon.Prefix(p)
		}
		opts.HostSpec = hosts
	}
	a := &Analysis{opts: opts, defrag: decode.NewDefrag(), rate: newRate(), secs: NewPerSecond(opts.Bucket),
		links: map[uint16]uint64{}, ppsFree: make(chan *sketch.Quantiles, 4),
		parts: make(chan part, 2*opts.Shards+2), done: make(chan struct{}), detect: findings.NewDetector(opts.Thresholds)}
	a.anon = anon
	a.buckets = report.NewBucketStore()
	a.rate.edges = opts.Summary != nil
	a.geo = geo.NewLookup(opts.GeoCity, opts.GeoASN)
	a.sumNet, a.sumDNS = net.NewGeoState(a.geo), dns.NewGeoState(a.geo)
	a.sumEnc = encdns.NewState()
	for _, p := range opts.DNSPorts {
		a.ports[p/64] |= 1 << (p % 64)
	}
	nb := 8 * opts.Shards
	a.free = make(chan *batch, nb+opts.Shards)
	for i := 0; i < nb; i++ {
		a.free <- newBatch()
	}
	for i := 0; i < opts.Shards; i++ {
		s := newShard(i, a, a.parts)
		a.shards = append(a.shards, s)
		a.batches = append(a.batches, <-a.free)
		a.running.Add(1)
		go func() {
			defer a.running.Done()
			s.run()
		}()
	}
	go a.merge()
	return a
}

func (a *Analysis) newDNSAnalyzer() *dns.Analyzer {
	d := dns.NewAnalyzer()
	if a.opts.XactTimeout > 0 {
		d.Timeout = a.opts.XactTimeout
	}
	if a.opts.Slow > 0 {
		d.Slow = a.opts.Slow
	}
	for _, s := range a.opts.QNameSuffixes {
		d.Suffixes = append(d.Suffixes, []byte(NormalizeSuffix(s)))
	}
	d.Include, d.Exclude = a.opts.QNameInclude, a.opts.QNameExclude
	d.RSSAC = a.opts.RSSAC
	return d
}

// retryTimeout is how long after a truncated response a TCP query counts
// as its retry: the transaction timeout.
func (a *Analysis) retryTimeout() int64 {
	if a.opts.XactTimeout > 0 {
		return a.opts.XactTimeout
	}
	return dns.DefaultTimeout
}

// NormalizeSuffix writes a --qname-suffix value as names are compared:
// lowercase, without leading or trailing dots.
func NormalizeSuffix(s string) string {
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
// Call Finish afterwards for the report.
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
		if err != nil {
			if a.opts.Progress != nil {
				a.opts.Progress(n) // the last count is the true one
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
		a.Observe(&p)
	}
}

// Observe analyses one packet. It must not be called after Finish, nor
// concurrently.
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
	if a.anon != nil && f.IPVersion != 0 {
		a.anonymize(f)
	}
	if f.IPVersion == 0 {
		f.Src, f.Dst = netip.Addr{}, netip.Addr{} // an ARP packet's, for the filter only
	}
	a.tick(p.TS)
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
	if st == decode.OK && f.Proto == visor.TransportUDP && !f.Fragment {
		a.lookDNS(f)
	}
	dir := a.direction(f)
	it := a.dispatch(f, dir)
	it.number, it.input = p.Number, int32(p.Input)
	if st == decode.OK && f.Fragment && a.defrag.Add(f) && f.Payload != nil {
		// The whole datagram goes on for its transport; the net analyzer
		// has counted its pieces already.
		if a.anon != nil {
			a.anonymizeDNS(f) // its addresses are pseudonyms already; its DNS is whole now
		}
		it := a.dispatch(f, dir)
		it.f.WireLen = -1
		it.number, it.input = p.Number, int32(p.Input)
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
	case visor.TransportUDP, visor.TransportDoQ, visor.TransportDNSCryptUDP:
		f.Proto = visor.TransportUDP
	default:
		f.Proto = visor.TransportTCP
	}
	if a.opts.Filter != nil && !a.opts.Filter.Match(f) {
		a.filtered++
		return
	}
	if a.anon != nil {
		a.anonymizeTap(f)
	}
	a.tick(p.TS)
	it := a.dispatch(f, t.Dir)
	it.tap, it.transport = true, t.Transport
	it.number, it.input = p.Number, int32(p.Input)
	if t.Response {
		it.queryTime = t.QueryTime
	}
}

// tick counts a packet on the clock, the rate, and the bucket.
func (a *Analysis) tick(ts int64) {
	a.packets++
	a.clock(ts)
	a.rate.tick(ts)
	a.secs.add(ts)
}

// dispatch copies the frame into its shard's batch.
func (a *Analysis) dispatch(f *visor.Frame, dir visor.Direction) *item {
	i := 0
	if n := len(a.shards); n > 1 && f.IPVersion != 0 {
		i = int(flowHash(f) % uint64(n))
	}
	b := a.batches[i]
	if b.full() {
		a.shards[i].in <- b
		b = <-a.free
		a.batches[i] = b
	}
	return b.add(f, dir)
}

// flowHash is the same for both directions of a flow.
func flowHash(f *visor.Frame) uint64 {
	sh, sl := visor.AddrWords(f.Src)
	dh, dl := visor.AddrWords(f.Dst)
	h := sh ^ sl ^ dh ^ dl
	h ^= uint64(f.SrcPort^f.DstPort) << 32
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// clock moves the open bucket forward on capture time.
func (a *Analysis) clock(ts int64) {
	if a.started && ts >= a.lastTS && ts-a.bucket < a.opts.Bucket {
		a.lastTS = ts // forward, within the open bucket: no division
		return
	}
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
		a.closeBucket(markBucket)
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

// closeBucket sends every shard its pending frames and the mark, and the
// merger the reader's part.
func (a *Analysis) closeBucket(m mark) {
	end := a.bucket + a.opts.Bucket
	for i, s := range a.shards {
		if len(a.batches[i].items) > 0 {
			s.in <- a.batches[i]
			a.batches[i] = <-a.free
		}
		mb := <-a.free
		mb.mark, mb.bucket, mb.end = m, a.bucket, end
		s.in <- mb
	}
	a.rate.flush()
	secs := a.secs
	a.secs = NewPerSecond(a.opts.Bucket)
	a.parts <- part{shard: -1, bucket: a.bucket, end: end, final: m == markFinish,
		reader: &readerPart{pps: a.rate.q, edge: a.rate.takeEdge(), secs: secs}}
	select {
	case a.rate.q = <-a.ppsFree:
	default:
		a.rate.q = sketch.NewQuantiles()
	}
}

// bucketAcc gathers the parts of one bucket.
type bucketAcc struct {
	n      int
	end    int64
	st     states
	reader readerPart // its rates' part (the sketch is handed back)
}

// merge runs on its own goroutine: it adds the shards' parts into bucket
// reports and the summary, in bucket order.
func (a *Analysis) merge() {
	pending := map[int64]*bucketAcc{}
	finals := 0
	for p := range a.parts {
		acc := pending[p.bucket]
		if acc == nil {
			acc = &bucketAcc{end: p.end}
			if n := len(a.accFree); n > 0 {
				acc.st, a.accFree = a.accFree[n-1], a.accFree[:n-1]
			} else {
				acc.st = a.newStates(a.geo)
			}
			pending[p.bucket] = acc
		}
		acc.n++
		if p.reader != nil {
			acc.reader = *p.reader
			acc.reader.pps = nil
			acc.st.net.MergeRates(p.reader.pps)
			acc.st.net.AddRateEdge(p.reader.edge)
			p.reader.pps.Reset()
			select {
			case a.ppsFree <- p.reader.pps:
			default:
			}
		} else {
			acc.st.merge(p.st)
			if !p.final {
				p.st.reset()
				a.shards[p.shard].spare <- p.st // never blocks: it holds every state the shard made
			}
		}
		if p.final {
			finals++
			addTCP(&a.tcp, p.tcp)
			addDNS(&a.dnsSt, p.dnsSt)
		}
		if acc.n == len(a.shards)+1 {
			delete(pending, p.bucket)
			acc.st.dns.SettleRetries(&a.retry, acc.end, a.retryTimeout())
			a.collectRSSAC(p.bucket, acc.st.dns)
			if a.started || !p.final {
				b := report.Bucket{
					Start: report.Timestamp(p.bucket), End: report.Timestamp(acc.end),
					Section: report.Section{Net: acc.st.net.Report(a.opts.Top), DNS: acc.st.dns.Report(a.opts.Top)},
				}
				acc.st.enc.Fill(&b.Section, a.opts.Top)
				a.rates.Bucket(&b.Section, p.bucket, acc.end, acc.reader.secs, acc.st.qps, p.final)
				a.detect.AddBucket(p.bucket, acc.end, acc.st.find, &b.Section)
				a.summaryStates(p.bucket, acc.end, acc.st, acc.reader.secs)
				a.buckets.Append(&b)
				a.sumNet.Merge(acc.st.net)
				a.sumDNS.Merge(acc.st.dns)
				a.sumEnc.Merge(acc.st.enc)
				a.publish(b)
			}
			acc.st.reset()
			a.accFree = append(a.accFree, acc.st)
		}
		if finals == len(a.shards)+1 && len(pending) == 0 {
			close(a.done)
			return
		}
	}
}

func addTCP(d *decode.TCPStats, s decode.TCPStats) {
	d.Gaps += s.Gaps
	d.Evicted += s.Evicted
	d.Expired += s.Expired
	d.Unsynced += s.Unsynced
	d.Oversize += s.Oversize
	d.Retransmitted += s.Retransmitted
	d.Truncated += s.Truncated
}

func addDNS(d *dns.Stats, s dns.Stats) {
	d.NotDNS += s.NotDNS
	d.ResponsesUnmatched += s.ResponsesUnmatched
	d.OpenEvicted += s.OpenEvicted
	d.OpenAtEnd += s.OpenAtEnd
	d.DuplicateQueries += s.DuplicateQueries
	d.FilteredBySuffix += s.FilteredBySuffix
	d.FilteredByName += s.FilteredByName
}

// Finish closes the last bucket, stops the shards and returns the report
// (without inputs and tool, which the caller knows). Its buckets are in
// Stored, not Buckets: the report's writers and EachBucket read them, and
// rep.Close releases their temporary file.
func (a *Analysis) Finish() *report.Report {
	a.defrag.Close()
	a.closeBucket(markFinish)
	<-a.done
	for _, s := range a.shards {
		close(s.in)
	}
	a.running.Wait() // their states are garbage when Finish returns
	r := &report.Report{
		Schema:        report.Schema,
		Integrity:     a.integrity(),
		BucketSeconds: float64(a.opts.Bucket) / 1e9,
		Summary:       report.Section{Net: a.sumNet.Report(a.opts.Top), DNS: a.sumDNS.Report(a.opts.Top)},
		Stored:        a.buckets,
		Findings:      a.detect.Findings(),
		RSSAC002:      a.rssacResult(),
	}
	a.sumEnc.Fill(&r.Summary, a.opts.Top)
	a.rates.Summary(&r.Summary)
	return r
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
	t := a.tcp
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
	s := a.dnsSt
	put("dns_malformed", a.sumDNS.Malformed)
	put("dns_not_dns", s.NotDNS)
	put("dns_responses_unmatched", s.ResponsesUnmatched)
	put("dns_queries_unanswered_at_end", s.OpenAtEnd)
	put("dns_open_queries_evicted", s.OpenEvicted)
	put(integrityOtherPorts, a.other.packets)
	for _, s := range a.shards {
		put("encrypted_dns_sessions_unfollowed", s.enc.Stats.FlowsDropped)
	}
	fd := a.detect.Dropped()
	put("findings_zones_dropped", fd.Zones)
	put("findings_addrs_dropped", fd.Addrs)
	put("findings_prefixes_dropped", fd.Prefixes)
	return m
}
