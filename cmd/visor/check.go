package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/visor-dns/visor/assert"
	"github.com/visor-dns/visor/engine"
	"github.com/visor-dns/visor/report"
)

// checkOptions are check's flags on top of the shared analysis flags.
type checkOptions struct {
	analysisOptions
	asserts   []string
	rulesFile string
	perBucket bool
	junit     string
	baseline  string
}

func (o *checkOptions) addFlags(cmd *cobra.Command) {
	o.analysisOptions.addFlags(cmd.Flags())
	fs := cmd.Flags()
	fs.StringArrayVar(&o.asserts, "assert", nil, "EXPR that must be true (repeatable), e.g. 'dns.rcodes.SERVFAIL / dns.responses < 0.01'")
	fs.StringVar(&o.rulesFile, "rules", "", "YAML file of assertions: a list of {name, expr, description, per_bucket}")
	fs.BoolVar(&o.perBucket, "per-bucket", false, "every --assert must hold in every bucket, not only over the whole run")
	fs.StringVar(&o.junit, "junit", "", "also write the results as JUnit XML to FILE")
	fs.StringVar(&o.baseline, "baseline", "", "a known-good run (summary, JSON report or capture) whose values expressions read as baseline.*")
	// For check, --format and -o describe the result, not the report.
	fs.Lookup("format").Usage = "result format: table (a PASS/FAIL list), json, html or markdown (the report, the results after its findings)"
	fs.Lookup("output").Usage = "write the result to FILE instead of stdout"
}

// validate validates the flags and loads the assertions, before any input is read.
func (o *checkOptions) validate(args []string) ([]assert.Assertion, error) {
	switch o.format {
	case "table", "json", "html", "markdown":
	default:
		return nil, usageError("check writes --format table, json, html or markdown, not %q", o.format)
	}
	if err := o.analysisOptions.validate(args); err != nil {
		return nil, err
	}
	if o.baseline == "-" {
		return nil, usageError("--baseline needs a file name, not -")
	}
	if o.junit == "-" {
		return nil, usageError("--junit needs a file name, not -")
	}
	if o.junit != "" {
		if err := engine.CheckWritable(o.junit); err != nil {
			return nil, usageError("--junit: %v", err)
		}
	}
	var as []assert.Assertion
	for _, e := range o.asserts {
		as = append(as, assert.Assertion{Name: e, Expr: e, PerBucket: o.perBucket})
	}
	if o.rulesFile != "" {
		rules, err := assert.LoadRules(o.rulesFile)
		if err != nil {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("visor: %w", err)}
		}
		as = append(as, rules...)
	}
	if len(as) == 0 {
		return nil, usageError("check needs at least one --assert EXPR or --rules FILE")
	}
	return as, nil
}

func newCheckCommand(stdout, stderr io.Writer) *cobra.Command {
	opts := &checkOptions{analysisOptions: analysisOptions{stderr: stderr}}
	cmd := &cobra.Command{
		Use:   "check [flags] INPUT...",
		Short: "Analyse captures, then check assertions on the report (for CI)",
		Long: "check analyses every INPUT as analyze does, then evaluates each assertion: an expression\n" +
			"(github.com/expr-lang/expr) over the report's fields by their JSON path under summary\n" +
			"(net..., dns...), plus findings, integrity, inputs and bucket_seconds. Numbers are\n" +
			"float64; x/0 is +Inf and 0/0 is NaN, which makes every comparison false. An rcode,\n" +
			"qtype or integrity reason the report does not list counts 0; any other unknown field\n" +
			"is a usage error. With --per-bucket (or per_bucket: true in a rules file) the\n" +
			"assertion must hold in every bucket; findings are then those overlapping the bucket.\n" +
			"With --baseline FILE (a summary, a JSON report or captures) the same names under\n" +
			"baseline. are the baseline's whole run: dns.rcodes.SERVFAIL <= 2 * baseline.dns.rcodes.SERVFAIL.\n\n" +
			"EXIT STATUS\n  0  every assertion held\n  1  an assertion failed (or --strict found an integrity problem)\n" +
			"  2  bad usage, an unknown field, or unreadable input\n",
		Example: "  visor check resolver.pcap --assert 'dns.rcodes.SERVFAIL / dns.responses < 0.01'\n" +
			"  visor check --bucket 10s --per-bucket --assert 'dns.xacts.out.latency_us.p99 < 250000' caps/\n" +
			"  visor check --rules dns-gate.yaml --junit visor-junit.xml capture.pcapng\n" +
			"  visor check --baseline known-good.vsum --assert 'dns.rcodes.SERVFAIL <= 2 * baseline.dns.rcodes.SERVFAIL + 10' canary.pcap",
		RunE: func(cmd *cobra.Command, args []string) error {
			as, err := opts.validate(args)
			if err != nil {
				return err
			}
			return runCheck(cmd.Context(), opts, as, cmd.InOrStdin(), stdout, stderr)
		},
	}
	opts.addFlags(cmd)
	return cmd
}

