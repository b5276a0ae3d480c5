package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/analyzers"
	"github.com/visor-dns/visor/capture"
	"github.com/visor-dns/visor/report"
)

// IntegrityInterrupted is the integrity reason of a run whose context was
// cancelled before the inputs ended: the report covers part of them.
const IntegrityInterrupted = "interrupted"

// InputError is an input that could not be opened or read at all.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Analyze runs one analysis over cfg's inputs: open, merge, observe,
// report. stdin is read for the input "-"; stderr gets warnings and the
// progress line. A cancelled ctx ends the run early with the report of
// what was read, its integrity marked interrupted; ReadDone(ctx) is called
// once the inputs are no longer read.
//
// With -j above 1 and several inputs, or --split-by, the inputs are
// analysed apart (in parallel) and merged through summaries
// (AnalyzeSummary); the report is the merge's.
func Analyze(ctx context.Context, cfg *Config, stdin io.Reader, stderr io.Writer) (*report.Report, error) {
	if !cfg.valid {
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
	}
	if ok, err := cfg.summaryInputs(); ok || err != nil {
		if err != nil {
			return nil, err
		}
		s, err := cfg.readInputSummaries(stderr)
		if err != nil {
			return nil, err
		}
		defer s.Close()
		return cfg.SummaryReport(s)
	}
	if cfg.apart() {
		s, err := AnalyzeSummary(ctx, cfg, stdin, stderr)
		if err != nil {
			return nil, err
		}
		defer s.Close()
		return cfg.SummaryReport(s)
	}
	rep, _, err := analyze(ctx, cfg, stdin, stderr, nil)
	return rep, err
}

// apart tells whether cfg's inputs are analysed apart and merged.
func (c *Config) apart() bool {
	if c.SplitBy != "" {
		return true
	}
	if c.Jobs == 1 || len(c.Inputs) == 0 {
		return false
	}
	paths, _, err := capture.ExpandReport(c.Inputs)
	return err == nil && len(paths) > 1 && c.jobs(len(paths)) > 1
}

// analyze is one analysis over cfg's inputs read as one capture. onBucket,
// when set, receives every closed bucket's states (a summary's), and the
// analysis keeps the transactions at the run's edges (a.Carried).
func analyze(ctx context.Context, cfg *Config, stdin io.Reader, stderr io.Writer, onBucket func(analyzers.BucketStates)) (*report.Report, *analyzers.Analysis, error) {
	g, err := cfg.OpenGeo()
	if err != nil {
		return nil, nil, err
	}
	defer g.Close()
	in, err := openInputs(ctx, cfg, stdin, stderr)
	if err != nil {
		return nil, nil, err
	}
	defer in.close()
	paths, skipped, srcs := in.paths, in.skipped, in.srcs
	aopts := cfg.AnalyzerOptions()
	aopts.GeoCity, aopts.GeoASN = g.City, g.ASN
	aopts.Warn = func(s string) { fmt.Fprintln(stderr, s) }
	prog := newProgress(cfg.Progress, stderr, paths, srcs)
	aopts.Progress = prog.update
	aopts.Summary = onBucket
	a := analyzers.New(aopts)
	var warnings []*capture.Error
	if ctx.Err() == nil {
		m, err := capture.NewMerge(srcs)
		if err == nil {
			err = a.Run(ctx, m)
			warnings = m.Warnings
		}
		if err != nil && ctx.Err() == nil {
			// Stop the shards and the merger, and free what the report holds.
			prog.done()
			a.Finish().Close()
			return nil, nil, &InputError{err}
		}
	}
	readDone(ctx)
	prog.done()
	stopped := ctx.Err() != nil
	rep := a.Finish()
	rep.Tool = cfg.tool()
	for _, s := range srcs {
		in := s.Info()
		rep.Inputs = append(rep.Inputs, inputReport(in))
		for reason, n := range in.Skipped {
			rep.Integrity[reason] += n
		}
	}
	for _, w := range warnings {
		if stopped && (errors.Is(w, context.Cause(ctx)) || errors.Is(w, ctx.Err())) {
			continue // the cancellation ended this read, not the input
		}
		fmt.Fprintf(stderr, "visor: %v; the report covers the packets before it\n", w)
		rep.Integrity[w.Reason()]++
	}
	for _, s := range skipped {
		if s.Counted() {
			rep.Integrity[capture.ReasonInputSkipped]++
		}
	}
	if stopped {
		rep.Integrity[IntegrityInterrupted] = 1
	}
	return rep, a, nil
}

