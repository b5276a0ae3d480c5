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
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/visor-dns/visor/engine"
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
	ctx = context.WithValue(ctx, argsKey{}, args) // for the reports that show their command line
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
		newLiveCommand(stdout, stderr), newExportCommand(stdout, stderr), newDiffCommand(stdout, stderr), newMergeCommand(stdout, stderr), newVersionCommand(stdout), newWriteDocumentationCommand())
	withConventions(root)
	return root
}

// withConventions gives the command tree what users expect of a CLI:
// --version (as `visor version`), `analyse` for analyze, suggestions for
// misspelt commands and flags, and completion of the flags' fixed values.
func withConventions(root *cobra.Command) {
	root.Version = version
	cobra.AddTemplateFunc("versionText", versionText)
	root.SetVersionTemplate(`{{versionText}}`)
	root.SuggestionsMinimumDistance = 2
	root.SetFlagErrorFunc(suggestFlag)
	for _, c := range root.Commands() {
		if c.Name() == "analyze" {
			c.Aliases = append(c.Aliases, "analyse")
		}
		registerCompletions(c)
	}
}

// suggestFlag adds "did you mean --NAME?" to an unknown flag's error when
// the command has a flag within two edits of it.
func suggestFlag(cmd *cobra.Command, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return err
	}
	name, _, _ = strings.Cut(name, "=")
	best, dist := "", 3
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		if d := editDistance(name, f.Name); d < dist || (d == dist && f.Name < best) {
			best, dist = f.Name, d
		}
	})
	if best == "" {
		return err
	}
	return fmt.Errorf("%w (did you mean --%s?)", err, best)
}

// editDistance is the edit distance of a and b, a swap of two neighbours
// counting one edit (optimal string alignment).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// registerCompletions completes the values of the flags that take a fixed
// set: --format, --progress and --threshold's names.
func registerCompletions(c *cobra.Command) {
	noFiles := cobra.ShellCompDirectiveNoFileComp
	if f := c.Flags().Lookup("format"); f != nil {
		c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(formatNames(f.Usage), noFiles))
	}
	if c.Flags().Lookup("progress") != nil {
		c.RegisterFlagCompletionFunc("progress", cobra.FixedCompletions([]string{"auto", "always", "never"}, noFiles))
	}
	if c.Flags().Lookup("threshold") != nil {
		var names []string
		for _, n := range engine.ThresholdNames() {
			names = append(names, n+"=")
		}
		c.RegisterFlagCompletionFunc("threshold", cobra.FixedCompletions(names, cobra.ShellCompDirectiveNoSpace|noFiles))
	}
	for _, sub := range c.Commands() {
		registerCompletions(sub)
	}
}

// formatNames reads the formats from the --format help ("output format:
// table, json or openmetrics"), so that completion cannot drift from it.
func formatNames(usage string) []string {
	if _, list, ok := strings.Cut(usage, ":"); ok {
		usage = list
	}
	for { // "(a PASS/FAIL list)" explains, it names no format
		i, j := strings.Index(usage, "("), strings.Index(usage, ")")
		if i < 0 || j < i {
			break
		}
		usage = usage[:i] + usage[j+1:]
	}
	var out []string
	for _, w := range strings.FieldsFunc(usage, func(r rune) bool { return strings.ContainsRune(", |()", r) }) {
		if w != "or" && strings.ToLower(w) == w {
			out = append(out, w)
		}
	}
	return out
}
