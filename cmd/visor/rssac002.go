package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/visor-dns/visor/engine"
	"github.com/visor-dns/visor/report"
)

// rssacFlags are analyze's RSSAC002 flags (--format rssac002).
type rssacFlags struct {
	service, instance string
	exact             bool
}

func (o *analysisOptions) addRSSACFlags(fs *pflag.FlagSet) {
	o.rssac = &rssacFlags{}
	fs.StringVar(&o.rssac.service, "service", "", "rssac002: the service measured, as the files name it (e.g. a.root-servers.net)")
	fs.StringVar(&o.rssac.instance, "instance", "", "rssac002: the instance or site the capture was taken at, added to the file names")
	fs.BoolVar(&o.rssac.exact, "exact-sources", false, "rssac002: count distinct sources exactly (memory grows with them) instead of estimating them (HyperLogLog, 0.8 % standard error)")
}

// validateRSSAC checks --format rssac002 and its flags.
func (o *analysisOptions) validateRSSAC() error {
	if o.format != "rssac002" {
		if o.rssac != nil && (o.rssac.service != "" || o.rssac.instance != "" || o.rssac.exact) {
			return usageError("--service, --instance and --exact-sources are for --format rssac002")
		}
		return nil
	}
	switch {
	case o.rssac == nil:
		return usageError("--format rssac002 is for visor analyze")
	case o.output == "" || o.output == "-":
		return usageError("--format rssac002 writes files: give their directory with -o DIR")
	case o.rssac.service == "":
		return usageError("--format rssac002 needs --service NAME (e.g. a.root-servers.net)")
	case (24*60*60*1e9)%int64(o.bucket) != 0:
		return usageError("--format rssac002: --bucket %s must divide a day", o.bucket)
	}
	if err := (engine.RSSAC002Options{Service: o.rssac.service, Instance: o.rssac.instance}).Validate(); err != nil {
		return usageError("--service/--instance: %v", err)
	}
	return nil
}

// applyRSSAC puts the RSSAC002 settings into the engine's configuration.
func (o *analysisOptions) applyRSSAC() {
	if o.format == "rssac002" && o.rssac != nil {
		o.cfg.RSSAC002, o.cfg.ExactSources = true, o.rssac.exact
	}
}

// writeRSSAC writes the RSSAC002 files into -o DIR.
func writeRSSAC(opts *analysisOptions, rep *report.Report, stderr io.Writer) error {
	paths, err := engine.WriteRSSAC002(opts.output, engine.RSSAC002Options{Service: opts.rssac.service, Instance: opts.rssac.instance}, rep)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("visor: writing the RSSAC002 files: %w", err)}
	}
	if len(paths) == 0 {
		fmt.Fprintf(stderr, "visor: no DNS message was counted: no RSSAC002 file written to %s\n", opts.output)
	}
	return nil
}
