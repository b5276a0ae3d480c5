package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/visor-dns/visor/analyzers"
	"github.com/visor-dns/visor/filter"
	"github.com/visor-dns/visor/geo"
	"github.com/visor-dns/visor/internal/outfile"
	"github.com/visor-dns/visor/report"
)

// analysisOptions are the flags every analysing command takes.
type analysisOptions struct {
	top        int
	bucket     time.Duration
	format     string
	output     string
	hostSpec   []string
	dnsPorts   []string
	bpf        string
	suffixes   []string
	progress   string
	strict     bool
	timeout    time.Duration
	slow       time.Duration
	labels     []string
	shards     int
	inputs     []string
	parsedHost []netip.Prefix
	parsedPort []uint16
	filter     *filter.Filter
	findingsOptions
	geoCity string
	geoASN  string
	cityDB  *geo.DB
	asnDB   *geo.DB
}

func (o *analysisOptions) addFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.top, "top", 10, "length of every top-N list")
	fs.DurationVar(&o.bucket, "bucket", time.Minute, "width of a time bucket, in capture time (whole seconds)")
	fs.StringVar(&o.format, "format", "table", "output format: table, json or openmetrics")
	fs.StringVarP(&o.output, "output", "o", "", "write the report to FILE instead of stdout")
	fs.StringSliceVar(&o.hostSpec, "host-spec", nil, "CIDR[,CIDR...] of the observed host(s): packets to them are in, from them out")
	fs.StringSliceVar(&o.dnsPorts, "dns-port", []string{"53", "5353", "5355"}, "ports carrying DNS")
	fs.StringVar(&o.bpf, "bpf", "", "pcap-filter expression applied to every packet")
	fs.StringSliceVar(&o.suffixes, "qname-suffix", nil, "analyse only DNS messages whose name ends in one of these suffixes")
	fs.StringVar(&o.progress, "progress", "auto", "progress on stderr: auto (when stderr is a terminal), always or never")
	fs.BoolVar(&o.strict, "strict", false, "exit 1 when integrity counts anything not fully analysed")
	fs.DurationVar(&o.timeout, "xact-timeout", 5*time.Second, "a query unanswered this long (capture time) has timed out")
	fs.DurationVar(&o.slow, "slow", 500*time.Millisecond, "a transaction at least this slow enters the slow list")
	fs.StringArrayVar(&o.labels, "label", nil, "k=v label added to every OpenMetrics series (repeatable)")
	fs.IntVar(&o.shards, "shards", 0, "analysing goroutines (0: one per CPU); the report does not depend on it")
	fs.MarkHidden("shards")
	fs.StringArrayVar(&o.thresholdArgs, "threshold", nil, "NAME=VALUE overrides a findings threshold (repeatable; names in the README)")
	fs.StringVar(&o.geoCity, "geoip-city", "", "MaxMind City database (.mmdb): adds geo tops of remote addresses and ECS prefixes")
	fs.StringVar(&o.geoASN, "geoip-asn", "", "MaxMind ASN database (.mmdb): adds asn tops of remote addresses and ECS prefixes")
}

// check validates flag values and combinations.
func (o *analysisOptions) check(args []string) error {
	if len(args) == 0 {
		return usageError("no input: give a capture file, a directory, or - for stdin")
	}
	o.inputs = args
	if o.top < 1 {
		return usageError("--top must be at least 1, not %d", o.top)
	}
	if o.bucket < time.Second || o.bucket%time.Second != 0 {
		return usageError("--bucket must be a whole number of seconds, not %s", o.bucket)
	}
	switch o.format {
	case "table", "json", "openmetrics":
	default:
		return usageError("--format must be table, json or openmetrics, not %q", o.format)
	}
	switch o.progress {
	case "auto", "always", "never":
	default:
		return usageError("--progress must be auto, always or never, not %q", o.progress)
	}
	flt, err := filter.Compile(o.bpf)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	o.filter = flt
	if o.bpf == "" {
		o.filter = nil
	}
	o.parsedHost = nil
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
		o.parsedHost = append(o.parsedHost, p.Masked())
	}
	o.parsedPort = nil
	for _, s := range o.dnsPorts {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
		if err != nil || n == 0 {
			return usageError("--dns-port %q is not a port number", s)
		}
		o.parsedPort = append(o.parsedPort, uint16(n))
	}
	if _, err := report.ParseLabels(o.labels); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if o.timeout <= 0 || o.slow <= 0 {
		return usageError("--xact-timeout and --slow must be positive")
	}
	if o.output != "" && o.output != "-" {
		// Before any input is read: a typo must not cost a long run.
		if err := outfile.CheckWritable(o.output); err != nil {
			return usageError("--output: %v", err)
		}
	}
	if err := o.findingsOptions.check(o.inputs); err != nil {
		return err
	}
	return o.openGeo()
}

// openGeo opens the --geoip-city and --geoip-asn databases, once.
func (o *analysisOptions) openGeo() error {
	for _, d := range []struct {
		flag, path string
		kind       geo.Kind
		db         **geo.DB
	}{{"--geoip-city", o.geoCity, geo.City, &o.cityDB}, {"--geoip-asn", o.geoASN, geo.ASN, &o.asnDB}} {
		if d.path == "" || *d.db != nil {
			continue
		}
		db, err := geo.Open(d.path, d.kind)
		if err != nil {
			return usageError("%s: %v", d.flag, err)
		}
		*d.db = db
	}
	return nil
}

func (o *analysisOptions) analyzerOptions() analyzers.Options {
	return analyzers.Options{
		Bucket:        int64(o.bucket),
		Top:           o.top,
		DNSPorts:      o.parsedPort,
		HostSpec:      o.parsedHost,
		QNameSuffixes: o.suffixes,
		XactTimeout:   int64(o.timeout),
		Slow:          int64(o.slow),
		Filter:        o.filter,
		Shards:        o.shards,
		Thresholds:    o.thresholds,
		GeoCity:       o.cityDB,
		GeoASN:        o.asnDB,
	}
}

func (o *analysisOptions) String() string {
	return fmt.Sprintf("%+v", *o)
}
