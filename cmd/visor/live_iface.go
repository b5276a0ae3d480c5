package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/analyzers"
	"github.com/visor-dns/visor/capture"
	"github.com/visor-dns/visor/engine"
	"github.com/visor-dns/visor/internal/outfile"
	"github.com/visor-dns/visor/report"
)

// ifaceOptions are the flags of `visor live -i IFACE`, besides the
// analysis ones.
type ifaceOptions struct {
	iface    string
	duration time.Duration
	count    uint64
	snaplen  int
	promisc  bool
	write    string
	listen   string
	stream   bool
}

// liveLateness is how long a packet may sit in the capture ring (and the
// poll) before visor sees it: a quiet interface closes a bucket this long
// after its end, so late packets still land in it.
const liveLateness = time.Second

// addFlags adds the interface mode's flags; -i and --duration are live's
// own (live.go), copied into iface and duration before runLiveIface.
func (o *ifaceOptions) addFlags(fs *pflag.FlagSet) {
	fs.Uint64Var(&o.count, "count", 0, "stop after this many captured packets (before --bpf; 0: no limit)")
	fs.IntVar(&o.snaplen, "snaplen", capture.MaxCapLen, "bytes kept of each packet, cut in the kernel")
	fs.BoolVar(&o.promisc, "promisc", false, "put the interface in promiscuous mode while capturing")
	fs.StringVar(&o.write, "write", "", "also save the captured packets to FILE (pcapng)")
	fs.StringVar(&o.listen, "listen", "", "serve /metrics (Prometheus) and /report.json on ADDR, e.g. 127.0.0.1:9753")
	fs.BoolVar(&o.stream, "stream", false, "print one JSON line per closed bucket on stdout")
}

// check validates the interface mode's own flags.
func (o *ifaceOptions) check() error {
	if o.duration < 0 {
		return usageError("--duration must not be negative")
	}
	if o.snaplen < 64 {
		return usageError("--snaplen must be at least 64, not %d", o.snaplen)
	}
	if o.listen != "" {
		if _, _, err := net.SplitHostPort(o.listen); err != nil {
			return usageError("--listen %q is not HOST:PORT", o.listen)
		}
	}
	return nil
}

// liveCounters are the reader's own numbers, for the view and /metrics.
type liveCounters struct {
	packets, bytes  atomic.Uint64
	firstTS, lastTS atomic.Int64
}

// liveSource is what a live run reads: capture.Live, or a fake in tests.
type liveSource interface {
	visor.Source
	LinkType() uint16
	Dropped() uint64
}

// liveRun is one `visor live -i` run: the capture, the analysis and what
// the view, the stream and the HTTP server read while it goes on.
type liveRun struct {
	opts     *analysisOptions
	lo       *ifaceOptions
	src      liveSource
	path     string // the interface, as the report names it
	a        *analyzers.Analysis
	c        liveCounters
	start    time.Time
	mu       sync.Mutex
	final    *report.Report // set once the run has ended
	streamed int            // buckets already streamed
}

// runLiveIface captures on lo.iface until ctx ends (SIGINT/SIGTERM),
// --duration or --count, then writes the final report as analyze does.
// opts must have been checked.
func runLiveIface(ctx context.Context, opts *analysisOptions, lo *ifaceOptions, stdout, stderr io.Writer) error {
	if err := lo.check(); err != nil {
		return err
	}
	var wfile io.Closer
	lopts := capture.LiveOptions{Interface: lo.iface, Snaplen: lo.snaplen, Promisc: lo.promisc}
	if lo.write != "" {
		f, err := outfile.Create(lo.write)
		if err != nil {
			return usageError("--write: %v", err)
		}
		// Committed (synced and renamed into place) when the capture ends.
		wfile, lopts.Write = commitCloser{f}, f
	}
	src, err := capture.OpenLive(lopts)
	if err != nil {
		if f, ok := wfile.(commitCloser); ok {
			f.Abort()
		}
		return &exitError{code: exitUsage, err: prefixed(err)}
	}
	var ln net.Listener
	if lo.listen != "" {
		if ln, err = net.Listen("tcp", lo.listen); err != nil {
			src.Close()
			return usageError("--listen: %v", err)
		}
	}
	return runLive(ctx, opts, lo, src, wfile, ln, stdout, stderr)
}

