// Package engine is the run driver every command shares: it opens the
// inputs (files, directories, stdin), merges them in capture-time order,
// runs the analyzers, and fills the report's inputs and integrity; it
// carves findings' packets. It owns the resources it opens (files, GeoIP
// databases) and closes them. Its errors name files and offsets, never a
// program or flag name: the command adds those.
package engine

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/visor-dns/visor/analyzers"
	"github.com/visor-dns/visor/analyzers/findings"
	"github.com/visor-dns/visor/anonymize"
	"github.com/visor-dns/visor/filter"
	"github.com/visor-dns/visor/geo"
	"github.com/visor-dns/visor/report"
)

// Config is one analysis: what to read and how. Fill it, then Validate it
// once; after that it is read only.
type Config struct {
	Inputs        []string // files, directories, "-" for stdin
	Bucket        time.Duration
	Top           int
	DNSPorts      []uint16
	HostSpec      []netip.Prefix
	QNameSuffixes []string
	QNameRegex    string // RE2: keep only DNS messages whose name matches
	QNameExclude  string // RE2: leave out DNS messages whose name matches
	BPF           string // pcap-filter expression; "" passes everything
	XactTimeout   time.Duration
	Slow          time.Duration
	Shards        int      // 0: one per CPU
	Thresholds    []string // NAME=VALUE overrides of the findings thresholds
	GeoCity       string   // MaxMind City database path, or ""
	GeoASN        string   // MaxMind ASN database path, or ""
	Progress      string   // auto, always or never
	DoHSNI        []string // TLS server names of DNS over HTTPS on 443 ("default": the built-in list; nil: it alone)
	CarveDir      string   // write each finding's packets here, or ""
	Version       string   // visor's version, for the report
	// RSSAC002 counts RSSAC002's daily measurements into the report's
	// RSSAC002 (rssac002.go); ExactSources counts their distinct sources
	// exactly instead of estimating them.
	RSSAC002, ExactSources bool
	// Jobs is the number of CPUs a run uses (-j; 0: all): the command sets
	// GOMAXPROCS to it, and the shards follow GOMAXPROCS. With several
	// inputs and Jobs above 1, up to Jobs inputs are analysed at once,
	// each on its own, and the results merged through summaries
	// (summary.go); 1 reads the inputs as one capture, merged in time order.
	Jobs int
	// Labels (--label k=v) go into a summary's header; SplitBy ("",
	// "input" or "label") asks for one report part per input or label.
	Labels  []string
	SplitBy string

	// Anonymize (a key file) and AnonymizePrefix ("24/48") replace every
	// address by a pseudonym before anything is counted (docs/anonymize.md).
	Anonymize, AnonymizePrefix string

	filter     *filter.Filter
	include    *regexp.Regexp
	exclude    *regexp.Regexp
	thresholds *findings.Thresholds
	anon       *anonymize.Anonymizer
	valid      bool
}

// Sentinel errors of Validate, for the command to name its flags.
var (
	ErrBPF        = errors.New("bad filter expression")
	ErrThreshold  = errors.New("bad findings threshold")
	ErrQNameRegex = errors.New("bad name pattern")
	ErrAnonymize  = errors.New("cannot anonymize")
)

