package engine

import (
	"bytes"
	"context"
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
	"golang.org/x/term"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/analyzers"
	"github.com/visor-dns/visor/capture"
	"github.com/visor-dns/visor/internal/outfile"
	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/summary"
)

// Live is a live run on a network interface: what to capture, when to
// stop, and the sinks that watch the run while it goes.
type Live struct {
	Interface string
	Snaplen   int
	Promisc   bool
	Count     uint64        // stop after this many packets (0: no limit)
	Duration  time.Duration // stop after this long (0: at ctx's end)
	Write     string        // also save the packets to this pcapng file
	Listen    string        // serve /metrics and /report.json here
	Stream    bool          // one JSON line per closed bucket on out
	View      bool          // a terminal view on out, redrawn every second
	Labels    []string      // k=v labels of the /metrics series
}

// MaxSnaplen is the largest packet a live capture keeps whole.
const MaxSnaplen = capture.MaxCapLen

// liveLateness is how long a packet may sit in the capture ring (and the
// poll) before visor sees it: a quiet interface closes a bucket this long
// after its end, so late packets still land in it.
const liveLateness = time.Second

// Errors of a live run's set-up and end, for the command to name its flags.
var (
	ErrLiveWrite  = errors.New("cannot save the captured packets")
	ErrLiveListen = errors.New("cannot serve metrics")
)

// IsTerminal tells whether w is a terminal (for views and progress).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// RunLive captures on lo.Interface until ctx ends (a signal), lo.Duration
// or lo.Count, and returns the final report. A failure to save the packets
// (lo.Write) comes back as an ErrLiveWrite error with the report, which is
// whole: the caller writes it, then fails.
func RunLive(ctx context.Context, cfg *Config, lo Live, out, stderr io.Writer) (*report.Report, error) {
	rep, _, err := runLiveIface(ctx, cfg, lo, false, out, stderr)
	return rep, err
}

// RunLiveSummary is RunLive that also records the run's summary (visor
// live --format summary): the mergeable state of the report's buckets,
// written as they close, in a temporary file until the summary is closed.
// The summary is nil when the report is; a summary that could not be
// written comes back as an error with the report.
func RunLiveSummary(ctx context.Context, cfg *Config, lo Live, out, stderr io.Writer) (*report.Report, *summary.Summary, error) {
	return runLiveIface(ctx, cfg, lo, true, out, stderr)
}

func runLiveIface(ctx context.Context, cfg *Config, lo Live, record bool, out, stderr io.Writer) (*report.Report, *summary.Summary, error) {
	if !cfg.valid {
		if err := cfg.Validate(); err != nil {
			return nil, nil, err
		}
	}
	labels, err := report.ParseLabels(lo.Labels)
	if err != nil {
		return nil, nil, err
	}
	var rec *liveRecorder
	if record {
		if rec, err = newLiveRecorder(cfg); err != nil {
			return nil, nil, err
		}
		rec.skipEmpty = true
	}
	abort := func() {
		if rec != nil {
			rec.abort()
		}
	}
	var wfile *outfile.File
	lopts := capture.LiveOptions{Interface: lo.Interface, Snaplen: lo.Snaplen, Promisc: lo.Promisc}
	if lo.Write != "" {
		// Committed (synced and renamed into place) when the capture ends.
		if wfile, err = outfile.Create(lo.Write); err != nil {
			abort()
			return nil, nil, fmt.Errorf("%w: %w", ErrLiveWrite, err)
		}
		lopts.Write = wfile
	}
	src, err := capture.OpenLive(lopts)
	if err != nil {
		if wfile != nil {
			wfile.Abort()
		}
		abort()
		return nil, nil, err
	}
	var ln net.Listener
	if lo.Listen != "" {
		if ln, err = net.Listen("tcp", lo.Listen); err != nil {
			src.Close()
			if wfile != nil {
				wfile.Abort()
			}
			abort()
			return nil, nil, fmt.Errorf("%w: %w", ErrLiveListen, err)
		}
	}
	var commit func() error
	if wfile != nil {
		commit = wfile.Commit
	}
	return runLive(ctx, cfg, &lo, labels, src, commit, ln, rec, out, stderr)
}