// runLive analyses src until the run ends; it closes src, wfile (the
// --write file, or nil) and ln (the --listen socket, or nil).
func runLive(ctx context.Context, opts *analysisOptions, lo *ifaceOptions, src liveSource, wfile io.Closer, ln net.Listener,
	stdout, stderr io.Writer) error {
	aopts := opts.analyzerOptions()
	aopts.Warn = func(s string) { fmt.Fprintln(stderr, s) }
	r := &liveRun{opts: opts, lo: lo, src: src, path: src.Info().Path, a: analyzers.New(aopts), start: time.Now()}
	r.a.EnableSnapshots()

	var srv *http.Server
	if ln != nil {
		srv = &http.Server{Handler: r.handler(stderr), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
	}
	viewOn := opts.format == "table" && (opts.output == "" || opts.output == "-") && !lo.stream && isTerminal(stdout)
	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if viewOn || lo.stream {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.refresh(bg, stdout, viewOn)
		}()
	}

	capErr := r.capture(ctx)
	engine.ReadDone(ctx)
	cerr := src.Close()
	if wfile != nil {
		if err := wfile.Close(); cerr == nil {
			cerr = err
		}
	}
	stopBG()
	wg.Wait()
	rep := r.finish()
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		srv.Shutdown(sctx)
		cancel()
	}
	if capErr != nil {
		fmt.Fprintf(stderr, "visor: %v; the report covers the packets before it\n", capErr)
		rep.Integrity["capture_error"]++
	}
	var writeErr error
	if cerr != nil {
		// The report is still written; the run then fails.
		writeErr = &exitError{code: exitUsage, err: fmt.Errorf("visor: --write %s: %v", lo.write, cerr)}
	}
	if lo.stream {
		if err := r.streamBuckets(stdout, rep.Buckets); err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("visor: writing stream: %w", err)}
		}
		if opts.output == "" || opts.output == "-" {
			// stdout carries the stream; the final report needs -o.
			if writeErr != nil {
				return writeErr
			}
			return strictResult(opts, rep)
		}
	}
	if viewOn {
		io.WriteString(stdout, "\x1b[H\x1b[2J")
	}
	if err := writeReport(opts, rep, stdout); err != nil {
		return errors.Join(writeErr, err)
	}
	if writeErr != nil {
		return writeErr
	}
	return strictResult(opts, rep)
}

// commitCloser makes an output file's Close its Commit.
type commitCloser struct{ *outfile.File }

func (c commitCloser) Close() error { return c.Commit() }

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// capture is the reader: it observes every packet and keeps the buckets
// closing on time while the interface is quiet.
func (r *liveRun) capture(ctx context.Context) error {
	var p visor.Packet
	var deadline time.Time
	if r.lo.duration > 0 {
		deadline = r.start.Add(r.lo.duration)
	}
	for n := uint64(0); ; {
		if r.lo.count > 0 && n >= r.lo.count {
			return nil
		}
		err := r.src.Next(&p)
		if err == nil {
			r.a.ObserveLive(&p)
			n++
			r.c.packets.Add(1)
			r.c.bytes.Add(uint64(len(p.Data)))
			if n == 1 {
				r.c.firstTS.Store(p.TS)
			}
			r.c.lastTS.Store(p.TS)
			if n&0xff != 0 {
				continue
			}
		} else if !errors.Is(err, capture.ErrIdle) {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		now := time.Now()
		if !deadline.IsZero() && !now.Before(deadline) {
			return nil
		}
		if err != nil { // idle
			r.a.Advance(now.Add(-liveLateness).UnixNano())
		}
	}
}

// finish ends the analysis and completes the report as analyze does.
func (r *liveRun) finish() *report.Report {
	rep := r.a.FinishLive()
	rep.Tool = report.Tool{Name: "visor", Version: version}
	rep.Inputs = []report.Input{engine.InputReport(r.src.Info())}
	if d := r.src.Dropped(); d > 0 {
		rep.Integrity["kernel_dropped"] += d
	}
	r.mu.Lock()
	r.final = rep
	r.mu.Unlock()
	return rep
}

// current is the report so far: the final one once the run has ended,
// else the closed buckets with the live counters.
func (r *liveRun) current() *report.Report {
	r.mu.Lock()
	final := r.final
	r.mu.Unlock()
	if final != nil {
		return final
	}
	rep := r.a.Snapshot()
	rep.Tool = report.Tool{Name: "visor", Version: version}
	in := report.Input{Path: r.path, Format: "afpacket", Packets: r.c.packets.Load(), Bytes: r.c.bytes.Load(),
		LinkTypes: map[string]uint64{}}
	if in.Packets > 0 {
		in.FirstTS, in.LastTS = report.Time(r.c.firstTS.Load()), report.Time(r.c.lastTS.Load())
		in.LinkTypes[capture.LinkTypeName(r.src.LinkType())] = in.Packets
	}
	rep.Inputs = []report.Input{in}
	if d := r.src.Dropped(); d > 0 {
		rep.Integrity["kernel_dropped"] = d
	}
	return rep
}

// refresh redraws the terminal view and streams closed buckets, about
// every second, until ctx ends.
func (r *liveRun) refresh(ctx context.Context, w io.Writer, view bool) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastPackets uint64
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			rep := r.current()
			if r.lo.stream {
				r.streamBuckets(w, rep.Buckets)
			}
			if view {
				n := r.c.packets.Load()
				pps := float64(n-lastPackets) / now.Sub(last).Seconds()
				lastPackets, last = n, now
				r.draw(w, rep, pps, now)
			}
		}
	}
}

