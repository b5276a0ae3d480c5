// Package rssac002 writes the daily measurements of RSSAC002 version 5
// (ICANN's "RSSAC Advisory on Measurements of the Root Server System"):
// one YAML file per UTC day and metric, traffic-volume, traffic-sizes,
// rcode-volume and unique-sources. It holds the values (Day) and their
// files; the analyzers count them (analyzers/dns/rssac.go). What is counted
// and why is in docs/rssac002.md.
package rssac002

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/visor-dns/visor/internal/outfile"
)

// Version is the value of every file's version key.
const Version = "rssac002v5"

// Bins is the number of 16-byte size bins, 0-15 to 65520-65535.
const Bins = 65536 >> 4

// Metrics are the metrics written, in file order.
var Metrics = []string{"traffic-volume", "traffic-sizes", "rcode-volume", "unique-sources"}

// Transport and IP version indexes of Day's arrays.
const (
	UDP, TCP   = 0, 1
	IPv4, IPv6 = 0, 1
)

// Day is one UTC day's measurements.
type Day struct {
	Start int64 // 00:00:00 UTC of the day, Unix ns
	// First and Last are the times of the first and last message counted
	// (Unix ns): a capture that does not cover the day says so.
	First, Last int64
	// Queries received and responses sent, by transport and IP version.
	Queries, Responses [2][2]uint64
	// RequestSizes and ResponseSizes by transport, in 16-byte bins of the
	// DNS message's length (without TCP's two-byte length prefix).
	RequestSizes, ResponseSizes [2][Bins]uint64
	// Rcodes counts responses by 12-bit rcode (the OPT record's extended
	// rcode above the header's four bits).
	Rcodes [4096]uint64
	// Distinct sources of queries: IPv4 addresses, IPv6 addresses, IPv6 /64
	// prefixes. Exact tells whether they were counted exactly; otherwise
	// they are HyperLogLog estimates with relative standard error
	// SourceError.
	Sources4, Sources6, Sources6Agg uint64
	Exact                           bool
	SourceError                     float64
}

// Options name the service measured.
type Options struct {
	Service  string // RSSAC002's service, e.g. a.root-servers.net
	Instance string // optional: the site or instance the capture was taken at
}

// Validate checks the names: they go into file names and YAML.
func (o Options) Validate() error {
	if o.Service == "" {
		return errors.New("rssac002: no service name")
	}
	for _, s := range []string{o.Service, o.Instance} {
		if strings.ContainsAny(s, "/\\\n\r:#'\"") || strings.TrimSpace(s) != s {
			return fmt.Errorf("rssac002: name %q: names may not hold /, \\, :, #, quotes, line breaks or edge spaces", s)
		}
	}
	return nil
}

// FileName is the name of a day's file of one metric:
// SERVICE[-INSTANCE]-YYYYMMDD-METRIC.yaml.
func FileName(o Options, day int64, metric string) string {
	name := o.Service
	if o.Instance != "" {
		name += "-" + o.Instance
	}
	return name + "-" + time.Unix(0, day).UTC().Format("20060102") + "-" + metric + ".yaml"
}

// WriteDir writes every day's four files into dir (made if missing), each
// atomically, and returns their paths in order.
func WriteDir(dir string, o Options, days []Day) ([]string, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	var paths []string
	for i := range days {
		for _, m := range Metrics {
			p := filepath.Join(dir, FileName(o, days[i].Start, m))
			err := outfile.Write(p, func(f *os.File) error { return Write(f, o, &days[i], m) })
			if err != nil {
				return paths, err
			}
			paths = append(paths, p)
		}
	}
	return paths, nil
}

// Write writes d's document of metric to w.
func Write(w io.Writer, o Options, d *Day, metric string) error {
	if err := o.Validate(); err != nil {
		return err
	}
	var b bytes.Buffer
	day := time.Unix(0, d.Start).UTC()
	if o.Instance != "" {
		fmt.Fprintf(&b, "# instance: %s\n", o.Instance)
	}
	if d.First > d.Start || d.Last < d.Start+int64(24*time.Hour)-int64(time.Second) {
		fmt.Fprintf(&b, "# the capture covers %s to %s UTC of this day, not all of it\n",
			time.Unix(0, d.First).UTC().Format("15:04:05"), time.Unix(0, d.Last).UTC().Format("15:04:05"))
	}
	if metric == "unique-sources" && !d.Exact {
		fmt.Fprintf(&b, "# distinct sources estimated (HyperLogLog, relative standard error %.1f %%); --exact-sources counts them exactly\n", 100*d.SourceError)
	}
	fmt.Fprintf(&b, "---\nversion: %s\nservice: %s\nstart-period: %s\nmetric: %s\n", Version, o.Service, day.Format("2006-01-02T15:04:05Z"), metric)
	kv := func(k string, v uint64) { b.WriteString(k + ": " + strconv.FormatUint(v, 10) + "\n") }
	switch metric {
	case "traffic-volume":
		for _, kind := range []struct {
			name, verb string
			n          *[2][2]uint64
		}{{"queries", "received", &d.Queries}, {"responses", "sent", &d.Responses}} {
			for t, tn := range []string{"udp", "tcp"} {
				for ip, in := range []string{"ipv4", "ipv6"} {
					kv("dns-"+tn+"-"+kind.name+"-"+kind.verb+"-"+in, kind.n[t][ip])
				}
			}
		}
	case "traffic-sizes":
		for _, s := range []struct {
			key  string
			bins *[Bins]uint64
		}{{"udp-request-sizes", &d.RequestSizes[UDP]}, {"udp-response-sizes", &d.ResponseSizes[UDP]},
			{"tcp-request-sizes", &d.RequestSizes[TCP]}, {"tcp-response-sizes", &d.ResponseSizes[TCP]}} {
			any := false
			for _, n := range s.bins {
				if n > 0 {
					any = true
					break
				}
			}
			if !any {
				b.WriteString(s.key + ": {}\n")
				continue
			}
			b.WriteString(s.key + ":\n")
			for i, n := range s.bins {
				if n > 0 {
					kv("  "+strconv.Itoa(i<<4)+"-"+strconv.Itoa(i<<4+15), n)
				}
			}
		}
	case "rcode-volume":
		for rc, n := range d.Rcodes {
			if n > 0 {
				kv(strconv.Itoa(rc), n)
			}
		}
	case "unique-sources":
		kv("num-sources-ipv4", d.Sources4)
		kv("num-sources-ipv6", d.Sources6)
		kv("num-sources-ipv6-aggregate", d.Sources6Agg)
	default:
		return fmt.Errorf("rssac002: unknown metric %q", metric)
	}
	_, err := w.Write(b.Bytes())
	return err
}
