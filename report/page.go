package report

import (
	"fmt"
	"strings"
	"time"
)

// What the HTML and Markdown reports share besides the story: the order
// of their sections, the --split-by parts, and their sentences. Each
// writer only marks them up.

// pageWriter renders the story's sections in one format; level is the
// heading level of a section (2 for the report, 3 inside a part).
type pageWriter interface {
	findings(level int)
	checks(level int)
	timeline(level int)
	breakdowns(level int)
	tops(level int)
	inputs(level int)
	integrity(level int)
}

// writeSections writes the sections of a report or of one part (a part
// has no assertions: they judge the whole).
func writeSections(w pageWriter, level int) {
	w.findings(level)
	if level == 2 {
		w.checks(level)
	}
	w.timeline(level)
	w.breakdowns(level)
	w.tops(level)
	w.inputs(level)
	w.integrity(level)
}

// The sentences both reports say.
const (
	noFindingText   = "No finding: no detector's threshold was crossed."
	noBucketText    = "No bucket: nothing to draw."
	estimateText    = "≈ marks an estimate: the true count lies between the estimate minus its ± error and the estimate."
	integrityOKText = "No problem: every packet read was analysed."
	integrityBad    = "Not everything was analysed:"
	edgesText       = "Normal at a capture's edges:"
	topsTitle       = "Top lists (whole run)"
	breakdownsTitle = "Response codes and query types"
)

// pageTitle is "visor report", with the inputs' paths.
func pageTitle(r *Report) string {
	title := "visor report"
	var names []string
	for _, in := range r.Inputs {
		names = append(names, in.Path)
	}
	if len(names) > 0 {
		title += ": " + strings.Join(names, ", ")
	}
	return title
}

// captureText is the capture's span in words, or "" without packet times.
func (s *story) captureText() string {
	if s.capFirst == 0 {
		return ""
	}
	return fmt.Sprintf("%s → %s UTC (%s)", clockOf(s.capFirst, true), clockOf(s.capLast, s.multiDay()), spaced(duration(time.Duration(s.capLast-s.capFirst))))
}

// bucketsText is "N buckets of D".
func (s *story) bucketsText() string {
	return fmt.Sprintf("%s buckets of %s", count(uint64(s.buckets)), spaced(duration(time.Duration(s.bucketNS))))
}

// findingsCount is "N finding(s)" of the story's report.
func (s *story) findingsCount() string {
	n := len(s.r.Findings)
	return fmt.Sprintf("%d finding%s", n, plural(n))
}

// spanText is a finding's span in words ("" when a time is unknown), and
// its peak ("" when unknown).
func (f *storyFinding) spanText(day bool) (span, peak string) {
	if f.Start != 0 && f.End != 0 {
		span = fmt.Sprintf("%s → %s UTC (%s)", clockOf(f.Start, day), clockOf(f.End, day), spaced(duration(time.Duration(f.End-f.Start))))
	}
	if f.Peak != 0 {
		peak = "peak " + clockOf(f.Peak, day)
	}
	return span, peak
}

// storyPart is one --split-by part, its story drawn on the whole's axis.
type storyPart struct {
	Title  string // "input a.pcap", "label server=ns1"
	Anchor string // "part-1", ...
	s      *story
}

// parts makes the stories of r's parts on s's time axis.
func (s *story) parts() ([]storyPart, error) {
	var out []storyPart
	for i := range s.r.Parts {
		p := &s.r.Parts[i]
		ps, err := newStoryOn(PartReport(s.r, p), PostMortemOptions{Top: s.o.Top}, s)
		if err != nil {
			return nil, err
		}
		out = append(out, storyPart{Title: p.By + " " + p.Key, Anchor: fmt.Sprintf("part-%d", i+1), s: ps})
	}
	return out, nil
}

// partLine is a part as the list of parts names it: its packets, queries
// and findings.
func (p *storyPart) partLine() string {
	r := p.s.r
	return fmt.Sprintf("%s packets, %s queries, %s", count(r.Summary.Net.Packets), count(r.Summary.DNS.Queries), p.s.findingsCount())
}

// partsTitle is the heading of the list of parts.
func partsTitle(r *Report) string {
	return fmt.Sprintf("Parts (%d, by %s)", len(r.Parts), r.Parts[0].By)
}
