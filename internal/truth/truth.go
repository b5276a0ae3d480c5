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
	"strings"
)

// Capture is tshark's view of one capture file (see Tshark for the rules).
type Capture struct {
	File    string `json:"file"`
	Packets uint64 `json:"packets"`
	DNS     DNS    `json:"dns"`
}

// DNS are the DNS message counts of a Capture.
type DNS struct {
	Messages       uint64            `json:"messages"`
	Queries        uint64            `json:"queries"`
	Responses      uint64            `json:"responses"`
	UDP            uint64            `json:"udp"`
	TCP            uint64            `json:"tcp"`
	IPv4           uint64            `json:"ipv4"`
	IPv6           uint64            `json:"ipv6"`
	Nodata         uint64            `json:"nodata"`
	Rcodes         map[string]uint64 `json:"rcodes"`
	Qtypes         map[string]uint64 `json:"qtypes"`
	DistinctQnames uint64            `json:"distinct_qnames"`
	Xacts          uint64            `json:"xacts"`
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
	File     string `json:"file"`
	Kind     string `json:"kind"`
	Zone     string `json:"zone,omitempty"`
	Target   string `json:"target,omitempty"`
	Source   string `json:"source,omitempty"`
	Findings *int   `json:"findings,omitempty"`
	Start    string `json:"start,omitempty"`
}

// Key is what the attack's finding is about: its zone, target or source.
func (a *Attack) Key() string { return a.Zone + a.Target + a.Source }

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
