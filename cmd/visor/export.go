package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/visor-dns/visor/engine"
)

// exportOptions are export's flags: the analysis flags that select DNS
// messages, and the record format.
type exportOptions struct {
	analysisOptions
	recordFormat string
	findings     bool
	rowsPerFile  int64
}

func newExportCommand(stdout, stderr io.Writer) *cobra.Command {
	opts := &exportOptions{analysisOptions: analysisOptions{stderr: stderr}}
	cmd := &cobra.Command{
		Use:   "export [flags] INPUT...",
		Short: "Write one record per DNS transaction (Parquet, CSV, NDJSON) for SQL engines",
		Long: "export reads every INPUT as analyze does and writes one row per DNS transaction: a query and\n" +
			"its response joined, or a query never answered, or a response whose query was not seen,\n" +
			"with the other half null. Columns and recipes for DuckDB, ClickHouse, Spark and Trino:\n" +
			"docs/export.md.\n\n" + exitMessage,
		Example: "  visor export -o lab.parquet lab.pcap\n  visor export --format csv -o - captures/ | head",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.validate(args); err != nil {
				return err
			}
			return runExport(cmd.Context(), opts, cmd.InOrStdin(), stdout, stderr)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.recordFormat, "format", "parquet", "record format: "+strings.Join(engine.ExportFormats, ", "))
	fs.StringVarP(&opts.output, "output", "o", "", "write the records to FILE instead of stdout")
	fs.StringSliceVar(&opts.hostSpec, "host-spec", nil, "CIDR[,CIDR...] of the observed host(s): the direction column says in or out")
	fs.StringSliceVar(&opts.dnsPorts, "dns-port", []string{"53", "5353", "5355"}, "ports carrying DNS")
	fs.StringVar(&opts.bpf, "bpf", "", "pcap-filter expression applied to every packet")
	fs.StringSliceVar(&opts.suffixes, "qname-suffix", nil, "export only DNS messages whose name ends in one of these suffixes")
	fs.StringVar(&opts.progress, "progress", "auto", "progress on stderr: auto (when stderr is a terminal), always or never")
	fs.DurationVar(&opts.timeout, "xact-timeout", 5*time.Second, "a query unanswered this long (capture time) is written without a response")
	opts.addAnonymizeFlags(fs)
	fs.BoolVar(&opts.findings, "findings", false, "fill the findings column: analyse the inputs first (a second pass; not with stdin) and name the findings each row belongs to")
	fs.Int64Var(&opts.rowsPerFile, "rows-per-file", 0, "write -o DIR/records-00001.FORMAT and on, each with at most N rows (0: one output)")
	return cmd
}

func (o *exportOptions) validate(args []string) error {
	if !slices.Contains(engine.ExportFormats, o.recordFormat) {
		return usageError("--format must be %s, not %q", strings.Join(engine.ExportFormats, ", "), o.recordFormat)
	}
	if o.rowsPerFile < 0 {
		return usageError("--rows-per-file must be 0 (one output) or more, not %d", o.rowsPerFile)
	}
	if o.rowsPerFile > 0 && (o.output == "" || o.output == "-") {
		return usageError("--rows-per-file writes files into a directory: give it with -o DIR")
	}
	if o.findings && slices.Contains(args, "-") {
		return usageError("--findings reads the inputs twice: not with stdin")
	}
	// The analysis settings export does not take keep their defaults.
	o.format, o.top, o.bucket, o.slow, o.topSeries = "table", 10, time.Minute, 500*time.Millisecond, 1000
	if o.rowsPerFile > 0 {
		// -o is a directory, made if missing: not a file to check.
		out := o.output
		o.output = ""
		defer func() { o.output = out }()
	}
	return o.analysisOptions.validate(args)
}

// exportMemoryLimit replaces memoryLimit for export, which holds more than
// an analysis: the rows of open queries and a row group being encoded.
const exportMemoryLimit = 256 << 20

func runExport(ctx context.Context, opts *exportOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(exportMemoryLimit))
	}
	var inputErr error
	xo := engine.ExportOptions{Format: opts.recordFormat, Findings: opts.findings}
	write := func(w io.Writer) error {
		_, _, err := engine.ExportWith(ctx, &opts.cfg, xo, w, stdin, stderr)
		var ie *engine.InputError
		if errors.As(err, &ie) {
			inputErr = err
		}
		return err
	}
	var err error
	if opts.rowsPerFile > 0 {
		xo.RowsPerFile, xo.Dir = opts.rowsPerFile, opts.output
		err = write(nil)
	} else if opts.output != "" && opts.output != "-" {
		err = engine.WriteFile(opts.output, write)
	} else {
		err = write(stdout)
	}
	if err != nil {
		if in := interruptOf(ctx); in != nil {
			return &exitError{code: in.code(), err: fmt.Errorf("visor: %v: no records", in)}
		}
		if inputErr != nil {
			return &exitError{code: exitUsage, err: prefixed(inputErr)}
		}
		return &exitError{code: exitUsage, err: prefixed(err)}
	}
	return interruptResult(ctx)
}
