package findings

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Thresholds are the detectors' settings. Counts are per bucket; rates are
// per second, measured over the busiest slot of a bucket (a bucket is cut
// into 64 slots of at least one second), so the defaults work with the
// default one-minute bucket as well as with one-second buckets.
type Thresholds struct {
	// random_subdomain, per zone and bucket: at least RSNames distinct
	// names, at least RSUnique distinct names per query, and either a
	// share of NXDOMAIN+SERVFAIL responses of at least RSFail or labels
	// under the zone longer (RSLenDelta characters) or more random
	// (RSEntropyDelta bits per character) than the capture's other zones.
	RSNames        float64
	RSUnique       float64
	RSFail         float64
	RSLenDelta     float64
	RSEntropyDelta float64
	// nxdomain_flood: NXDOMAIN responses not explained by a random_subdomain
	// finding, at least NXMin in the bucket, NXRate per second at the peak
	// and a share NXShare of the bucket's responses.
	NXMin, NXRate, NXShare float64
	// servfail_storm: SERVFAIL responses, likewise.
	SFMin, SFRate, SFShare float64
	// query_flood: queries from one address, or one /24 or /64, at least
	// FloodMin in the bucket and FloodRate per second at the peak.
	FloodMin, FloodRate float64
	// reflection: responses towards one address of at least ReflBytes in
	// the bucket and ReflRate bytes per second at the peak, at least
	// ReflRatio times the bytes of the queries it sent, and a share
	// ReflShare of ANY or large (>= 1024 bytes) UDP answers, or of
	// responses beyond its queries (unmatched).
	ReflBytes, ReflRate, ReflRatio, ReflShare float64
	// dns_tunneling, per zone: at least TunQueries queries, names whose part
	// under the zone is on average TunLen characters long with TunEntropy
	// bits per character, and either a share TunTypes of TXT, NULL, CNAME
	// and MX queries or a distinct-name share of at least 0.9.
	TunQueries, TunLen, TunEntropy, TunTypes float64
	// tcp_syn_flood: SYNs (without ACK) towards one address, at least SYNMin
	// in the bucket and SYNRate per second at the peak.
	SYNMin, SYNRate float64
}

// DefaultThresholds are the documented defaults.
func DefaultThresholds() Thresholds {
	return Thresholds{
		RSNames: 50, RSUnique: 0.4, RSFail: 0.5, RSLenDelta: 4, RSEntropyDelta: 1,
		NXMin: 200, NXRate: 50, NXShare: 0.5,
		SFMin: 50, SFRate: 10, SFShare: 0.2,
		FloodMin: 1000, FloodRate: 1000,
		ReflBytes: 200e3, ReflRate: 100e3, ReflRatio: 5, ReflShare: 0.5,
		TunQueries: 50, TunLen: 30, TunEntropy: 3.5, TunTypes: 0.3,
		SYNMin: 200, SYNRate: 100,
	}
}

// fields maps the --threshold names to the fields.
func (t *Thresholds) fields() map[string]*float64 {
	return map[string]*float64{
		"rs-names": &t.RSNames, "rs-unique": &t.RSUnique, "rs-fail": &t.RSFail,
		"rs-len-delta": &t.RSLenDelta, "rs-entropy-delta": &t.RSEntropyDelta,
		"nx-min": &t.NXMin, "nx-rate": &t.NXRate, "nx-share": &t.NXShare,
		"sf-min": &t.SFMin, "sf-rate": &t.SFRate, "sf-share": &t.SFShare,
		"flood-min": &t.FloodMin, "flood-rate": &t.FloodRate,
		"refl-bytes": &t.ReflBytes, "refl-rate": &t.ReflRate, "refl-ratio": &t.ReflRatio, "refl-share": &t.ReflShare,
		"tun-queries": &t.TunQueries, "tun-len": &t.TunLen, "tun-entropy": &t.TunEntropy, "tun-types": &t.TunTypes,
		"syn-min": &t.SYNMin, "syn-rate": &t.SYNRate,
	}
}

// ThresholdNames lists the names Set takes, sorted.
func ThresholdNames() []string {
	var t Thresholds
	var names []string
	for k := range t.fields() {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Set parses "name=value" (as --threshold takes it) and sets that threshold.
func (t *Thresholds) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	k = strings.TrimSpace(k)
	if !ok {
		return fmt.Errorf("%q is not name=value", kv)
	}
	p := t.fields()[k]
	if p == nil {
		return fmt.Errorf("unknown name %q (one of %s)", k, strings.Join(ThresholdNames(), ", "))
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 {
		return fmt.Errorf("%s: %q is not a number >= 0", k, v)
	}
	*p = f
	return nil
}
