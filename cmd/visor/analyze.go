package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/visor-dns/visor/engine"
	"github.com/visor-dns/visor/report"
)

func newAnalyzeCommand(stdout, stderr io.Writer) *cobra.Command {
	opts := &analysisOptions{stderr: stderr}
	cmd := &cobra.Command{
		Use:   "analyze [flags] INPUT...",
		Short: "Analyse captures in one pass and print a report",
		Long: "analyze reads every INPUT (a capture file, a directory of captures, or - for stdin),\n" +
			"merges their packets in capture-time order and reports on them.\n\n" + exitMessage,
		Example: "  visor analyze attack.pcap --top 20\n  visor analyze --format json -o report.json captures/",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.validate(args); err != nil {
				return err
			}
			return runAnalyze(cmd.Context(), opts, cmd.InOrStdin(), stdout, stderr)
		},
	}
	opts.addFlags(cmd.Flags())
	opts.addCarveFlag(cmd.Flags())
	opts.addRSSACFlags(cmd.Flags())
	return cmd
}

// analyse runs the engine on the checked options; its errors become exit
// statuses here.
func analyse(ctx context.Context, opts *analysisOptions, stdin io.Reader, stderr io.Writer) (*report.Report, error) {
	defer useCPUs(opts)() // check and replay come here too
	rep, err := engine.Analyze(ctx, &opts.cfg, stdin, stderr)
	if err != nil {
		if in := interruptOf(ctx); in != nil {
			return nil, &exitError{code: in.code(), err: fmt.Errorf("visor: %v: no report", in)}
		}
		return nil, &exitError{code: exitUsage, err: prefixed(err)}
	}
	return rep, nil
}

// prefixed is a library error as the CLI prints it (libraries name no
// program).
func prefixed(err error) error { return fmt.Errorf("visor: %w", err) }

// interruptResult is the error of a file run a signal stopped after its
// report (if any) was written: never a success, whatever the report says.
func interruptResult(ctx context.Context) error {
	in := interruptOf(ctx)
	if in == nil {
		return nil
	}
	return &exitError{code: in.code(), err: fmt.Errorf("visor: %v: the report covers only the packets read before it (integrity.interrupted)", in)}
}

// useCPUs makes -j N the number of CPUs visor keeps busy, as make -j and
// xz -T mean it: at most N goroutines run at once, and the engine derives
// its shards and concurrent runs from that (0: all CPUs). The returned
// function restores the previous setting (tests run many commands).
func useCPUs(opts *analysisOptions) (restore func()) {
	if opts.jobs <= 0 {
		return func() {}
	}
	prev := runtime.GOMAXPROCS(opts.jobs)
	return func() { runtime.GOMAXPROCS(prev) }
}

func runAnalyze(ctx context.Context, opts *analysisOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	defer useCPUs(opts)()
	if opts.format == "summary" {
		return runSummary(ctx, opts, stdin, stdout, stderr) // merge.go
	}
	rep, err := analyse(ctx, opts, stdin, stderr)
	if err != nil {
		return err
	}
	defer rep.Close() // its spilled buckets
	var carveErr error
	if opts.carveDir != "" && interruptOf(ctx) == nil {
		// A failed carve still leaves the report, then fails the run.
		if err := engine.Carve(ctx, &opts.cfg, rep, stderr); err != nil && interruptOf(ctx) == nil {
			carveErr = &exitError{code: exitUsage, err: fmt.Errorf("visor: --carve: %w", err)}
		}
	}
	if err := writeReport(ctx, opts, rep, stdout); err != nil {
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
func writeReport(ctx context.Context, opts *analysisOptions, rep *report.Report, stdout io.Writer) error {
	if opts.format == "rssac002" {
		return writeRSSAC(opts, rep, opts.stderr)
	}
	write := func(w io.Writer) error {
		switch opts.format {
		case "json":
			return report.WriteJSON(w, rep)
		case "openmetrics":
			return writeOpenMetricsParts(w, opts, rep) // merge.go
		case "html":
			return report.WriteHTML(w, rep, postMortemOptions(ctx, opts))
		case "markdown":
			return report.WriteMarkdown(w, rep, postMortemOptions(ctx, opts))
		}
		return writeTable(w, opts, rep) // merge.go: the whole, then each --split-by part
	}
	var err error
	if opts.output != "" && opts.output != "-" {
		err = engine.WriteFile(opts.output, write)
	} else {
		err = write(stdout)
	}
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("visor: writing the report: %w", err)}
	}
	return nil
}

// strictResult fails the run under --strict when integrity counts a
// problem with the input; what is normal at a capture's edges (queries
// still open at its end) does not fail it.
func strictResult(opts *analysisOptions, rep *report.Report) error {
	if !opts.strict {
		return nil
	}
	problems := report.IntegrityProblems(rep.Integrity)
	if len(problems) == 0 {
		return nil
	}
	words := make([]string, len(problems))
	for i, k := range problems {
		words[i] = report.DescribeIntegrity(k, rep.Integrity[k])
	}
	return &exitError{code: exitFailed, err: fmt.Errorf("visor: --strict: the input was not fully analysed: %s", strings.Join(words, "; "))}
}

// postMortemOptions are the HTML and Markdown reports' options: the top
// length and the command line as typed.
func postMortemOptions(ctx context.Context, opts *analysisOptions) report.PostMortemOptions {
	o := report.PostMortemOptions{Top: opts.top}
	if args, ok := ctx.Value(argsKey{}).([]string); ok {
		o.Command = append([]string{"visor"}, args...)
	}
	return o
}

// argsKey holds, in the command's context, the arguments run was given.
type argsKey struct{}
