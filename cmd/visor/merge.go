package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"

	"github.com/spf13/cobra"

	"github.com/visor-dns/visor/engine"
	"github.com/visor-dns/visor/report"
)

// mergeOptions are merge's flags: what to write and how.
type mergeOptions struct {
	analysisOptions
}

func newMergeCommand(stdout, stderr io.Writer) *cobra.Command {
	opts := &mergeOptions{analysisOptions: analysisOptions{stderr: stderr}}
	cmd := &cobra.Command{
		Use:   "merge [flags] SUMMARY...",
		Short: "Merge summary files into one report or one summary",
		Long: "merge reads summary files (visor analyze --format summary) and merges them as if their\n" +
			"captures had been analysed together: counters add, sketches merge within their error,\n" +
			"transactions open at one file's end are joined with responses at another's start, and the\n" +
			"findings are judged again. The order and grouping of the files do not change the result.\n" +
			"Summaries whose bucket width or sketch parameters differ are refused; an input (by sha256)\n" +
			"seen twice is counted once, with a warning. docs/summaries.md describes the format.\n\n" + exitMessage,
		Example: "  visor merge ns1.vsum ns2.vsum --format json -o all.json\n  visor merge day/*.vsum --format summary -o day.vsum",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError("no summary: give summary files (visor analyze --format summary -o FILE)")
			}
			if err := opts.validate(args); err != nil {
				return err
			}
			if !cmd.Flags().Changed("top") {
				opts.top = 0 // the summaries' own
			}
			return runMerge(cmd.Context(), opts, args, stdout, stderr)
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&opts.top, "top", 10, "length of every top-N list (default: the summaries' own)")
	fs.StringVar(&opts.format, "format", "table", "output format: table, json, openmetrics, html, markdown or summary")
	fs.StringVarP(&opts.output, "output", "o", "", "write the result to FILE instead of stdout")
	fs.StringArrayVar(&opts.labels, "label", nil, "k=v label added to every OpenMetrics series (repeatable)")
	fs.StringVar(&opts.splitBy, "split-by", "", "also report each summary's inputs (input) or each label set (label) apart, beside the whole")
	fs.IntVar(&opts.topSeries, "top-series", 1000, "OpenMetrics: label values kept per family labelled from the traffic")
	fs.BoolVar(&opts.ascii, "ascii", false, "table: ASCII only")
	return cmd
}

func (o *mergeOptions) validate(args []string) error {
	switch o.format {
	case "table", "json", "openmetrics", "html", "markdown", "summary":
	default:
		return usageError("--format must be table, json, openmetrics, html, markdown or summary, not %q", o.format)
	}
	switch o.splitBy {
	case "", "input", "label":
	default:
		return usageError("--split-by must be input or label, not %q", o.splitBy)
	}
	if o.top < 1 {
		return usageError("--top must be at least 1, not %d", o.top)
	}
	if o.output != "" && o.output != "-" {
		if err := engine.CheckWritable(o.output); err != nil {
			return usageError("--output: %v", err)
		}
	}
	o.cfg = engine.Config{Inputs: args, Version: version, SplitBy: o.splitBy, Labels: o.labels}
	return nil
}

// mergeMemoryLimit replaces memoryLimit for merge, whose live state is
// one decoded bucket a part plus the merged one: under memoryLimit the
// collector ran all along (a quarter of a merge's CPU); with it, 100
// busy parts stay under 300 MB (docs/summaries.md).
const mergeMemoryLimit = 224 << 20

func runMerge(ctx context.Context, opts *mergeOptions, paths []string, stdout, stderr io.Writer) error {
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(mergeMemoryLimit))
	}
	s, warns, err := engine.ReadSummaries(paths)
	if err != nil {
		return &exitError{code: exitUsage, err: prefixed(err)}
	}
	defer s.Close()
	for _, w := range warns {
		fmt.Fprintf(stderr, "visor: %s\n", w)
	}
	if opts.top > 0 {
		s.Header.Params.Top = uint32(opts.top)
	}
	opts.top = int(s.Header.Params.Top)
	return writeSummaryResult(ctx, &opts.analysisOptions, s, stdout)
}