// InputReport is an input as the report lists it.
func InputReport(in *visor.InputInfo) report.Input {
	return inputReport(in)
}

func inputReport(in *visor.InputInfo) report.Input {
	r := report.Input{Path: in.Path, Format: in.Format, SHA256: in.SHA256, Packets: in.Packets,
		Bytes: in.Bytes, LinkTypes: in.LinkTypes, Identity: in.Identity, Version: in.Version}
	if in.Packets > 0 {
		r.FirstTS, r.LastTS = report.Timestamp(in.FirstTS), report.Timestamp(in.LastTS)
	}
	return r
}

type readDoneKey struct{}

// WithReadDone returns a context whose runs call done once they stop
// reading their inputs (e.g. to know that a report is being written).
func WithReadDone(ctx context.Context, done func()) context.Context {
	return context.WithValue(ctx, readDoneKey{}, done)
}

// ReadDone calls the function WithReadDone put in ctx, if any.
func ReadDone(ctx context.Context) { readDone(ctx) }

func readDone(ctx context.Context) {
	if f, ok := ctx.Value(readDoneKey{}).(func()); ok {
		f()
	}
}

// open opens one input; a FIFO or a device (where open and read may wait
// for a writer) is read so that a cancellation ends the wait.
func open(ctx context.Context, path string, index int, stdin io.Reader) (visor.Source, error) {
	if path != "-" {
		if st, err := os.Stat(path); err == nil && st.Mode()&(os.ModeNamedPipe|os.ModeCharDevice|os.ModeDevice|os.ModeSocket) != 0 {
			r, err := openInterruptible(ctx, path)
			if err != nil {
				return nil, err
			}
			return capture.OpenReader(path, r, index)
		}
	}
	return capture.Open(path, index, stdin)
}

// inputs are a run's opened sources: what Expand found, what it skipped,
// and the sources opened (all of them, or those opened before ctx ended).
type inputs struct {
	paths   []string
	skipped []capture.Skipped
	srcs    []visor.Source
	stdin   io.ReadCloser // the interruptible stdin, when "-" is an input
}

// openInputs expands cfg's inputs (saying on stderr what a directory run
// skips), makes stdin interruptible when it is one of them, and opens each
// input; a cancellation stops the opening without an error.
func openInputs(ctx context.Context, cfg *Config, stdin io.Reader, stderr io.Writer) (*inputs, error) {
	paths, skipped, err := capture.ExpandReport(cfg.Inputs)
	for _, s := range skipped {
		if s.Counted() {
			fmt.Fprintf(stderr, "visor: %v\n", s)
		}
	}
	if err != nil {
		return nil, &InputError{err}
	}
	in := &inputs{paths: paths, skipped: skipped}
	if slices.Contains(paths, "-") {
		// A read blocked on a pipe or terminal must still see a cancellation.
		if stdin == nil {
			stdin = os.Stdin
		}
		in.stdin = interruptible(ctx, stdin)
		stdin = in.stdin
	}
	for i, p := range paths {
		s, err := open(ctx, p, i, stdin)
		if err != nil {
			if ctx.Err() != nil {
				break // the cancellation came first: report what was read, i.e. nothing of this input
			}
			in.close()
			return nil, &InputError{err}
		}
		in.srcs = append(in.srcs, s)
	}
	return in, nil
}

func (in *inputs) close() {
	for _, s := range in.srcs {
		s.Close()
	}
	if in.stdin != nil {
		in.stdin.Close()
	}
}
