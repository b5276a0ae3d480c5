// Command visor reads pcap, pcapng and dnstap captures and reports what
// happened on the network and in DNS, on the capture's own clock.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// Exit statuses, as the contract fixes them.
const (
	exitOK      = 0
	exitFailed  = 1 // a check failed, or --strict found an integrity problem
	exitUsage   = 2 // bad usage or unreadable input
	exitMessage = "EXIT STATUS\n  0  success\n  1  a check assertion failed, or --strict found an integrity problem\n  2  bad usage or unreadable input\n" +
		"  130, 143  a file run stopped by SIGINT or SIGTERM; a report written then says integrity.interrupted\n"
)

// memoryLimit is the Go runtime's soft memory limit: the collector works
// harder as the heap nears it, keeping peak RSS near visor's live state.
const memoryLimit = 120 << 20

// exitError carries an exit status; its message (if any) goes to stderr.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf("visor: "+format, args...)}
}

func main() {
	if path := os.Getenv("VISOR_CPUPROFILE"); path != "" {
		// A developer's hook for `make bench` and profiling; not a user flag.
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// Garbage from evicted state must not push the process past its
		// documented bound; GOMEMLIMIT overrides.
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := notifyInterrupt(os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if code != 0 {
		pprof.StopCPUProfile()
		os.Exit(code)
	}
}

// run executes the command line and maps every error to an exit status,
// in this one place.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	root.SetIn(stdin)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, ee.err)
		}
		return ee.code
	}
	// Flag parsing and unknown commands come back from cobra as plain errors.
	fmt.Fprintln(stderr, "visor:", err)
	return exitUsage
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "visor",
		Short: "Network and DNS forensics on pcap, pcapng and dnstap captures",
		Long: "visor reads captures (pcap, pcapng, dnstap; plain, gzip or zstd) and reports what happened:\n" +
			"counters, rates, top talkers and names, cardinalities, latency quantiles and findings,\n" +
			"all on the capture's own clock.\n\n" + exitMessage,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newAnalyzeCommand(stdout, stderr), newReplayCommand(stdout, stderr), newCheckCommand(stdout, stderr),
		newLiveCommand(stdout, stderr), newVersionCommand(stdout), newWriteDocumentationCommand())
	return root
}
