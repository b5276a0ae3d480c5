package engine

import (
	"context"
	"fmt"
	"io"

	"github.com/visor-dns/visor/capture"
	"github.com/visor-dns/visor/export"
)

// Export writes one record per DNS transaction of cfg's inputs to w in
// format (ndjson, csv or parquet; see package export). Inputs are opened,
// merged and decoded as Analyze does (export runs the same pipeline);
// cfg's DNS ports, host spec, name filters, --bpf and transaction timeout
// apply. A cancelled ctx ends the run with the rows of what was read,
// whole (interrupted reports it).
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
	opts := cfg.AnalyzerOptions()
	opts.Warn = func(s string) { fmt.Fprintln(stderr, s) }
	prog := newProgress(cfg.Progress, stderr, paths, srcs)
	opts.Progress = prog.update
	if ctx.Err() == nil {
		m, merr := capture.NewMerge(srcs)
		if merr == nil {
			stats, merr = export.Run(ctx, m, opts, fw)
		}
		prog.done()
		if merr != nil && ctx.Err() == nil {
			if export.IsWriteError(merr) {
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
	if err := fw.Close(); err != nil {
		return stats, false, &export.WriteError{Err: err}
	}
	return stats, ctx.Err() != nil, nil
}
