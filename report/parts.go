package report

// Part is the report of one input, or of one label set, beside the whole
// (--split-by input|label): the same sections as the report itself, for
// that part of the inputs alone.
type Part struct {
	By        string            `json:"by"`  // "input" or "label"
	Key       string            `json:"key"` // the input's path, or the labels as k=v,k=v
	Labels    map[string]string `json:"labels,omitempty"`
	Inputs    []Input           `json:"inputs"`
	Integrity map[string]uint64 `json:"integrity"`
	Summary   Section           `json:"summary"`
	Buckets   []Bucket          `json:"buckets"`
	Findings  []Finding         `json:"findings"`
}

// PartReport is p as a report of its own (for the writers that render a
// part the way they render a report).
func PartReport(r *Report, p *Part) *Report {
	return &Report{Schema: r.Schema, Tool: r.Tool, Inputs: p.Inputs, Integrity: p.Integrity,
		BucketSeconds: r.BucketSeconds, Summary: p.Summary, Buckets: p.Buckets, Findings: p.Findings}
}

// normalizedParts is parts with empty collections instead of nil ones, as
// WriteJSON writes a report's own sections.
func normalizedParts(parts []Part) []Part {
	if parts == nil {
		return nil
	}
	out := make([]Part, len(parts))
	for i, p := range parts {
		p.Integrity = counts(p.Integrity)
		p.Summary = normalizedSection(p.Summary)
		p.Inputs = append([]Input(nil), p.Inputs...)
		for j := range p.Inputs {
			p.Inputs[j].LinkTypes = counts(p.Inputs[j].LinkTypes)
		}
		p.Buckets = append([]Bucket{}, p.Buckets...)
		for j := range p.Buckets {
			p.Buckets[j].Section = normalizedSection(p.Buckets[j].Section)
		}
		if p.Findings == nil {
			p.Findings = []Finding{}
		}
		out[i] = p
	}
	return out
}
