// Package truth holds the reference counts visor is tested against, computed
// by independent tools: tshark for captures (Capture, FILE.truth.json),
// dnstap-read for dnstap files (Tap, FILE.dnstap-read.json), and the lab's
// record of the attacks it launched (Attack, FILE.findings.json).
//
// One type per kind of truth, shared by the tool that writes the files
// (scripts/truth), the lab scenarios that make fresh ones (internal/lab) and
// the tests that read the committed ones (cmd/visor).
package truth

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/visor-dns/visor/report"
)

// Capture is tshark's view of one capture file (see Tshark for the rules).
type Capture struct {
	File    string `json:"file"`
	Packets uint64 `json:"packets"`
	DNS     DNS    `json:"dns"`
}

// DNS are tshark's DNS message counts of a Capture, held in visor's own
// model (report.DNS: one definition of each count, and Diff compares them
// field by field). A truth file keeps only the counts tshark gives, those
// of fileCounts, in that order.
type DNS report.DNS

// fileCount is one member of a truth file's "dns" object and the field of
// DNS it holds.
type fileCount struct {
	name string
	v    any // *uint64 or *map[string]uint64
}

// fileCounts lists the members of a truth file's "dns" object in the
// file's order.
func (d *DNS) fileCounts() []fileCount {
	return []fileCount{
		{"messages", &d.Messages}, {"queries", &d.Queries}, {"responses", &d.Responses},
		{"udp", &d.UDP}, {"tcp", &d.TCP}, {"ipv4", &d.IPv4}, {"ipv6", &d.IPv6},
		{"nodata", &d.Nodata}, {"rcodes", &d.Rcodes}, {"qtypes", &d.Qtypes},
		{"distinct_qnames", &d.Cardinality.QName}, {"xacts", &d.Xacts.Total},
	}
}

// MarshalJSON writes the counts of fileCounts, in order.
func (d DNS) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, c := range d.fileCounts() {
		v, err := json.Marshal(c.v)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(append(strconv.AppendQuote(b, c.name), ':'), v...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads the counts of fileCounts; other members are ignored.
func (d *DNS) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for _, c := range d.fileCounts() {
		if raw, ok := m[c.name]; ok {
			if err := json.Unmarshal(raw, c.v); err != nil {
				return fmt.Errorf("dns.%s: %w", c.name, err)
			}
		}
	}
	return nil
}

// Tap is dnstap-read's count of one dnstap file's messages. The fields are
// in alphabetical order: the files were first written by `jq -S`.
type Tap struct {
	File      string            `json:"file"`
	Identity  string            `json:"identity"`
	Messages  uint64            `json:"messages"`
	Queries   uint64            `json:"queries"`
	Responses uint64            `json:"responses"`
	Tool      string            `json:"tool"`
	Types     map[string]uint64 `json:"types"`
	Version   string            `json:"version"`
}

// Attack is what the lab launched while capturing one file: the finding
// visor must report (Kind, about Zone, Target or Source) and when the
// attack began (RFC 3339, the capture's clock). Ordinary traffic has an
// empty Kind and Findings 0.
type Attack struct {
	File string `json:"file"`
	Expect
	Findings *int   `json:"findings,omitempty"`
	Start    string `json:"start,omitempty"`
}

// Expect is a finding visor must report: its kind and what it is about
// (Zone, or Target, or Source). The lab's attacks (Attack) and the findings
// corpus (internal/lab's Expected) say it so.
type Expect struct {
	Kind   string `json:"kind"`
	Zone   string `json:"zone,omitempty"`
	Target string `json:"target,omitempty"`
	Source string `json:"source,omitempty"`
}

// Key is what the finding is about: its zone, target or source.
func (e Expect) Key() string { return e.Zone + e.Target + e.Source }

// Directions sums the message types visor counts as in (the logging server
// was asked: CLIENT_*, AUTH_*, UPDATE_*) and out (it asked: RESOLVER_*,
// FORWARDER_*, STUB_*).
func (t *Tap) Directions() (in, out uint64) {
	for typ, n := range t.Types {
		switch {
		case strings.HasPrefix(typ, "CLIENT_"), strings.HasPrefix(typ, "AUTH_"), strings.HasPrefix(typ, "UPDATE_"):
			in += n
		case strings.HasPrefix(typ, "RESOLVER_"), strings.HasPrefix(typ, "FORWARDER_"), strings.HasPrefix(typ, "STUB_"):
			out += n
		}
	}
	return in, out
}

// Read decodes the truth file at path into v (a *Capture, *Tap or *Attack).
func Read(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("cannot parse %s: %w", path, err)
	}
	return nil
}

// Write writes v as indented JSON with a final newline, the form of the
// committed .truth.json and .dnstap-read.json files.
func Write(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// WriteLine writes v as one line of JSON, the form of .findings.json files.
func WriteLine(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
