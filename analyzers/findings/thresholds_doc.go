package findings

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
)

// ThresholdDoc documents one --threshold name: the finding it belongs to,
// what it bounds, its default and the Thresholds field it sets.
type ThresholdDoc struct {
	Name, Kind, Meaning, Field string
	Default                    float64
}

// ThresholdDocs lists every threshold, by finding, then as Thresholds
// declares them (the reference in docs/findings.md is made from it).
func ThresholdDocs() ([]ThresholdDoc, error) {
	defs, err := thresholdDefaults()
	if err != nil {
		return nil, err
	}
	names := ThresholdNames()
	kindOrder := []string{KindRandomSubdomain, KindTunneling, KindNXDomainFlood, KindServfailStorm, KindQueryFlood, KindReflection, KindSYNFlood}
	rank := func(n string) int {
		if k, ok := thresholdMeanings[n]; ok {
			if i := slices.Index(kindOrder, k.kind); i >= 0 {
				return i
			}
		}
		return len(kindOrder)
	}
	slices.SortFunc(names, func(a, b string) int {
		if r := rank(a) - rank(b); r != 0 {
			return r
		}
		return defs[a].index - defs[b].index
	})
	out := make([]ThresholdDoc, 0, len(names))
	for _, n := range names {
		k, ok := thresholdMeanings[n]
		if !ok {
			return nil, fmt.Errorf("--threshold %s is not described in thresholdMeanings (analyzers/findings/thresholds_doc.go)", n)
		}
		out = append(out, ThresholdDoc{Name: n, Kind: k.kind, Meaning: k.meaning, Field: defs[n].field, Default: defs[n].value})
	}
	return out, nil
}

// thresholdMeanings says which detector each --threshold name belongs to and
// what it bounds; TestThresholdDocs fails when a name is missing here or no
// longer exists.
var thresholdMeanings = map[string]struct{ kind, meaning string }{
	"rs-names":        {"random_subdomain", "distinct names under the zone cut in a window, at least"},
	"rs-random":       {"random_subdomain", "share of a sample of those names that look machine-made, at least"},
	"rs-random-delta": {"random_subdomain", "by how much that share exceeds the one among the capture's other zone cuts, at least"},
	"rs-fail":         {"random_subdomain", "share of the cut's answers that are NXDOMAIN or SERVFAIL (one way to qualify; required for low and slow)"},
	"rs-unique":       {"random_subdomain", "distinct names per query under the cut (the other way)"},
	"rs-slow-names":   {"random_subdomain", "low and slow: distinct names over the capture's windows with machine-made names, at least"},
	"rs-word-fail":    {"random_subdomain", "names made of words: share of a sample of the distinct names whose answer failed, at least"},
	"rs-word-len":     {"random_subdomain", "names made of words: mean length of the longest label under the cut, at least"},
	"tun-short-len":   {"dns_tunneling", "short labels: mean length of the name's part under the cut, at least (with unique, machine-made, answered names of data types)"},
	"tun-queries":     {"dns_tunneling", "queries under the zone cut in a window, at least"},
	"tun-len":         {"dns_tunneling", "mean length in characters of the name's part under the cut, at least"},
	"tun-entropy":     {"dns_tunneling", "mean bits per character of the name's part under the cut, at least"},
	"tun-types":       {"dns_tunneling", "share of TXT, NULL, CNAME and MX queries (or a distinct-name share of at least 0.9)"},
	"nx-min":          {"nxdomain_flood", "NXDOMAIN responses not explained by a random_subdomain or tunnel finding, per window"},
	"nx-share":        {"nxdomain_flood", "their share of the window's responses"},
	"nx-rate":         {"nxdomain_flood", "NXDOMAIN responses per second at the busiest second"},
	"sf-min":          {"servfail_storm", "SERVFAIL responses not explained by a random_subdomain or tunnel finding, per window"},
	"sf-share":        {"servfail_storm", "their share of the window's responses"},
	"sf-rate":         {"servfail_storm", "SERVFAIL responses per second at the busiest second"},
	"flood-min":       {"query_flood", "queries from one address (or one /24 or /64), or to one address, per window"},
	"flood-rate":      {"query_flood", "queries per second from it (to it) at the busiest second"},
	"flood-names":     {"query_flood", "to one address from many sources: distinct names per query under the zone cut that half its queries or more asked for, at most"},
	"flood-rise":      {"query_flood", "to one address from many sources: the busiest second over the capture's ordinary rate (the lower quartile of its seconds), at least"},
	"flood-spoofed":   {"query_flood", "to one address from many sources: or the window's distinct query sources per query the address received (spoofed, each asks once), at least, whatever the ordinary rate"},
	"refl-bytes":      {"reflection", "bytes of responses towards one address per window"},
	"refl-rate":       {"reflection", "bytes per second of them at the busiest second"},
	"refl-ratio":      {"reflection", "response bytes over the bytes of the queries that address sent"},
	"refl-share":      {"reflection", "share of those responses that are ANY, large (UDP, >= 1024 bytes) or beyond its queries"},
	"syn-min":         {"tcp_syn_flood", "SYNs without ACK towards one address per window"},
	"syn-rate":        {"tcp_syn_flood", "SYNs per second at the busiest second"},
	"syn-complete":    {"tcp_syn_flood", "share of those SYNs that ACKs to the address could have completed, at most"},
}

// thresholdDefault is the Thresholds field a --threshold name sets,
// its place in the struct and its default.
type thresholdDefault struct {
	field string
	index int
	value float64
}

// thresholdDefaults finds, for each --threshold name, the Thresholds field it
// sets and its default, through the exported Set alone.
func thresholdDefaults() (map[string]thresholdDefault, error) {
	const probe = 123456.789 // no default has this value
	dv := reflect.ValueOf(DefaultThresholds())
	out := map[string]thresholdDefault{}
	for _, name := range ThresholdNames() {
		t := DefaultThresholds()
		if err := t.Set(name + "=" + strconv.FormatFloat(probe, 'f', -1, 64)); err != nil {
			return nil, err
		}
		tv := reflect.ValueOf(t)
		found := false
		for i := range tv.NumField() {
			if tv.Field(i).Kind() == reflect.Float64 && tv.Field(i).Float() == probe && dv.Field(i).Float() != probe {
				out[name] = thresholdDefault{tv.Type().Field(i).Name, i, dv.Field(i).Float()}
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("--threshold %s sets no float64 field of Thresholds", name)
		}
	}
	return out, nil
}
