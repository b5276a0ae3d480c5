package findings

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Thresholds are the detectors' settings. Counts are per detection window
// (winSec = 10 seconds of capture time, whatever --bucket is); rates are
// per second, at the window's busiest second.
type Thresholds struct {
	// random_subdomain, per zone cut and window: at least RSNames distinct
	// names, a share RSRandom of a sample of them machine-made and RSRandomDelta
	// more than among the capture's other cuts, and either a share RSFail
	// of NXDOMAIN+SERVFAIL answers or RSUnique distinct names per query.
	// Over the whole capture (low and slow): RSSlowNames distinct names in
	// the windows where machine-made names showed, with the same shares and
	// a failure share of RSFail.
	RSNames       float64
	RSRandom      float64
	RSRandomDelta float64
	RSFail        float64
	RSUnique      float64
	RSSlowNames   float64
	// random_subdomain of names made of words (a dictionary DGA: few look
	// machine-made by their characters), per zone cut and window: at least
	// RSNames distinct names, a share RSWordFail of a sample of them failed,
	// a share RSFail of the cut's answers failed, and the longest label of
	// the names' part under the cut RSWordLen characters on average
	// (blocklist lookups and PTR sweeps, digits of at most 3, are not).
	RSWordFail, RSWordLen float64
	// nxdomain_flood: NXDOMAIN responses not explained by a random_subdomain
	// or tunnel finding, at least NXMin in the window, NXRate per second at
	// the peak and a share NXShare of the window's responses.
	NXMin, NXRate, NXShare float64
	// servfail_storm: SERVFAIL responses, likewise.
	SFMin, SFRate, SFShare float64
	// query_flood: queries from one address, or one /24 or /64, at least
	// FloodMin in the window and FloodRate per second at the peak; or, to
	// one address from sources of which no one address nor prefix sent
	// half, likewise and FloodRise times the capture's ordinary rate (the
	// lower quartile of its seconds) at the peak, or with at least
	// FloodSpoofed distinct query sources in the window per query it
	// received (spoofed: each asks once), whatever the ordinary rate; and
	// half its queries or more for names of one zone cut, at most
	// FloodNames distinct names a query there (a flood asks again and
	// again; ordinary traffic, however busy, for many names).
	FloodMin, FloodRate, FloodRise, FloodSpoofed, FloodNames float64
	// reflection: responses towards one address of at least ReflBytes in
	// the window and ReflRate bytes per second at the peak, at least
	// ReflRatio times the bytes of the queries it sent, and a share
	// ReflShare of ANY or large (>= 1024 bytes) UDP answers, or of
	// responses beyond its queries (unmatched).
	ReflBytes, ReflRate, ReflRatio, ReflShare float64
	// dns_tunneling, per zone cut: at least TunQueries queries, names whose
	// part under the cut is on average TunLen characters long with
	// TunEntropy bits per character, and either a share TunTypes of TXT,
	// NULL, CNAME and MX queries or a distinct-name share of at least 0.9.
	TunQueries, TunLen, TunEntropy, TunTypes float64
	// dns_tunneling with short labels (dnscat2-like hex, base32 in short
	// labels): at least TunQueries queries, the part under the cut
	// TunShortLen characters on average, a share TunTypes of data types,
	// 0.9 distinct names per query, a share RSRandom of the sampled names
	// machine-made, and less than a share RSFail of the answers failed
	// (the tunnel's server answers; a random-subdomain attack fails).
	TunShortLen float64
	// tcp_syn_flood: SYNs (without ACK) towards one address, at least SYNMin
	// in the window and SYNRate per second at the peak, of which at most a
	// share SYNComplete could have completed (ACKs to the address).
	SYNMin, SYNRate, SYNComplete float64
}

// DefaultThresholds are the documented defaults.
func DefaultThresholds() Thresholds {
	return Thresholds{
		RSNames: 50, RSRandom: 0.5, RSRandomDelta: 0.3, RSFail: 0.5, RSUnique: 0.4, RSSlowNames: 200,
		RSWordFail: 0.9, RSWordLen: 8,
		NXMin: 200, NXRate: 50, NXShare: 0.5,
		SFMin: 50, SFRate: 10, SFShare: 0.2,
		FloodMin: 1000, FloodRate: 1000, FloodRise: 3, FloodSpoofed: 0.9, FloodNames: 0.1,
		ReflBytes: 200e3, ReflRate: 100e3, ReflRatio: 5, ReflShare: 0.5,
		TunQueries: 50, TunLen: 30, TunEntropy: 3.5, TunTypes: 0.3, TunShortLen: 16,
		SYNMin: 200, SYNRate: 100, SYNComplete: 0.5,
	}
}

// fields maps the --threshold names to the fields.
func (t *Thresholds) fields() map[string]*float64 {
	return map[string]*float64{
		"rs-names": &t.RSNames, "rs-random": &t.RSRandom, "rs-random-delta": &t.RSRandomDelta,
		"rs-fail": &t.RSFail, "rs-unique": &t.RSUnique, "rs-slow-names": &t.RSSlowNames,
		"rs-word-fail": &t.RSWordFail, "rs-word-len": &t.RSWordLen,
		"nx-min": &t.NXMin, "nx-rate": &t.NXRate, "nx-share": &t.NXShare,
		"sf-min": &t.SFMin, "sf-rate": &t.SFRate, "sf-share": &t.SFShare,
		"flood-min": &t.FloodMin, "flood-rate": &t.FloodRate, "flood-rise": &t.FloodRise,
		"flood-spoofed": &t.FloodSpoofed, "flood-names": &t.FloodNames,
		"refl-bytes": &t.ReflBytes, "refl-rate": &t.ReflRate, "refl-ratio": &t.ReflRatio, "refl-share": &t.ReflShare,
		"tun-queries": &t.TunQueries, "tun-len": &t.TunLen, "tun-entropy": &t.TunEntropy, "tun-types": &t.TunTypes,
		"tun-short-len": &t.TunShortLen,
		"syn-min":       &t.SYNMin, "syn-rate": &t.SYNRate, "syn-complete": &t.SYNComplete,
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

// Lowest returns t with each threshold the lower of t's and o's (for the
// minimums a summary prunes by, where lower keeps more).
func (t Thresholds) Lowest(o Thresholds) Thresholds {
	of := o.fields()
	for k, p := range t.fields() {
		*p = min(*p, *of[k])
	}
	return t
}