// Validate checks the values and compiles what they need (the filter, the
// thresholds), before any input is read.
func (c *Config) Validate() error {
	switch {
	case len(c.Inputs) == 0:
		return errors.New("no input")
	case c.Top < 1:
		return fmt.Errorf("top-N length must be at least 1, not %d", c.Top)
	case c.Bucket < time.Second || c.Bucket%time.Second != 0:
		return fmt.Errorf("bucket width must be a whole number of seconds, not %s", c.Bucket)
	case c.XactTimeout <= 0 || c.Slow <= 0:
		return errors.New("transaction timeout and slow threshold must be positive")
	}
	switch c.Progress {
	case "", "auto", "always", "never":
	default:
		return fmt.Errorf("progress must be auto, always or never, not %q", c.Progress)
	}
	c.filter = nil
	if c.BPF != "" {
		f, err := filter.Compile(c.BPF)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBPF, err)
		}
		c.filter = f
	}
	for _, p := range []struct {
		expr string
		re   **regexp.Regexp
	}{{c.QNameRegex, &c.include}, {c.QNameExclude, &c.exclude}} {
		*p.re = nil
		if p.expr != "" {
			re, err := regexp.Compile(p.expr)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrQNameRegex, err)
			}
			*p.re = re
		}
	}
	c.anon = nil
	if c.Anonymize != "" || c.AnonymizePrefix != "" {
		a, err := newAnonymizer(c.Anonymize, c.AnonymizePrefix)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrAnonymize, err)
		}
		c.anon = a
	}
	c.thresholds = nil
	if len(c.Thresholds) > 0 {
		t := findings.DefaultThresholds()
		for _, a := range c.Thresholds {
			if _, v, ok := strings.Cut(a, "="); ok {
				// NaN compares false with everything: it would switch a detector off unseen.
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
					return fmt.Errorf("%w: %s: the value must be a finite number", ErrThreshold, a)
				}
			}
			if err := t.Set(a); err != nil {
				return fmt.Errorf("%w: %w", ErrThreshold, err)
			}
		}
		c.thresholds = &t
	}
	if c.CarveDir != "" {
		for _, in := range c.Inputs {
			if in == "-" {
				return errors.New("carving reads the inputs a second time and cannot take stdin (-)")
			}
		}
	}
	if err := c.validateRSSAC(); err != nil {
		return err
	}
	c.valid = true
	return nil
}

// AnalyzerOptions are the analyzers' settings for c, without the GeoIP
// databases (see OpenGeo). c must be valid.
func (c *Config) AnalyzerOptions() analyzers.Options {
	return analyzers.Options{
		Bucket:        int64(c.Bucket),
		Top:           c.Top,
		DNSPorts:      c.DNSPorts,
		HostSpec:      c.HostSpec,
		QNameSuffixes: c.QNameSuffixes,
		XactTimeout:   int64(c.XactTimeout),
		Slow:          int64(c.Slow),
		Filter:        c.filter,
		DoHSNI:        c.DoHSNI,
		QNameInclude:  c.include,
		QNameExclude:  c.exclude,
		Shards:        c.Shards,
		Thresholds:    c.thresholds,
		RSSAC:         c.rssacOptions(),
		Anonymize:     c.anon,
	}
}

// Geo holds the opened GeoIP databases of a run.
type Geo struct{ City, ASN *geo.DB }

// ErrGeo marks a GeoIP database that could not be opened.
var ErrGeo = errors.New("cannot open GeoIP database")

// OpenGeo opens c's GeoIP databases; Close them when the run ends.
func (c *Config) OpenGeo() (*Geo, error) {
	g := &Geo{}
	for _, d := range []struct {
		path string
		kind geo.Kind
		db   **geo.DB
	}{{c.GeoCity, geo.City, &g.City}, {c.GeoASN, geo.ASN, &g.ASN}} {
		if d.path == "" {
			continue
		}
		db, err := geo.Open(d.path, d.kind)
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("%w (%s): %w", ErrGeo, d.kind, err)
		}
		*d.db = db
	}
	return g, nil
}

// Close closes the databases.
func (g *Geo) Close() error {
	var errs []error
	for _, db := range []*geo.DB{g.City, g.ASN} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}

// tool is the report's tool section.
func (c *Config) tool() report.Tool { return report.Tool{Name: "visor", Version: c.Version} }

// ThresholdDocs documents every findings threshold (--threshold NAME=VALUE).
func ThresholdDocs() ([]findings.ThresholdDoc, error) { return findings.ThresholdDocs() }

// ThresholdNames are the names --threshold takes.
func ThresholdNames() []string { return findings.ThresholdNames() }
