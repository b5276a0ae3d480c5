package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/visor-dns/visor/analyzers/findings"
	"github.com/visor-dns/visor/capture"
	"github.com/visor-dns/visor/export"
	"github.com/visor-dns/visor/internal/outfile"
)

// ExportOptions are what `visor export` adds to an analysis' Config.
type ExportOptions struct {
	Format string // ndjson, csv or parquet
	// Findings fills the findings column: the inputs are analysed first
	// (a second pass; not with stdin), and each row names the findings
	// whose carving selection takes its query or response.
	Findings bool
	// RowsPerFile, when positive, writes Dir/records-00001.FORMAT and on,
	// each with at most that many rows, instead of one stream.
	RowsPerFile int64
	Dir         string
}

// Export writes one record per DNS transaction of cfg's inputs to w in
// format (ndjson, csv or parquet; see package export). Inputs are opened,
// merged and decoded as Analyze does (export runs the same pipeline);
// cfg's DNS ports, host spec, name filters, --bpf, --anonymize and
// transaction timeout apply. A cancelled ctx ends the run with the rows of
// what was read, whole (interrupted reports it).
func Export(ctx context.Context, cfg *Config, format string, w io.Writer, stdin io.Reader, stderr io.Writer) (stats export.Stats, interrupted bool, err error) {
	return ExportWith(ctx, cfg, ExportOptions{Format: format}, w, stdin, stderr)
}

// ErrFindingsStdin is refused: findings need a first pass over the inputs.
var ErrFindingsStdin = errors.New("findings need the inputs read twice: not with stdin")

// ExportWith is Export with xo's options; w is unused with RowsPerFile.
func ExportWith(ctx context.Context, cfg *Config, xo ExportOptions, w io.Writer, stdin io.Reader, stderr io.Writer) (stats export.Stats, interrupted bool, err error) {
	if !cfg.valid {
		if err := cfg.Validate(); err != nil {
			return stats, false, err
		}
	}
	var fds []export.Finding
	if xo.Findings {
		if fds, err = exportFindings(ctx, cfg, stderr); err != nil || ctx.Err() != nil {
			return stats, ctx.Err() != nil, err
		}
	}
	in, err := openInputs(ctx, cfg, stdin, stderr)
	if err != nil {
		return stats, false, err
	}
	defer in.close()
	paths, srcs := in.paths, in.srcs
	for _, s := range srcs { // the records name inputs by path, never by hash
		if h, ok := s.(interface{ SkipHash() }); ok {
			h.SkipHash()
		}
	}
	var fw export.Writer
	if xo.RowsPerFile > 0 {
		fw, err = export.NewRotating(xo.Format, paths, xo.RowsPerFile, func(n int) (export.Part, error) {
			f, err := outfile.Create(filepath.Join(xo.Dir, fmt.Sprintf("records-%05d.%s", n, xo.Format)))
			if err != nil {
				return nil, err
			}
			return part{f}, nil
		})
		if err == nil {
			err = os.MkdirAll(xo.Dir, 0o755)
		}
	} else {
		fw, err = export.NewWriter(xo.Format, w, paths)
	}
	if err != nil {
		return stats, false, err
	}
	abort := func() {
		if a, ok := fw.(interface{ Abort() }); ok {
			a.Abort()
		}
	}
	opts := cfg.AnalyzerOptions()
	opts.Warn = func(s string) { fmt.Fprintln(stderr, s) }
	prog := newProgress(cfg.Progress, stderr, paths, srcs)
	opts.Progress = prog.update
	if ctx.Err() == nil {
		m, merr := capture.NewMerge(srcs)
		if merr == nil {
			stats, merr = export.Run(ctx, m, opts, fw, fds)
		}
		prog.done()
		if merr != nil && ctx.Err() == nil {
			abort()
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
		abort()
		return stats, false, &export.WriteError{Err: err}
	}
	return stats, ctx.Err() != nil, nil
}

// part is a rotated export's file: whole at its path once closed.
type part struct{ *outfile.File }

func (p part) Close() error { return p.Commit() }

// exportFindings analyses cfg's inputs for their findings, named as
// --carve names their files.
func exportFindings(ctx context.Context, cfg *Config, stderr io.Writer) ([]export.Finding, error) {
	for _, p := range cfg.Inputs {
		if p == "-" {
			return nil, ErrFindingsStdin
		}
	}
	rep, err := Analyze(ctx, cfg, nil, io.Discard)
	if err != nil {
		return nil, err
	}
	defer rep.Close()
	var out []export.Finding
	for i, f := range rep.Findings {
		sel, err := findings.SelectorOf(f)
		if err != nil {
			fmt.Fprintf(stderr, "visor: finding %d (%s) names no rows: %v\n", i+1, f.Kind, err)
			continue
		}
		out = append(out, export.Finding{ID: fmt.Sprintf("%02d-%s", i+1, f.Kind), From: sel.From, To: sel.To, Match: sel.Match})
	}
	return out, nil
}

// ExportFormats are visor export's record formats.
var ExportFormats = export.Formats
