package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/visor-dns/visor/engine"
	"github.com/visor-dns/visor/report"
)

// liveOptions are the flags of `visor live` besides the analysis ones.
type liveOptions struct {
	iface      string
	socket     string
	socketMode string // octal, e.g. 0660
	mode       os.FileMode
	duration   time.Duration
}

func newLiveCommand(stdout, stderr io.Writer) *cobra.Command {
	opts := &analysisOptions{stderr: stderr}
	lo := &liveOptions{}
	ifo := &ifaceOptions{} // -i IFACE's own flags (live_iface.go)
	cmd := &cobra.Command{
		Use:   "live (-i IFACE | --dnstap-socket PATH) [flags]",
		Short: "Analyse live traffic until stopped, then print the report",
		Long: "live analyses what arrives until SIGINT, SIGTERM or --duration, then prints the final\n" +
			"report exactly as analyze does.\n\n" +
			"--dnstap-socket PATH is a Frame Streams server on a unix socket (bidirectional READY/\n" +
			"ACCEPT/START/STOP/FINISH, or unidirectional START/STOP) for DNS servers' dnstap: unbound's\n" +
			"dnstap-socket-path, knotd's mod-dnstap sink \"unix:PATH\". Several servers may connect at\n" +
			"once. Buckets and latency use the servers' own query and response times.\n\n" + exitMessage,
		Example: "  visor live --dnstap-socket /run/visor-dnstap.sock --duration 10m --format json -o live.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case lo.iface != "" && lo.socket != "":
				return usageError("live takes -i IFACE or --dnstap-socket PATH, not both")
			case lo.iface != "":
				if err := opts.validate([]string{lo.iface}); err != nil {
					return err
				}
				ifo.iface, ifo.duration = lo.iface, lo.duration
				return runLiveIface(cmd.Context(), opts, ifo, stdout, stderr)
			case lo.socket == "":
				return usageError("live needs -i IFACE or --dnstap-socket PATH")
			case lo.duration < 0:
				return usageError("--duration must not be negative")
			}
			m, err := strconv.ParseUint(lo.socketMode, 8, 32)
			if err != nil || m > 0o777 || m == 0 {
				return usageError("--socket-mode %q: want octal permissions from 0001 to 0777, e.g. 0660", lo.socketMode)
			}
			lo.mode = os.FileMode(m)
			if err := opts.validate([]string{"unix:" + lo.socket}); err != nil {
				return err
			}
			return runLiveDNSTap(cmd.Context(), opts, lo, stdout, stderr)
		},
	}
	opts.addFlags(cmd.Flags())
	cmd.Flags().StringVarP(&lo.iface, "interface", "i", "", "capture on this network interface (AF_PACKET; \"any\": all, without link headers)")
	ifo.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&lo.socket, "dnstap-socket", "", "serve Frame Streams (dnstap) on this unix socket path")
	cmd.Flags().StringVar(&lo.socketMode, "socket-mode", "0660", "permissions of the --dnstap-socket file, octal (whoever may connect can inject events)")
	cmd.Flags().DurationVar(&lo.duration, "duration", 0, "stop after this long (0: until SIGINT/SIGTERM)")
	return cmd
}

// runLiveDNSTap serves the dnstap socket until a signal or the duration,
// then writes the final report. A stop by signal is a success.
func runLiveDNSTap(ctx context.Context, opts *analysisOptions, lo *liveOptions, stdout, stderr io.Writer) error {
	if err := liveSummary(opts); err != nil {
		return err
	}
	if opts.format == "summary" && (opts.output == "" || opts.output == "-") && engine.IsTerminal(stdout) {
		return usageError("a summary is binary: give -o FILE (or redirect stdout)")
	}
	defer useCPUs(opts)()
	var sum *engine.Summary
	var rep *report.Report
	var err error
	if opts.format == "summary" {
		rep, sum, err = engine.RunLiveDNSTapSummary(ctx, &opts.cfg, lo.socket, lo.mode, lo.duration, stderr)
	} else {
		rep, err = engine.RunLiveDNSTap(ctx, &opts.cfg, lo.socket, lo.mode, lo.duration, stderr)
	}
	if rep == nil {
		return &exitError{code: exitUsage, err: prefixed(err)}
	}
	defer rep.Close()
	if sum != nil {
		defer sum.Close()
	}
	if err != nil {
		return &exitError{code: exitUsage, err: prefixed(err)}
	}
	if err := writeLiveResult(ctx, opts, rep, sum, stdout); err != nil {
		return err
	}
	return strictResult(opts, rep)
}

