package findings

import (
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/decode"
	"github.com/visor-dns/visor/report"
)

// Finding is a detector's verdict before it is written: times in Unix ns,
// the evidence one of the kinds' typed structs.
type Finding struct {
	Kind       string
	Severity   string
	Confidence float64 // 0..1
	Summary    string
	Why        string   // the rule that held, with its numbers
	Next       []string // what to look at next
	Start      int64
	Peak       int64
	End        int64
	Explains   []report.Explained
	Evidence   evidence
}

// evidence is a kind's typed evidence: its JSON keys are documented in
// docs/findings.md, and it says which packets carving keeps.
type evidence interface {
	// selector fills in which packets belong to the finding.
	selector(s *Selector)
}

// Common is the evidence every kind has.
type Common struct {
	// Windows is how many detection windows (winSec seconds) the rule
	// held in.
	Windows int `json:"windows"`
}

// ZoneEvidence is the evidence of the kinds judged per zone cut
// (random_subdomain, dns_tunneling): the cut's counts in the finding's
// windows.
type ZoneEvidence struct {
	Common
	Zone             string            `json:"zone"`
	Queries          uint64            `json:"queries"`
	Responses        uint64            `json:"responses"`
	DistinctNames    uint64            `json:"distinct_names"`
	DistinctPerQuery float64           `json:"distinct_per_query"`
	NXDomain         uint64            `json:"nxdomain"`
	Servfail         uint64            `json:"servfail"`
	Sources          uint64            `json:"sources"`
	TopSources       []report.TopItem  `json:"top_sources"`
	Transport        map[string]uint64 `json:"transport"`
	IPVersion        map[string]uint64 `json:"ip_version"`
	LabelLenMean     float64           `json:"label_len_mean"`
	LabelEntropyMean float64           `json:"label_entropy_mean"`
	PeakQPS          float64           `json:"peak_qps"`
}

// zoneCommon fills in a zone cut's common evidence (not Windows nor PeakQPS).
func zoneCommon(z *zoneStat) ZoneEvidence {
	return ZoneEvidence{
		Zone: z.zone, Queries: z.q, Responses: z.r, DistinctNames: z.distinct(),
		DistinctPerQuery: round(share(z.distinct(), z.q)), NXDomain: z.nx, Servfail: z.sf,
		Sources: z.srcs.Estimate(), TopSources: addrItems(z.top.list(listLen)),
		Transport: map[string]uint64{"udp": z.udp, "tcp": z.tcp}, IPVersion: map[string]uint64{"ipv4": z.v4, "ipv6": z.v6},
		LabelLenMean: round(z.meanLen()), LabelEntropyMean: round(z.meanEntropy()),
	}
}

func (e *ZoneEvidence) selector(s *Selector) {
	s.zones, s.Key = []string{e.Zone}, e.Zone
}

// Report returns f in the report's form.
func (f *Finding) Report() report.Finding {
	ev := map[string]any{}
	if b, err := json.Marshal(f.Evidence); err == nil {
		_ = json.Unmarshal(b, &ev) // a struct of plain fields always decodes
	}
	return report.Finding{Kind: f.Kind, Severity: f.Severity, Confidence: f.Confidence, Summary: f.Summary,
		Why: f.Why, Next: f.Next, Explains: f.Explains,
		Start: report.Timestamp(f.Start), Peak: report.Timestamp(f.Peak), End: report.Timestamp(f.End), Evidence: ev}
}

// newEvidence returns an empty evidence struct of kind.
func newEvidence(kind string) (evidence, error) {
	if det := detectorOf(kind); det != nil {
		return det.evidence(), nil
	}
	return nil, fmt.Errorf("unknown finding kind %q", kind)
}

// Selector says which packets belong to a finding (visor analyze --carve):
// those in [From, To] that Match.
type Selector struct {
	From, To int64
	// Key names the finding in a carved file's name: its zone, target,
	// source or prefix.
	Key     string
	zones   []string
	rcode   int // with zones: only responses with this rcode; -1: every message
	addr    netip.Addr
	prefix  netip.Prefix
	synOnly bool
}

// SelectorOf returns the packet selection of a finding, from its kind,
// times and evidence.
func SelectorOf(f report.Finding) (*Selector, error) {
	if f.Start == 0 || f.End < f.Start {
		return nil, fmt.Errorf("finding %s has no valid start and end", f.Kind)
	}
	ev, err := newEvidence(f.Kind)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(f.Evidence)
	if err == nil {
		err = json.Unmarshal(b, ev)
	}
	if err != nil {
		return nil, fmt.Errorf("finding %s: evidence: %w", f.Kind, err)
	}
	s := &Selector{From: int64(f.Start), To: int64(f.End), rcode: -1, Key: "all"}
	ev.selector(s)
	return s, nil
}

// Match says whether a frame (isDNS: m is the DNS message it carries)
// belongs to the finding; the caller checks the time.
func (s *Selector) Match(f *visor.Frame, isDNS bool, m *decode.DNS) bool {
	switch {
	case len(s.zones) > 0:
		if !isDNS || !inZones(m.QName(), s.zones) {
			return false
		}
		return s.rcode < 0 || m.Response() && int(m.Rcode()) == s.rcode
	case s.synOnly:
		return f.Proto == visor.TransportTCP && f.TCPFlags&0x02 != 0 && (f.Dst == s.addr || f.Src == s.addr)
	case s.prefix.IsValid():
		return isDNS && (!m.Response() && s.prefix.Contains(f.Src) || m.Response() && s.prefix.Contains(f.Dst))
	case s.addr.IsValid():
		// Everything to and from it, IP fragments of its answers included.
		return f.Src == s.addr || f.Dst == s.addr
	}
	return false
}

func inZones(name []byte, zones []string) bool {
	for _, z := range zones {
		if len(name) == len(z) && string(name) == z ||
			len(name) > len(z) && name[len(name)-len(z)-1] == '.' && string(name[len(name)-len(z):]) == z {
			return true
		}
	}
	return false
}