// draw renders one screen: the live counters, the last closed bucket in
// one line, then the totals up to it as analyze's table.
func (r *liveRun) draw(w io.Writer, rep *report.Report, pps float64, now time.Time) {
	var b bytes.Buffer
	b.WriteString("\x1b[H\x1b[2J")
	fmt.Fprintf(&b, "visor live on %s · up %s · %d packets, %d bytes · %.0f pkt/s now · kernel dropped %d · Ctrl-C stops\n",
		r.path, now.Sub(r.start).Round(time.Second), r.c.packets.Load(), r.c.bytes.Load(), pps, r.src.Dropped())
	if n := len(rep.Buckets); n > 0 {
		lb := rep.Buckets[n-1]
		d := lb.DNS
		fmt.Fprintf(&b, "last bucket %s -> %s: %d packets, %d queries, %d responses, NXDOMAIN %d, SERVFAIL %d, p99 in/out %.1f/%.1f ms\n",
			lb.Start, lb.End, lb.Net.Packets, d.Queries, d.Responses, d.Rcodes["NXDOMAIN"], d.Rcodes["SERVFAIL"],
			d.Xacts.In.LatencyUS.P99/1e3, d.Xacts.Out.LatencyUS.P99/1e3)
		fmt.Fprintf(&b, "totals below cover the %d closed bucket(s) of %gs; the open bucket joins them when it closes\n\n", n, rep.BucketSeconds)
	} else {
		fmt.Fprintf(&b, "no bucket closed yet (buckets of %gs)\n\n", rep.BucketSeconds)
	}
	report.WriteTable(&b, rep, r.opts.top)
	w.Write(b.Bytes())
}

// streamBuckets writes the buckets not streamed yet, one JSON object a line.
func (r *liveRun) streamBuckets(w io.Writer, buckets []report.Bucket) error {
	for ; r.streamed < len(buckets); r.streamed++ {
		line, err := bucketJSON(buckets[r.streamed])
		if err != nil {
			return err
		}
		if _, err := w.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// bucketJSON renders b exactly as it appears in the JSON report, on one line.
func bucketJSON(b report.Bucket) ([]byte, error) {
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, &report.Report{Schema: report.Schema, Buckets: []report.Bucket{b}}); err != nil {
		return nil, err
	}
	var doc struct {
		Buckets []json.RawMessage `json:"buckets"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil || len(doc.Buckets) != 1 {
		return nil, fmt.Errorf("bucket JSON: %v", err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, doc.Buckets[0]); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// handler serves /metrics and /report.json.
func (r *liveRun) handler(stderr io.Writer) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&liveCollector{r: r})
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "visor_live_captured_packets_total", Help: "Packets captured so far, including those of the open bucket."},
		func() float64 { return float64(r.c.packets.Load()) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "visor_live_kernel_dropped_total", Help: "Packets the kernel dropped because the capture ring was full."},
		func() float64 { return float64(r.src.Dropped()) }))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("/report.json", func(w http.ResponseWriter, req *http.Request) {
		var b bytes.Buffer
		if err := report.WriteJSON(&b, r.current()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b.Bytes())
	})
	return mux
}

// liveCollector exposes the OpenMetrics output's series with their current
// values: counters cumulative over the closed buckets (the summary so far),
// gauges from the last closed bucket.
type liveCollector struct{ r *liveRun }

func (c *liveCollector) Describe(chan<- *prometheus.Desc) {} // unchecked: the series come and go

func (c *liveCollector) Collect(ch chan<- prometheus.Metric) {
	rep := c.r.current()
	n := len(rep.Buckets)
	if n == 0 {
		return
	}
	labels, _ := report.ParseLabels(c.r.opts.labels) // checked with the flags
	first, last := rep.Buckets[0], rep.Buckets[n-1]
	total := report.Bucket{Start: first.Start, End: last.End, Section: rep.Summary}
	counters, err1 := report.Families(&report.Report{Buckets: []report.Bucket{total}}, labels, c.r.opts.top)
	gauges, err2 := report.Families(&report.Report{Buckets: []report.Bucket{last}}, labels, c.r.opts.top)
	if err := errors.Join(err1, err2); err != nil {
		ch <- prometheus.NewInvalidMetric(prometheus.NewDesc("visor_error", "", nil, nil), err)
		return
	}
	emit := func(fams []report.Family, typ string, vt prometheus.ValueType) {
		for _, f := range fams {
			if f.Type != typ {
				continue
			}
			for _, s := range f.Series {
				if len(s.Points) == 0 {
					continue
				}
				names := make([]string, len(s.Labels))
				values := make([]string, len(s.Labels))
				for i, l := range s.Labels {
					names[i], values[i] = l.Name, l.Value
				}
				desc := prometheus.NewDesc(f.Name, f.Help, names, nil)
				m, err := prometheus.NewConstMetric(desc, vt, s.Points[len(s.Points)-1].V, values...)
				if err != nil {
					m = prometheus.NewInvalidMetric(desc, err)
				}
				ch <- m
			}
		}
	}
	emit(counters, report.Counter, prometheus.CounterValue)
	emit(gauges, report.Gauge, prometheus.GaugeValue)
}
