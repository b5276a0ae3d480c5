package engine

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/capture"
	"github.com/visor-dns/visor/export"
)

// Export writes one record per DNS transaction of cfg's inputs to w in
// format (ndjson, csv or parquet; see package export). Inputs are opened
// and merged as Analyze does; cfg's DNS ports, host spec, name suffixes,
// filter and transaction timeout apply. A cancelled ctx ends the run with
// the rows of what was read, whole (interrupted reports it).
func Export(ctx context.Context, cfg *Config, format string, w io.Writer, stdin io.Reader, stderr io.Writer) (stats export.Stats, interrupted bool, err error) {
	if !cfg.valid {
		if err := cfg.Validate(); err != nil {
			return stats, false, err
		}
	}
	paths, skipped, err := capture.ExpandReport(cfg.Inputs)
	for _, s := range skipped {
		if s.Counted() {
			fmt.Fprintf(stderr, "visor: %v\n", s)
		}
	}
	if err != nil {
		return stats, false, &InputError{err}
	}
	for _, p := range paths {
		if p == "-" {
			if stdin == nil {
				stdin = os.Stdin
			}
			in := interruptible(ctx, stdin)
			defer in.Close()
			stdin = in
			break
		}
	}
	var srcs []visor.Source
	defer func() {
		for _, s := range srcs {
			s.Close()
		}
	}()
	for i, p := range paths {
		s, err := open(ctx, p, i, stdin)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return stats, false, &InputError{err}
		}
		srcs = append(srcs, s)
	}
	fw, err := export.NewWriter(format, w, paths)
	if err != nil {
		return stats, false, err
	}
	rw := export.Async(fw)
	opts := cfg.AnalyzerOptions()
	x := export.New(rw, export.Options{DNSPorts: opts.DNSPorts, HostSpec: opts.HostSpec,
		QNameSuffixes: normalizeSuffixes(opts.QNameSuffixes), QNameRegex: opts.QNameInclude, QNameExclude: opts.QNameExclude,
		Filter: opts.Filter, XactTimeout: opts.XactTimeout})
	prog := newProgress(cfg.Progress, stderr, paths, srcs)
	if ctx.Err() == nil {
		m, merr := capture.NewMerge(srcs)
		if merr == nil {
			merr = exportAll(ctx, m, x, prog)
		}
		if merr != nil && ctx.Err() == nil {
			prog.done()
			rw.Close() // stops its goroutine; the file is abandoned
			if _, ok := merr.(*writeError); ok {
				return stats, false, merr
			}
			return stats, false, &InputError{merr}
		}
		if merr == nil {
			for _, w := range m.Warnings {
				fmt.Fprintf(stderr, "visor: %v; the records cover the packets before it\n", w)
			}
		}
	}
	readDone(ctx)
	prog.done()
	stats, err = x.Close()
	if err == nil {
		err = rw.Close()
	}
	if err != nil {
		return stats, false, &writeError{err}
	}
	return stats, ctx.Err() != nil, nil
}

// writeError is a failure to write the records, not to read the inputs.
type writeError struct{ err error }

func (e *writeError) Error() string { return "writing the records: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

func exportAll(ctx context.Context, r *capture.Merge, x *export.Exporter, prog *progress) error {
	var p visor.Packet
	for n := uint64(0); ; n++ {
		if n&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if n > 0 {
				prog.update(n)
			}
		}
		err := r.Next(&p)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := x.Observe(&p); err != nil {
			return &writeError{err}
		}
	}
}

// normalizeSuffixes writes --qname-suffix values as names are compared:
// lowercase, without leading or trailing dots.
func normalizeSuffixes(in []string) []string {
	var out []string
	for _, s := range in {
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
		out = append(out, string(b))
	}
	return out
}
