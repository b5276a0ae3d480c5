package engine

import (
	"context"
	"fmt"
	"io"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/analyzers"
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
	in, err := openInputs(ctx, cfg, stdin, stderr)
	if err != nil {
		return stats, false, err
	}
	defer in.close()
	paths, srcs := in.paths, in.srcs
	fw, err := export.NewWriter(format, w, paths)
	if err != nil {
		return stats, false, err
	}
	rw := export.Async(fw)
	opts := cfg.AnalyzerOptions()
	x := export.New(rw, export.Options{DNSPorts: opts.DNSPorts, HostSpec: opts.HostSpec,
		QNameSuffixes: suffixes(opts.QNameSuffixes), QNameRegex: opts.QNameInclude, QNameExclude: opts.QNameExclude,
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

// suffixes are --qname-suffix values as names are compared.
func suffixes(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = analyzers.NormalizeSuffix(s)
	}
	return out
}
