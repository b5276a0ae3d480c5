package main

import (
	"errors"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/visor-dns/visor/engine"
	"github.com/visor-dns/visor/replay"
	"github.com/visor-dns/visor/report"
)

// analysisOptions are the flags every analysing command takes; check
// resolves them into cfg, the engine's configuration.
type analysisOptions struct {
	top           int
	bucket        time.Duration
	format        string
	output        string
	hostSpec      []string
	dnsPorts      []string
	bpf           string
	suffixes      []string
	qnameRegex    string
	qnameExclude  string
	progress      string
	strict        bool
	timeout       time.Duration
	slow          time.Duration
	labels        []string
	shards        int
	thresholdArgs []string
	carveDir      string
	anonKey       string
	anonPrefix    string
	geoCity       string
	geoASN        string
	topSeries     int
	dohSNI        []string
	ascii         bool
	jobs          int
	splitBy       string
	cfg           engine.Config
	stderr        io.Writer // for warnings of the flag-level steps (e.g. --top-series)

	// rssac holds analyze's RSSAC002 flags (rssac002.go); nil elsewhere.
	rssac *rssacFlags
}

func (o *analysisOptions) addFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.top, "top", 10, "length of every top-N list")
	fs.DurationVar(&o.bucket, "bucket", time.Minute, "width of a time bucket, in capture time (whole seconds)")
	fs.StringVar(&o.format, "format", "table", "output format: table, json, openmetrics, html (one self-contained page) or markdown")
	fs.StringVarP(&o.output, "output", "o", "", "write the report to FILE instead of stdout")
	fs.StringSliceVar(&o.hostSpec, "host-spec", nil, "CIDR[,CIDR...] of the observed host(s): packets to them are in, from them out")
	fs.StringSliceVar(&o.dnsPorts, "dns-port", []string{"53", "5353", "5355"}, "UDP and TCP ports carrying DNS (UDP traffic that looks like DNS on another port is reported once, with its port)")
	fs.StringSliceVar(&o.dohSNI, "doh-sni", []string{"default"}, "TLS server names (SNI) that make TLS to port 443 DNS over HTTPS, and their subdomains (repeatable; default: the built-in list of public DoH services, none: no DoH)")
	fs.StringVar(&o.bpf, "bpf", "", "pcap-filter expression applied to every packet")
	fs.StringSliceVar(&o.suffixes, "qname-suffix", nil, "analyse only DNS messages whose name ends in one of these suffixes")
	fs.StringVar(&o.qnameRegex, "qname-regex", "", "analyse only DNS messages whose name matches this RE2 expression (lowercase, no trailing dot)")
	fs.StringVar(&o.qnameExclude, "qname-exclude", "", "leave out DNS messages whose name matches this RE2 expression")
	fs.StringVar(&o.progress, "progress", "auto", "progress on stderr: auto (when stderr is a terminal), always or never")
	fs.BoolVar(&o.strict, "strict", false, "exit 1 when integrity counts anything not fully analysed")
	fs.DurationVar(&o.timeout, "xact-timeout", 5*time.Second, "a query unanswered this long (capture time) has timed out")
	fs.DurationVar(&o.slow, "slow", 500*time.Millisecond, "a transaction at least this slow enters the slow list")
	fs.StringArrayVar(&o.labels, "label", nil, "k=v label added to every OpenMetrics series (repeatable)")
	fs.IntVar(&o.shards, "shards", 0, "analysing goroutines (0: one per CPU); the report does not depend on it")
	fs.MarkHidden("shards")
	fs.StringArrayVar(&o.thresholdArgs, "threshold", nil, "NAME=VALUE overrides a findings threshold (repeatable; names in docs/findings.md)")
	fs.StringVar(&o.geoCity, "geoip-city", "", "MaxMind City database (.mmdb): adds geo tops of remote addresses and ECS prefixes")
	fs.BoolVar(&o.ascii, "ascii", false, "table: ASCII only (no sparklines, arrows or ≈ ±); the default when the locale is not UTF-8")
	fs.IntVar(&o.topSeries, "top-series", 1000, "OpenMetrics and replay: label values kept per family labelled from the traffic (top lists, rcode, qtype) over the run; the rest are summed into one "+replay.Other+" series (0: keep all)")
	fs.StringVar(&o.geoASN, "geoip-asn", "", "MaxMind ASN database (.mmdb): adds asn tops of remote addresses and ECS prefixes")
	fs.IntVarP(&o.jobs, "jobs", "j", 0, "CPUs to use, as make -j (0: all); with several inputs, up to N analysed at once, each apart, then merged (1: one CPU, the inputs read as one capture)")
	fs.StringVar(&o.splitBy, "split-by", "", "also report each input (input) or each --label set (label) apart, beside the whole")
	o.addAnonymizeFlags(fs)
}

