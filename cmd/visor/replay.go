package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/visor-dns/visor/replay"
	"github.com/visor-dns/visor/report"
)

// replayOptions are replay's own flags, after the analysis ones.
type replayOptions struct {
	analysisOptions
	url          string
	protocol     int
	batchSamples int
	concurrency  int
	retries      int
	backoff      time.Duration
	maxWait      time.Duration
	timeout      time.Duration
	dryRun       bool
	basicUser    string
	passwordFile string
	bearerFile   string
	headers      []string
	caFile       string
	insecure     bool
	auth         replay.Auth
}

const passwordEnv = "VISOR_REMOTE_WRITE_PASSWORD"

func newReplayCommand(stdout, stderr io.Writer) *cobra.Command {
	opts := &replayOptions{analysisOptions: analysisOptions{stderr: stderr}}
	cmd := &cobra.Command{
		Use:   "replay --url URL [flags] INPUT...",
		Short: "Analyse captures and push the series to a Prometheus remote-write endpoint, at capture time",
		Long: "replay runs the same analysis as analyze and sends its series (the ones --format openmetrics\n" +
			"writes) to a remote-write URL: one sample per series per bucket, stamped with the bucket's end in\n" +
			"capture time, oldest first across all series, so an empty Prometheus takes a capture of any age.\n" +
			"The password for --basic-user comes from $" + passwordEnv + " or --basic-password-file.\n\n" +
			"EXIT STATUS\n  0  every sample was accepted\n  1  --strict found an integrity problem (everything was sent)\n" +
			"  2  bad usage, unreadable input, or a request the receiver refused, wrote only in part, left\n" +
			"     unanswered, or that failed after its retries\n",
		Example: "  visor replay --url http://127.0.0.1:9090/api/v1/write --label capture=incident-42 attack.pcap\n" +
			"  visor replay --url https://mimir.example/api/v1/push --header X-Scope-OrgID=forensics --dry-run caps/",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.validate(cmd, args); err != nil {
				return err
			}
			return runReplay(cmd.Context(), opts, cmd.InOrStdin(), stdout, stderr)
		},
	}
	opts.addFlags(cmd.Flags())
	cmd.Flags().MarkHidden("format")
	cmd.Flags().MarkHidden("output")
	fs := cmd.Flags()
	fs.StringVar(&opts.url, "url", "", "remote-write URL, the whole path (e.g. http://HOST:9090/api/v1/write)")
	fs.IntVar(&opts.protocol, "protocol", 1, "remote-write protocol version: 1 or 2")
	fs.IntVar(&opts.batchSamples, "batch-samples", 2000, "samples per request at most")
	fs.IntVar(&opts.concurrency, "concurrency", 4, "requests in flight at most (only among batches that share no series)")
	fs.IntVar(&opts.retries, "retries", 5, "retries of a request on 5xx, 429 or a network error (at least 1)")
	fs.DurationVar(&opts.backoff, "retry-backoff", time.Second, "first retry delay; doubles up to --retry-max-wait")
	fs.DurationVar(&opts.maxWait, "retry-max-wait", 30*time.Second, "longest wait before a retry; a longer Retry-After is cut to it")
	fs.DurationVar(&opts.timeout, "timeout", 30*time.Second, "timeout of one HTTP request")
	fs.BoolVar(&opts.dryRun, "dry-run", false, "print series, samples, requests and time range; send nothing")
	fs.StringVar(&opts.basicUser, "basic-user", "", "basic-auth user (password from $"+passwordEnv+" or --basic-password-file)")
	fs.StringVar(&opts.passwordFile, "basic-password-file", "", "file holding the basic-auth password")
	fs.StringVar(&opts.bearerFile, "bearer-token-file", "", "file holding a bearer token")
	fs.StringArrayVar(&opts.headers, "header", nil, "K=V header added to every request, e.g. X-Scope-OrgID=tenant (repeatable)")
	fs.StringVar(&opts.caFile, "ca-file", "", "PEM CA certificate(s) to trust for https, besides the system's")
	fs.BoolVar(&opts.insecure, "insecure-skip-verify", false, "do not verify the receiver's TLS certificate")
	return cmd
}

