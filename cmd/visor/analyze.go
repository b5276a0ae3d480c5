package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/analyzers"
	"github.com/visor-dns/visor/capture"
	"github.com/visor-dns/visor/internal/outfile"
	"github.com/visor-dns/visor/report"
)

func newAnalyzeCommand(stdout, stderr io.Writer) *cobra.Command {
	opts := &analysisOptions{}
	cmd := &cobra.Command{
		Use:   "analyze [flags] INPUT...",
		Short: "Analyse captures in one pass and print a report",
		Long: "analyze reads every INPUT (a capture file, a directory of captures, or - for stdin),\n" +
			"merges their packets in capture-time order and reports on them.\n\n" + exitMessage,
		Example: "  visor analyze attack.pcap --top 20\n  visor analyze --format json -o report.json captures/",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.check(args); err != nil {
				return err
			}
			return runAnalyze(cmd.Context(), opts, cmd.InOrStdin(), stdout, stderr)
		},
	}
	opts.addFlags(cmd.Flags())
	opts.addCarveFlag(cmd.Flags())
	return cmd
}

// analyse runs the shared core: open, merge, observe, report.
func analyse(ctx context.Context, opts *analysisOptions, stdin io.Reader, stderr io.Writer) (*report.Report, error) {
	paths, err := capture.Expand(opts.inputs)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	for _, p := range paths {
		if p == "-" {
			// A read blocked on a pipe or terminal must still see a signal.
			if stdin == nil {
				stdin = os.Stdin
			}
			stdin = interruptible(ctx, stdin)
			break
		}
	}
	var srcs []visor.Source
	closeAll := func() {
		for _, s := range srcs {
			s.Close()
		}
	}
	for i, p := range paths {
		s, err := capture.Open(p, i, stdin)
		if err != nil {
			if interruptOf(ctx) != nil {
				break // the signal came first: report what was read, i.e. nothing of this input
			}
			closeAll()
			return nil, &exitError{code: exitUsage, err: err}
		}
		srcs = append(srcs, s)
	}
	defer closeAll()
	aopts := opts.analyzerOptions()
	aopts.Warn = func(s string) { fmt.Fprintln(stderr, s) }
	prog := newProgress(opts.progress, stderr, paths, srcs)
	aopts.Progress = prog.update
	a := analyzers.New(aopts)
	var warnings []*capture.Error
	if interruptOf(ctx) == nil {
		m, err := capture.NewMerge(srcs)
		if err != nil && interruptOf(ctx) == nil {
			return nil, &exitError{code: exitUsage, err: err}
		}
		if err == nil {
			runErr := a.Run(ctx, m)
			if runErr != nil && interruptOf(ctx) == nil && !errors.Is(runErr, context.Canceled) {
				return nil, &exitError{code: exitUsage, err: runErr}
			}
			warnings = m.Warnings
		}
	}
	inputDone(ctx)
	prog.done()
	stopped := interruptOf(ctx)
	rep := a.Finish()
	rep.Tool = report.Tool{Name: "visor", Version: version}
	for _, s := range srcs {
		in := s.Info()
		rep.Inputs = append(rep.Inputs, inputReport(in))
		for reason, n := range in.Skipped {
			rep.Integrity[reason] += n
		}
	}
	for _, w := range warnings {
		if stopped != nil && errors.Is(w, context.Cause(ctx)) {
			continue // the signal ended this read, not the input
		}
		fmt.Fprintf(stderr, "%v; the report covers the packets before it\n", w)
		rep.Integrity[w.Reason()]++
	}
	if stopped != nil {
		rep.Integrity["interrupted"] = 1
	}
	return rep, nil
}

// interruptResult is the error of a file run a signal stopped after its
// report (if any) was written: never a success, whatever the report says.
func interruptResult(ctx context.Context) error {
	in := interruptOf(ctx)
	if in == nil {
		return nil
	}
	return &exitError{code: in.code(), err: fmt.Errorf("visor: %v: the report covers only the packets read before it (integrity.interrupted)", in)}
}

func inputReport(in *visor.InputInfo) report.Input {
	r := report.Input{Path: in.Path, Format: in.Format, SHA256: in.SHA256, Packets: in.Packets,
		Bytes: in.Bytes, LinkTypes: in.LinkTypes, Identity: in.Identity, Version: in.Version}
	if in.Packets > 0 {
		r.FirstTS, r.LastTS = report.Time(in.FirstTS), report.Time(in.LastTS)
	}
	return r
}

func runAnalyze(ctx context.Context, opts *analysisOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	rep, err := analyse(ctx, opts, stdin, stderr)
	if err != nil {
		return err
	}
	var carveErr error
	if opts.carveDir != "" && interruptOf(ctx) == nil {
		// A failed carve still leaves the report, then fails the run.
		if carveErr = carve(ctx, opts, rep, stderr); interruptOf(ctx) != nil {
			carveErr = nil
		}
	}
	if err := writeReport(opts, rep, stdout); err != nil {
		return errors.Join(carveErr, err)
	}
	if carveErr != nil {
		return carveErr
	}
	if err := interruptResult(ctx); err != nil {
		return err
	}
	return strictResult(opts, rep)
}

// writeReport renders rep in the chosen format to -o FILE (atomically) or
// stdout.
func writeReport(opts *analysisOptions, rep *report.Report, stdout io.Writer) error {
	write := func(w io.Writer) error {
		switch opts.format {
		case "json":
			return report.WriteJSON(w, rep)
		case "openmetrics":
			return writeOpenMetrics(w, opts, rep)
		}
		return report.WriteTable(w, rep, opts.top)
	}
	var err error
	if opts.output != "" && opts.output != "-" {
		err = outfile.Write(opts.output, func(f *os.File) error { return write(f) })
	} else {
		err = write(stdout)
	}
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("visor: writing the report: %w", err)}
	}
	return nil
}

// strictResult fails the run under --strict when integrity counts anything.
func strictResult(opts *analysisOptions, rep *report.Report) error {
	if !opts.strict || len(rep.Integrity) == 0 {
		return nil
	}
	return &exitError{code: exitFailed, err: fmt.Errorf("visor: --strict: integrity counts %d kind(s) of problem: %v", len(rep.Integrity), rep.Integrity)}
}