// runLive analyses src until the run ends; it closes src, commits the
// --write file (commit, or nil) and closes ln (or nil). With rec, it also
// records the run's summary.
func runLive(ctx context.Context, cfg *Config, lo *Live, labels []report.Label, src liveSource, commit func() error, ln net.Listener,
	rec *liveRecorder, out, stderr io.Writer) (*report.Report, *summary.Summary, error) {
	g, err := cfg.OpenGeo()
	if err != nil {
		src.Close()
		if rec != nil {
			rec.abort()
		}
		return nil, nil, err
	}
	defer g.Close()
	aopts := cfg.AnalyzerOptions()
	aopts.GeoCity, aopts.GeoASN = g.City, g.ASN
	aopts.Warn = func(s string) { fmt.Fprintln(stderr, s) }
	if rec != nil {
		aopts.Summary = rec.bucket
	}
	r := &liveRun{cfg: cfg, lo: lo, labels: labels, src: src, path: src.Info().Path, a: analyzers.New(aopts), start: time.Now()}
	r.a.EnableSnapshots()

	var srv *http.Server
	if ln != nil {
		srv = &http.Server{Handler: r.handler(stderr), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
	}
	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if lo.View || lo.Stream {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.refresh(bg, out, lo.View)
		}()
	}

	capErr := r.capture(ctx)
	readDone(ctx)
	cerr := src.Close()
	if commit != nil {
		if err := commit(); cerr == nil {
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
	var sum *summary.Summary
	var serr error
	if rec != nil {
		if sum, serr = rec.finish(rep, r.a, r.path); serr != nil {
			serr = fmt.Errorf("cannot write the summary: %w", serr)
		}
	}
	if lo.Stream {
		if err := r.streamBuckets(out, rep.Buckets); err != nil {
			return rep, sum, errors.Join(fmt.Errorf("cannot write the stream: %w", err), serr)
		}
	}
	if lo.View {
		io.WriteString(out, "\x1b[H\x1b[2J")
	}
	if cerr != nil {
		return rep, sum, errors.Join(fmt.Errorf("%w: %s: %w", ErrLiveWrite, lo.Write, cerr), serr)
	}
	return rep, sum, serr
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
	cfg      *Config
	lo       *Live
	labels   []report.Label
	src      liveSource
	path     string // the interface, as the report names it
	a        *analyzers.Analysis
	c        liveCounters
	start    time.Time
	mu       sync.Mutex
	final    *report.Report // set once the run has ended
	streamed int            // buckets already streamed
}

// capture is the reader: it observes every packet and keeps the buckets
// closing on time while the interface is quiet.
func (r *liveRun) capture(ctx context.Context) error {
	var p visor.Packet
	var deadline time.Time
	if r.lo.Duration > 0 {
		deadline = r.start.Add(r.lo.Duration)
	}
	for n := uint64(0); ; {
		if r.lo.Count > 0 && n >= r.lo.Count {
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
	rep.Tool = r.cfg.tool()
	rep.Inputs = []report.Input{inputReport(r.src.Info())}
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
	rep.Tool = r.cfg.tool()
	in := report.Input{Path: r.path, Format: "afpacket", Packets: r.c.packets.Load(), Bytes: r.c.bytes.Load(),
		LinkTypes: map[string]uint64{}}
	if in.Packets > 0 {
		in.FirstTS, in.LastTS = report.Timestamp(r.c.firstTS.Load()), report.Timestamp(r.c.lastTS.Load())
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
			if r.lo.Stream {
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
	st := report.LiveStatus{Source: r.path, Up: now.Sub(r.start), Packets: r.c.packets.Load(),
		Bytes: r.c.bytes.Load(), PPS: pps, Dropped: r.src.Dropped()}
	o := report.TableOptions{Top: r.cfg.Top, Width: report.TableWidth(w), ASCII: !report.UTF8Locale()}
	report.WriteLiveScreen(w, rep, st, o, report.ScreenHeight(w))
}

// streamBuckets writes the buckets not streamed yet, one JSON object a line.
func (r *liveRun) streamBuckets(w io.Writer, buckets []report.Bucket) error {
	for ; r.streamed < len(buckets); r.streamed++ {
		if err := report.WriteBucketJSON(w, &buckets[r.streamed]); err != nil {
			return err
		}
	}
	return nil
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
	labels := c.r.labels
	first, last := rep.Buckets[0], rep.Buckets[n-1]
	total := report.Bucket{Start: first.Start, End: last.End, Section: rep.Summary}
	counters, err1 := report.Families(&report.Report{Buckets: []report.Bucket{total}}, labels, c.r.cfg.Top)
	gauges, err2 := report.Families(&report.Report{Buckets: []report.Bucket{last}}, labels, c.r.cfg.Top)
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

// RunLiveDNSTap serves a Frame Streams (dnstap) socket at path, with the
// file mode given (0: capture.DefaultSocketMode), until ctx ends or
// duration passes, analyses every message received and returns the report.
// A message skipped (malformed) is counted in integrity.
func RunLiveDNSTap(ctx context.Context, cfg *Config, path string, mode os.FileMode, duration time.Duration, stderr io.Writer) (*report.Report, error) {
	rep, _, err := runLiveDNSTap(ctx, cfg, path, mode, duration, false, stderr)
	return rep, err
}

// RunLiveDNSTapSummary is RunLiveDNSTap that also records the run's
// summary, as RunLiveSummary does.
func RunLiveDNSTapSummary(ctx context.Context, cfg *Config, path string, mode os.FileMode, duration time.Duration, stderr io.Writer) (*report.Report, *summary.Summary, error) {
	return runLiveDNSTap(ctx, cfg, path, mode, duration, true, stderr)
}

func runLiveDNSTap(ctx context.Context, cfg *Config, path string, mode os.FileMode, duration time.Duration, record bool, stderr io.Writer) (*report.Report, *summary.Summary, error) {
	if !cfg.valid {
		if err := cfg.Validate(); err != nil {
			return nil, nil, err
		}
	}
	g, err := cfg.OpenGeo()
	if err != nil {
		return nil, nil, err
	}
	defer g.Close()
	var rec *liveRecorder
	if record {
		if rec, err = newLiveRecorder(cfg); err != nil {
			return nil, nil, err
		}
	}
	sock, err := capture.ListenDNSTap(path, mode)
	if err != nil {
		if rec != nil {
			rec.abort()
		}
		return nil, nil, err
	}
	sock.Warn = func(err error) { fmt.Fprintln(stderr, "visor:", err) }
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		sock.Close() // Next drains what was received, then says io.EOF
	}()
	fmt.Fprintf(stderr, "visor: serving dnstap on %s until SIGINT/SIGTERM", path)
	if duration > 0 {
		fmt.Fprintf(stderr, " or %s", duration)
	}
	fmt.Fprintln(stderr)
	aopts := cfg.AnalyzerOptions()
	aopts.GeoCity, aopts.GeoASN = g.City, g.ASN
	aopts.Warn = func(s string) { fmt.Fprintln(stderr, s) }
	if rec != nil {
		aopts.Summary = rec.bucket
	}
	a := analyzers.New(aopts)
	// not ctx: the run ends at the socket's io.EOF, after the last message
	runErr := a.Run(context.Background(), sock)
	readDone(ctx)
	close(stopped)
	sock.Close()
	if runErr != nil {
		a.Finish().Close()
		if rec != nil {
			rec.abort()
		}
		return nil, nil, runErr
	}
	rep := a.Finish()
	rep.Tool = cfg.tool()
	in := sock.Info()
	rep.Inputs = append(rep.Inputs, inputReport(in))
	for reason, n := range in.Skipped {
		rep.Integrity[reason] += n
	}
	if rec == nil {
		return rep, nil, nil
	}
	sum, err := rec.finish(rep, a, in.Path)
	if err != nil {
		return rep, nil, fmt.Errorf("cannot write the summary: %w", err)
	}
	return rep, sum, nil
}