func (o *replayOptions) validate(cmd *cobra.Command, args []string) error {
	if cmd.Flags().Changed("format") || cmd.Flags().Changed("output") {
		return usageError("replay sends to --url; for a file use analyze --format openmetrics -o FILE")
	}
	if err := o.analysisOptions.validate(args); err != nil {
		return err
	}
	if o.url == "" && !o.dryRun {
		return usageError("replay needs --url (or --dry-run)")
	}
	if o.url != "" {
		u, err := url.Parse(o.url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageError("--url %q is not an http:// or https:// URL", replay.RedactURL(o.url))
		}
	}
	if o.protocol != 1 && o.protocol != 2 {
		return usageError("--protocol must be 1 or 2, not %d", o.protocol)
	}
	if o.batchSamples < 1 || o.concurrency < 1 || o.retries < 1 {
		return usageError("--batch-samples, --concurrency and --retries must be at least 1")
	}
	if o.backoff <= 0 || o.timeout <= 0 || o.maxWait <= 0 {
		return usageError("--retry-backoff, --retry-max-wait and --timeout must be positive")
	}
	if o.maxWait < o.backoff {
		return usageError("--retry-max-wait %s is shorter than --retry-backoff %s", o.maxWait, o.backoff)
	}
	a := replay.Auth{CAFile: o.caFile, InsecureSkipVerify: o.insecure, Headers: http.Header{}}
	if o.basicUser != "" && o.bearerFile != "" {
		return usageError("--basic-user and --bearer-token-file exclude each other")
	}
	if o.passwordFile != "" && o.basicUser == "" {
		return usageError("--basic-password-file needs --basic-user")
	}
	if o.basicUser != "" {
		a.BasicUser = o.basicUser
		if o.passwordFile != "" {
			b, err := os.ReadFile(o.passwordFile)
			if err != nil {
				return usageError("--basic-password-file: %v", err)
			}
			a.BasicPassword = strings.TrimRight(string(b), "\r\n")
		} else {
			pw, ok := os.LookupEnv(passwordEnv)
			if !ok {
				return usageError("--basic-user needs a password: set $%s or give --basic-password-file", passwordEnv)
			}
			a.BasicPassword = pw
		}
	}
	if o.bearerFile != "" {
		b, err := os.ReadFile(o.bearerFile)
		if err != nil {
			return usageError("--bearer-token-file: %v", err)
		}
		if a.BearerToken = strings.TrimSpace(string(b)); a.BearerToken == "" {
			return usageError("--bearer-token-file %s is empty", o.bearerFile)
		}
	}
	for _, h := range o.headers {
		k, v, ok := strings.Cut(h, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " :\t\r\n") || strings.ContainsAny(v, "\r\n") {
			return usageError("--header %q is not K=V", h)
		}
		a.Headers.Add(textproto.CanonicalMIMEHeaderKey(k), v)
	}
	if o.caFile != "" {
		if _, err := os.Stat(o.caFile); err != nil {
			return usageError("--ca-file: %v", err)
		}
	}
	o.auth = a
	return nil
}

// families builds the series both OpenMetrics and replay use.
func families(opts *analysisOptions, rep *report.Report) ([]report.Family, error) {
	labels, err := report.ParseLabels(opts.labels)
	if err != nil {
		return nil, usageError("--label: %v", err)
	}
	fams, err := report.Families(rep, labels, opts.top)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	for _, f := range replay.CapSeries(fams, opts.topSeries) {
		if opts.stderr == nil {
			break
		}
		fmt.Fprintf(opts.stderr, "visor: --top-series %d: %s: %d %s values beyond the %d largest summed into %s=%q\n",
			opts.topSeries, f.Family, f.Values, f.Label, f.Kept, f.Label, replay.Other)
	}
	return fams, nil
}

// writeOpenMetrics renders rep as OpenMetrics text (analyze --format
// openmetrics), a family at a time; a family with more traffic-labelled
// series than --top-series is folded as replay folds it.
func writeOpenMetrics(w io.Writer, opts *analysisOptions, rep *report.Report) error {
	labels, err := report.ParseLabels(opts.labels)
	if err != nil {
		return usageError("--label: %v", err)
	}
	var folded []replay.Folded
	err = report.WriteOpenMetricsEdited(w, rep, labels, opts.top, opts.topSeries, func(f *report.Family) {
		fams := []report.Family{*f}
		folded = append(folded, replay.CapSeries(fams, opts.topSeries)...)
		*f = fams[0]
	})
	if opts.stderr != nil && err == nil {
		printGrafanaRange(opts.stderr, opts, rep)
	}
	if opts.stderr != nil {
		for _, f := range folded {
			fmt.Fprintf(opts.stderr, "visor: --top-series %d: %s: %d %s values beyond the %d largest summed into %s=%q\n",
				opts.topSeries, f.Family, f.Values, f.Label, f.Kept, f.Label, replay.Other)
		}
	}
	return err
}

