package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/visor-dns/visor/analyzers"
	"github.com/visor-dns/visor/capture"
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
				if err := opts.check([]string{lo.iface}); err != nil {
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
			if err := opts.check([]string{"unix:" + lo.socket}); err != nil {
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

// runLiveDNSTap serves the dnstap socket until ctx ends or the duration
// passes, analyses every message received, and writes the final report.
// A stop by signal is a success.
func runLiveDNSTap(ctx context.Context, opts *analysisOptions, lo *liveOptions, stdout, stderr io.Writer) error {
	sock, err := capture.ListenDNSTap(lo.socket, lo.mode)
	if err != nil {
		return &exitError{code: exitUsage, err: prefixed(err)}
	}
	sock.Warn = func(err error) { fmt.Fprintln(stderr, prefixed(err)) }
	if lo.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lo.duration)
		defer cancel()
	}
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		sock.Close() // Next drains what was received, then says io.EOF
	}()
	fmt.Fprintf(stderr, "visor: serving dnstap on %s until SIGINT/SIGTERM", lo.socket)
	if lo.duration > 0 {
		fmt.Fprintf(stderr, " or %s", lo.duration)
	}
	fmt.Fprintln(stderr)
	aopts := opts.analyzerOptions()
	aopts.Warn = func(s string) { fmt.Fprintln(stderr, s) }
	a := analyzers.New(aopts)
	// not ctx: the run ends at the socket's io.EOF, after the last message
	runErr := a.Run(context.Background(), sock)
	close(stopped)
	sock.Close()
	if runErr != nil {
		return &exitError{code: exitUsage, err: runErr}
	}
	rep := a.Finish()
	rep.Tool = report.Tool{Name: "visor", Version: version}
	in := sock.Info()
	rep.Inputs = append(rep.Inputs, engine.InputReport(in))
	for reason, n := range in.Skipped {
		rep.Integrity[reason] += n
	}
	if err := writeReport(opts, rep, stdout); err != nil {
		return err
	}
	return strictResult(opts, rep)
}