// runSummary is analyze --format summary: the run's summary to -o FILE
// (or stdout when it is not a terminal).
func runSummary(ctx context.Context, opts *analysisOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	s, err := engine.AnalyzeSummary(ctx, &opts.cfg, stdin, stderr)
	if err != nil {
		if in := interruptOf(ctx); in != nil {
			return &exitError{code: in.code(), err: fmt.Errorf("visor: %v: no summary", in)}
		}
		return &exitError{code: exitUsage, err: prefixed(err)}
	}
	defer s.Close()
	if err := writeSummaryResult(ctx, opts, s, stdout); err != nil {
		return err
	}
	return interruptResult(ctx)
}

// writeSummaryResult writes s as a summary (--format summary) or as the
// report in opts' format.
func writeSummaryResult(ctx context.Context, opts *analysisOptions, s *engine.Summary, stdout io.Writer) error {
	if opts.format == "summary" {
		if (opts.output == "" || opts.output == "-") && engine.IsTerminal(stdout) {
			return usageError("a summary is binary: give -o FILE (or redirect stdout)")
		}
		var err error
		if opts.output != "" && opts.output != "-" {
			err = engine.WriteFile(opts.output, s.Write)
		} else {
			err = s.Write(stdout)
		}
		if err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("visor: writing the summary: %w", err)}
		}
		return nil
	}
	rep, err := opts.cfg.SummaryReport(s)
	if err != nil {
		return &exitError{code: exitUsage, err: prefixed(err)}
	}
	defer rep.Close()
	return writeReport(ctx, opts, rep, stdout)
}

// writeTable writes the report's table, then, with --split-by, each
// part's under a line naming it.
func writeTable(w io.Writer, opts *analysisOptions, rep *report.Report) error {
	to := report.TableOptions{Top: opts.top, Width: report.TableWidth(w), ASCII: opts.ascii || !report.UTF8Locale()}
	if err := report.WriteTableWith(w, rep, to); err != nil {
		return err
	}
	for i := range rep.Parts {
		p := &rep.Parts[i]
		if _, err := fmt.Fprintf(w, "\n== %s %s ==\n\n", p.By, p.Key); err != nil {
			return err
		}
		if err := report.WriteTableWith(w, report.PartReport(rep, p), to); err != nil {
			return err
		}
	}
	return nil
}

// writeOpenMetricsParts writes the OpenMetrics file: with --split-by, the
// whole's series and each part's, labelled input="PATH" or with the
// part's labels, in one file (one family at a time, as OpenMetrics wants).
func writeOpenMetricsParts(w io.Writer, opts *analysisOptions, rep *report.Report) error {
	if len(rep.Parts) == 0 {
		return writeOpenMetrics(w, opts, rep)
	}
	labels, err := report.ParseLabels(opts.labels)
	if err != nil {
		return usageError("--label: %v", err)
	}
	fams, err := report.Families(rep, labels, opts.top)
	if err != nil {
		return err
	}
	at := map[string]int{}
	for i, f := range fams {
		at[f.Name] = i
	}
	for i := range rep.Parts {
		p := &rep.Parts[i]
		extra := slices.Clone(labels)
		if p.By == "label" {
			for k, v := range p.Labels {
				if !slices.ContainsFunc(extra, func(l report.Label) bool { return l.Name == k }) {
					extra = append(extra, report.Label{Name: k, Value: v})
				}
			}
		} else {
			extra = append(extra, report.Label{Name: "input", Value: p.Key})
		}
		pf, err := report.Families(report.PartReport(rep, p), extra, opts.top)
		if err != nil {
			return err
		}
		for _, f := range pf {
			j, ok := at[f.Name]
			if !ok {
				at[f.Name] = len(fams)
				fams = append(fams, f)
				continue
			}
			fams[j].Series = append(fams[j].Series, f.Series...)
		}
	}
	return report.WriteOpenMetrics(w, fams)
}

// liveSummary refuses what live does not do yet: split its report.
func liveSummary(opts *analysisOptions) error {
	if opts.splitBy != "" {
		return usageError("--split-by applies to file inputs, not live")
	}
	return nil
}
