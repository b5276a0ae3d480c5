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