func (o *analysisOptions) addCarveFlag(fs *pflag.FlagSet) {
	fs.StringVar(&o.carveDir, "carve", "", "write each finding's packets (its time window and its zone or addresses) to DIR/NN-KIND-KEY.pcap")
}

// validate validates flag values and combinations and resolves them into
// o.cfg, before any input is read.
func (o *analysisOptions) validate(args []string) error {
	if len(args) == 0 {
		return usageError("no input: give a capture file, a directory, or - for stdin")
	}
	if o.top < 1 {
		return usageError("--top must be at least 1, not %d", o.top)
	}
	if o.bucket < time.Second || o.bucket%time.Second != 0 {
		return usageError("--bucket must be a whole number of seconds, not %s", o.bucket)
	}
	switch o.format {
	case "table", "json", "openmetrics", "html", "markdown", "rssac002", "summary":
	default:
		return usageError("--format must be table, json, openmetrics, html, markdown or summary, not %q", o.format)
	}
	switch o.splitBy {
	case "", "input", "label":
	default:
		return usageError("--split-by must be input or label, not %q", o.splitBy)
	}
	if o.jobs < 0 {
		return usageError("-j must be 0 (all CPUs) or more, not %d", o.jobs)
	}
	switch o.progress {
	case "auto", "always", "never":
	default:
		return usageError("--progress must be auto, always or never, not %q", o.progress)
	}
	var hosts []netip.Prefix
	for _, h := range o.hostSpec {
		h = strings.TrimSpace(h)
		p, err := netip.ParsePrefix(h)
		if err != nil {
			a, aerr := netip.ParseAddr(h)
			if aerr != nil {
				return usageError("--host-spec %q is not a CIDR or address", h)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		hosts = append(hosts, p.Masked())
	}
	var ports []uint16
	for _, s := range o.dnsPorts {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
		if err != nil || n == 0 {
			return usageError("--dns-port %q is not a port number", s)
		}
		ports = append(ports, uint16(n))
	}
	if _, err := report.ParseLabels(o.labels); err != nil {
		return usageError("--label: %v", err)
	}
	if o.topSeries < 0 {
		return usageError("--top-series must be 0 (no cap) or more, not %d", o.topSeries)
	}
	if o.timeout <= 0 || o.slow <= 0 {
		return usageError("--xact-timeout and --slow must be positive")
	}
	if err := o.validateRSSAC(); err != nil {
		return err
	}
	if o.output != "" && o.output != "-" && o.format != "rssac002" {
		// Before any input is read: a typo must not cost a long run.
		if err := engine.CheckWritable(o.output); err != nil {
			return usageError("--output: %v", err)
		}
	}
	o.cfg = engine.Config{Inputs: args, Bucket: o.bucket, Top: o.top, DNSPorts: ports, HostSpec: hosts,
		QNameSuffixes: o.suffixes, QNameRegex: o.qnameRegex, QNameExclude: o.qnameExclude, BPF: o.bpf, XactTimeout: o.timeout, Slow: o.slow, Shards: o.shards,
		Thresholds: o.thresholdArgs, GeoCity: o.geoCity, GeoASN: o.geoASN, Progress: o.progress,
		CarveDir: o.carveDir, Version: version}
	o.cfg.Anonymize, o.cfg.AnonymizePrefix = o.anonKey, o.anonPrefix
	o.cfg.Jobs, o.cfg.Labels, o.cfg.SplitBy = o.jobs, o.labels, o.splitBy
	o.applyRSSAC()
	if err := o.cfg.Validate(); err != nil {
		switch {
		case errors.Is(err, engine.ErrBPF):
			return usageError("--bpf: %v", errors.Unwrap(err))
		case errors.Is(err, engine.ErrQNameRegex):
			return usageError("--qname-regex/--qname-exclude: %v", err)
		case errors.Is(err, engine.ErrAnonymize):
			return usageError("--anonymize/--anonymize-prefix: %v", errors.Unwrap(err))
		case errors.Is(err, engine.ErrThreshold):
			return usageError("--threshold: %v", err)
		case o.carveDir != "":
			return usageError("--carve: %v", err)
		}
		return usageError("%v", err)
	}
	o.cfg.DoHSNI = o.dohSNI

	// Opened once here so that a wrong database fails before any input.
	g, err := o.cfg.OpenGeo()
	if err != nil {
		return usageError("--geoip-city/--geoip-asn: %v", err)
	}
	return g.Close()
}