func runCheck(ctx context.Context, opts *checkOptions, as []assert.Assertion, stdin io.Reader, stdout, stderr io.Writer) error {
	var base *report.Report
	if opts.baseline != "" {
		// First: a wrong baseline must not cost a long analysis.
		l, err := engine.Load(ctx, &opts.cfg, opts.baseline, stdin, stderr)
		if err != nil {
			if in := interruptOf(ctx); in != nil {
				return &exitError{code: in.code(), err: fmt.Errorf("visor: %v: no result", in)}
			}
			return &exitError{code: exitUsage, err: fmt.Errorf("visor: --baseline: %w", err)}
		}
		base = l.Report
		defer base.Close()
	}
	rep, err := analyse(ctx, &opts.analysisOptions, stdin, stderr)
	if err != nil {
		return err
	}
	defer rep.Close() // its spilled buckets
	env, err := assert.NewEnv(rep)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("visor: %w", err)}
	}
	if base != nil {
		if err := env.SetBaseline(base); err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("visor: --baseline: %w", err)}
		}
	}
	rs, err := assert.Run(env, as)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("visor: %w", err)}
	}
	for _, in := range rep.Inputs {
		rs.Inputs = append(rs.Inputs, in.Path)
	}
	rs.Interrupted = interruptOf(ctx) != nil
	write := assert.WriteText
	switch opts.format {
	case "json":
		write = assert.WriteJSON
	case "html", "markdown":
		o := postMortemOptions(ctx, &opts.analysisOptions)
		o.Checks = checkLines(rs)
		page := report.WriteHTML
		if opts.format == "markdown" {
			page = report.WriteMarkdown
		}
		write = func(w io.Writer, _ *assert.Results) error { return page(w, rep, o) }
	}
	if err := writeFile(opts.output, stdout, rs, write); err != nil {
		return err
	}
	if opts.junit != "" {
		if err := writeFile(opts.junit, nil, rs, assert.WriteJUnit); err != nil {
			return err
		}
	}
	if err := interruptResult(ctx); err != nil {
		return err // a partial input never passes
	}
	if !rs.Passed() {
		_, failed := rs.Counts()
		return &exitError{code: exitFailed, err: fmt.Errorf("visor: check: %d of %d assertions failed", failed, len(rs.Assertions))}
	}
	return strictResult(&opts.analysisOptions, rep)
}

// checkLines are the results as the HTML and Markdown reports list them.
func checkLines(rs *assert.Results) []report.CheckLine {
	out := make([]report.CheckLine, 0, len(rs.Assertions))
	for _, r := range rs.Assertions {
		l := report.CheckLine{Name: r.Name, Expr: r.Expr, Passed: r.Passed}
		switch {
		case !r.PerBucket:
			l.Detail = assert.FormatValues(r.Values)
		case len(r.Failing) == 0:
			l.Detail = fmt.Sprintf("per bucket: true in all %d", r.Buckets)
		default:
			f := r.Failing[0]
			l.Detail = fmt.Sprintf("per bucket: false in %d of %d, first %s–%s (%s)", len(r.Failing), r.Buckets, f.Start, f.End, assert.FormatValues(f.Values))
		}
		if !r.Passed && r.Description != "" {
			l.Detail += "; " + r.Description
		}
		out = append(out, l)
	}
	return out
}

// writeFile renders rs to path, or to stdout when path is "" or "-".
func writeFile(path string, stdout io.Writer, rs *assert.Results, write func(io.Writer, *assert.Results) error) error {
	if path == "" || path == "-" {
		if err := write(stdout, rs); err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("visor: writing the result: %w", err)}
		}
		return nil
	}
	if err := engine.WriteFile(path, func(w io.Writer) error { return write(w, rs) }); err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("visor: writing the result: %w", err)}
	}
	return nil
}