// writeLiveResult writes a live run's summary (--format summary) or its
// report.
// A summary that could not be recorded leaves nothing to write: the run's
// error says why.
func writeLiveResult(ctx context.Context, opts *analysisOptions, rep *report.Report, sum *engine.Summary, stdout io.Writer) error {
	if opts.format == "summary" {
		if sum == nil {
			return nil
		}
		return writeSummaryResult(ctx, opts, sum, stdout) // merge.go
	}
	return writeReport(ctx, opts, rep, stdout)
}

// runLiveIface captures on an interface until a signal, --duration or
// --count, then writes the final report as analyze does. A stop by signal
// is a success.
func runLiveIface(ctx context.Context, opts *analysisOptions, lo *ifaceOptions, stdout, stderr io.Writer) error {
	if err := liveSummary(opts); err != nil {
		return err
	}
	if opts.format == "summary" && (opts.output == "" || opts.output == "-") && engine.IsTerminal(stdout) {
		return usageError("a summary is binary: give -o FILE (or redirect stdout)")
	}
	if err := lo.validate(); err != nil {
		return err
	}
	defer useCPUs(opts)()
	toStdout := opts.output == "" || opts.output == "-"
	live := engine.Live{Interface: lo.iface, Snaplen: lo.snaplen, Promisc: lo.promisc, Count: lo.count, Duration: lo.duration,
		Write: lo.write, Listen: lo.listen, Stream: lo.stream, Labels: opts.labels,
		View: opts.format == "table" && toStdout && !lo.stream && engine.IsTerminal(stdout)}
	var rep *report.Report
	var sum *engine.Summary
	var err error
	if opts.format == "summary" {
		rep, sum, err = engine.RunLiveSummary(ctx, &opts.cfg, live, stdout, stderr)
	} else {
		rep, err = engine.RunLive(ctx, &opts.cfg, live, stdout, stderr)
	}
	if sum != nil {
		defer sum.Close()
	}
	if rep == nil {
		switch {
		case errors.Is(err, engine.ErrLiveWrite):
			return usageError("--write: %v", errors.Unwrap(err))
		case errors.Is(err, engine.ErrLiveListen):
			return usageError("--listen: %v", errors.Unwrap(err))
		}
		return &exitError{code: exitUsage, err: prefixed(err)}
	}
	defer rep.Close()
	var runErr error
	if err != nil {
		// The report is still written; the run then fails.
		runErr = &exitError{code: exitUsage, err: prefixed(err)}
		if errors.Is(err, engine.ErrLiveWrite) {
			runErr = &exitError{code: exitUsage, err: fmt.Errorf("visor: --write: %w", err)}
		}
	}
	if !(lo.stream && toStdout) { // with --stream, stdout carries the stream; the final report needs -o
		if err := writeLiveResult(ctx, opts, rep, sum, stdout); err != nil {
			return errors.Join(runErr, err)
		}
	}
	if runErr != nil {
		return runErr
	}
	return strictResult(opts, rep)
}

// ifaceOptions are the flags of `visor live -i IFACE`, besides the
// analysis ones.
type ifaceOptions struct {
	iface    string
	duration time.Duration
	count    uint64
	snaplen  int
	promisc  bool
	write    string
	listen   string
	stream   bool
}

// addFlags adds the interface mode's flags; -i and --duration are live's
// own (live.go), copied into iface and duration before runLiveIface.
func (o *ifaceOptions) addFlags(fs *pflag.FlagSet) {
	fs.Uint64Var(&o.count, "count", 0, "stop after this many captured packets (before --bpf; 0: no limit)")
	fs.IntVar(&o.snaplen, "snaplen", engine.MaxSnaplen, "bytes kept of each packet, cut in the kernel")
	fs.BoolVar(&o.promisc, "promisc", false, "put the interface in promiscuous mode while capturing")
	fs.StringVar(&o.write, "write", "", "also save the captured packets to FILE (pcapng)")
	fs.StringVar(&o.listen, "listen", "", "serve /metrics (Prometheus) and /report.json on ADDR, e.g. 127.0.0.1:9753")
	fs.BoolVar(&o.stream, "stream", false, "print one JSON line per closed bucket on stdout")
}

// validate validates the interface mode's own flags.
func (o *ifaceOptions) validate() error {
	if o.duration < 0 {
		return usageError("--duration must not be negative")
	}
	if o.snaplen < 64 {
		return usageError("--snaplen must be at least 64, not %d", o.snaplen)
	}
	if o.listen != "" {
		if _, _, err := net.SplitHostPort(o.listen); err != nil {
			return usageError("--listen %q is not HOST:PORT", o.listen)
		}
	}
	return nil
}
