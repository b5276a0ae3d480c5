package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/visor-dns/visor/engine"
)

// diffOptions are diff's flags: the analysis flags that shape a capture's
// report, and the diff's own format.
type diffOptions struct {
	analysisOptions
	diffFormat string
}

func newDiffCommand(stdout, stderr io.Writer) *cobra.Command {
	opts := &diffOptions{analysisOptions: analysisOptions{stderr: stderr}}
	cmd := &cobra.Command{
		Use:   "diff [flags] BEFORE AFTER",
		Short: "Compare two runs: captures, summaries or JSON reports",
		Long: "diff compares BEFORE with AFTER, each a capture (or a directory of captures, analysed\n" +
			"with the flags below), a summary file (.vsum) or a JSON report: counters with deltas,\n" +
			"ratios and rates; rcode and qtype shares; cardinality and quantile estimates, changed\n" +
			"only beyond the sketches' error; the names, zones and clients of the top lists that\n" +
			"appeared, vanished or changed beyond their error bounds; findings on one side only.\n" +
			"Details and the JSON schema: docs/diff.md.\n\n" + exitMessage,
		Example: "  visor diff before.pcap after.pcap\n" +
			"  visor diff --format markdown -o diff.md monday.vsum tuesday.vsum\n" +
			"  visor diff --format json known-good.json canary.pcapng",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError("diff takes two inputs, BEFORE and AFTER, not %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.validate(args); err != nil {
				return err
			}
			return runDiff(cmd.Context(), opts, args, cmd.InOrStdin(), stdout, stderr)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.diffFormat, "format", "table", "output format: table, json or markdown")
	fs.StringVarP(&opts.output, "output", "o", "", "write the diff to FILE instead of stdout")
	fs.IntVar(&opts.top, "top", 10, "length of every top-N list of the captures analysed, and of each list of changes")
	fs.DurationVar(&opts.bucket, "bucket", time.Minute, "width of a time bucket, in capture time (whole seconds)")
	fs.StringSliceVar(&opts.hostSpec, "host-spec", nil, "CIDR[,CIDR...] of the observed host(s): packets to them are in, from them out")
	fs.StringSliceVar(&opts.dnsPorts, "dns-port", []string{"53", "5353", "5355"}, "ports carrying DNS")
	fs.StringVar(&opts.bpf, "bpf", "", "pcap-filter expression applied to every packet")
	fs.StringSliceVar(&opts.suffixes, "qname-suffix", nil, "analyse only DNS messages whose name ends in one of these suffixes")
	fs.StringVar(&opts.qnameRegex, "qname-regex", "", "analyse only DNS messages whose name matches this RE2 expression (lowercase, no trailing dot)")
	fs.StringVar(&opts.qnameExclude, "qname-exclude", "", "leave out DNS messages whose name matches this RE2 expression")
	fs.DurationVar(&opts.timeout, "xact-timeout", 5*time.Second, "a query unanswered this long (capture time) has timed out")
	fs.DurationVar(&opts.slow, "slow", 500*time.Millisecond, "a transaction at least this slow enters the slow list")
	fs.StringArrayVar(&opts.thresholdArgs, "threshold", nil, "NAME=VALUE overrides a findings threshold (repeatable; names in docs/findings.md)")
	fs.StringVar(&opts.progress, "progress", "auto", "progress on stderr: auto (when stderr is a terminal), always or never")
	opts.addAnonymizeFlags(fs) // of the sides that are captures
	fs.BoolVar(&opts.ascii, "ascii", false, "table: ASCII only (x, -> and <= for ×, → and ≤); the default when the locale is not UTF-8")
	return cmd
}

func (o *diffOptions) validate(args []string) error {
	switch o.diffFormat {
	case "table", "json", "markdown":
	default:
		return usageError("--format must be table, json or markdown, not %q", o.diffFormat)
	}
	if args[0] == "-" && args[1] == "-" {
		return usageError("diff reads at most one side from stdin (-)")
	}
	// The analysis settings diff does not take keep their defaults.
	o.format, o.topSeries = "table", 1000
	return o.analysisOptions.validate(args)
}

func runDiff(ctx context.Context, opts *diffOptions, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o := engine.DiffOptions{Top: opts.top, Version: version, Format: opts.diffFormat, ASCII: opts.ascii}
	d, err := engine.Diff(ctx, &opts.cfg, args[0], args[1], stdin, stderr, o)
	if err != nil {
		if in := interruptOf(ctx); in != nil {
			return &exitError{code: in.code(), err: fmt.Errorf("visor: %v: no diff", in)}
		}
		return &exitError{code: exitUsage, err: prefixed(err)}
	}
	write := func(w io.Writer) error { return engine.WriteDiff(w, d, o) }
	if opts.output != "" && opts.output != "-" {
		err = engine.WriteFile(opts.output, write)
	} else {
		err = write(stdout)
	}
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("visor: writing the diff: %w", err)}
	}
	return interruptResult(ctx)
}