// printGrafanaRange says the capture's time range as a Grafana dashboard
// URL's query (from and to in Unix ms, the bucket, the capture label when
// --label gives one): an old capture is not in Grafana's default last 24
// hours, and the dashboard's step must be the bucket.
func printGrafanaRange(w io.Writer, opts *analysisOptions, rep *report.Report) {
	from, to := report.GrafanaRange(rep)
	if from == 0 || w == nil {
		return
	}
	q := fmt.Sprintf("from=%d&to=%d&var-bucket=%s", from, to, grafanaDuration(opts.bucket))
	labels, _ := report.ParseLabels(opts.labels)
	for _, l := range labels {
		if l.Name == "capture" {
			q += "&var-capture=" + url.QueryEscape(l.Value)
		}
	}
	fmt.Fprintf(w, "visor: grafana: ?%s (the capture's time range, %s to %s: add it to the dashboard's URL)\n",
		q, report.FormatMillis(from), report.FormatMillis(to))
}

// grafanaDuration writes d as Grafana's intervals do: 90s, 5m, 2h.
func grafanaDuration(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s > 0 && s%3600 == 0:
		return fmt.Sprintf("%dh", s/3600)
	case s > 0 && s%60 == 0:
		return fmt.Sprintf("%dm", s/60)
	}
	return fmt.Sprintf("%ds", s)
}

func runReplay(ctx context.Context, opts *replayOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	rep, err := analyse(ctx, &opts.analysisOptions, stdin, stderr)
	if err != nil {
		return err
	}
	defer rep.Close() // its spilled buckets
	if interruptOf(ctx) != nil {
		// A part of the capture sent now would make the rest out of order later.
		fmt.Fprintln(stderr, "visor: replay: interrupted before sending: nothing sent")
		return interruptResult(ctx)
	}
	fams, err := families(&opts.analysisOptions, rep)
	if err != nil {
		return err
	}
	plan := replay.NewPlan(fams, opts.batchSamples)
	span := "no samples"
	if plan.Samples > 0 {
		span = fmt.Sprintf("%s to %s", report.FormatMillis(plan.MinT), report.FormatMillis(plan.MaxT))
	}
	if opts.dryRun {
		fmt.Fprintf(stdout, "visor: replay: dry run: %d series, %d samples, %d requests of at most %d samples, %s; nothing sent\n",
			len(plan.Series), plan.Samples, len(plan.Batches), opts.batchSamples, span)
		printGrafanaRange(stderr, &opts.analysisOptions, rep)
		return strictResult(&opts.analysisOptions, rep)
	}
	client, err := replay.NewHTTPClient(opts.auth, opts.timeout)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	cfg := replay.Config{URL: opts.url, Protocol: opts.protocol, Concurrency: opts.concurrency, Retries: opts.retries,
		Backoff: opts.backoff, MaxBackoff: opts.maxWait, Client: client}
	showProgress := opts.progress == "always"
	if f, ok := stderr.(*os.File); ok && opts.progress == "auto" && term.IsTerminal(int(f.Fd())) {
		showProgress = true
	}
	if showProgress {
		var last time.Time
		cfg.Progress = func(sent, total int, upTo int64) {
			if now := time.Now(); now.Sub(last) >= 200*time.Millisecond || sent == total {
				last = now
				fmt.Fprintf(stderr, "\rvisor: replay: %d/%d samples sent, up to %s ", sent, total, report.FormatMillis(upTo))
			}
		}
	}
	cfg.Notify = func(msg string) {
		if showProgress {
			fmt.Fprintln(stderr)
		}
		fmt.Fprintf(stderr, "visor: %s (--retry-max-wait)\n", msg)
	}
	fmt.Fprintf(stderr, "visor: replay: %d series, %d samples, %s, to %s (remote write %d.0)\n",
		len(plan.Series), plan.Samples, span, replay.RedactURL(opts.url), opts.protocol)
	st, err := replay.Send(ctx, cfg, plan)
	if showProgress && st.Sent > 0 {
		fmt.Fprintln(stderr)
	}
	summary := fmt.Sprintf("visor: replay: %d series, %d samples sent, %d requests, %d retries, %d samples rejected, %d samples unknown",
		st.Series, st.Sent, st.Requests, st.Retries, st.Rejected, st.Unknown)
	if st.Unsent > 0 {
		summary += fmt.Sprintf(", %d samples not sent", st.Unsent)
	}
	if err != nil && interruptOf(ctx) == nil {
		fmt.Fprintln(stderr, err)
		return &exitError{code: exitUsage, err: fmt.Errorf("%s; FAILED", summary)}
	}
	fmt.Fprintln(stderr, summary)
	printGrafanaRange(stderr, &opts.analysisOptions, rep)
	if err := interruptResult(ctx); err != nil {
		return err
	}
	return strictResult(&opts.analysisOptions, rep)
}
