package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
)

// WriteJSON writes r to w as indented JSON (two spaces) with a trailing
// newline, matching visor.report.v1.schema.json. Nil slices and maps are
// written as [] and {}, and non-finite floats as 0 (JSON has neither null
// counts nor NaN); r itself is not modified. Buckets are encoded one at a
// time as they are read (EachBucket), so a long run's report is never whole
// in memory.
func WriteJSON(w io.Writer, r *Report) error {
	if r == nil {
		return errors.New("report: nil report")
	}
	n := normalized(r)
	var head bytes.Buffer
	enc := json.NewEncoder(&head)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // qnames and summaries stay readable
	if err := enc.Encode(&n); err != nil {
		return err
	}
	// The buckets go where the empty list is: the only top-level key at two
	// spaces after a newline (a newline in a string is escaped).
	const key = "\n  \"buckets\": []"
	i := bytes.Index(head.Bytes(), []byte(key))
	if i < 0 {
		return errors.New("report: json: no buckets key")
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(head.Bytes()[:i+len(key)-1])
	var one bytes.Buffer
	be := json.NewEncoder(&one)
	be.SetIndent("    ", "  ")
	be.SetEscapeHTML(false)
	sep := "\n    "
	err := r.EachBucket(func(b *Bucket) error {
		nb := *b
		nb.Section = normalizedSection(b.Section)
		one.Reset()
		if err := be.Encode(&nb); err != nil {
			return err
		}
		bw.WriteString(sep)
		sep = ",\n    "
		_, err := bw.Write(bytes.TrimSuffix(one.Bytes(), []byte("\n")))
		return err
	})
	if err != nil {
		return err
	}
	if sep != "\n    " {
		bw.WriteString("\n  ")
	}
	bw.Write(head.Bytes()[i+len(key)-1:])
	return bw.Flush()
}

// normalized returns a copy of r with empty collections instead of nil ones
// and no buckets (WriteJSON streams them). It shares no slice or map that it
// changes with r.
func normalized(r *Report) Report {
	n := *r
	n.Integrity = counts(n.Integrity)
	n.BucketSeconds = finite(n.BucketSeconds)
	n.Inputs = make([]Input, len(r.Inputs))
	for i, in := range r.Inputs {
		in.LinkTypes = counts(in.LinkTypes)
		n.Inputs[i] = in
	}
	n.Summary = normalizedSection(r.Summary)
	n.Buckets, n.Stored = []Bucket{}, nil
	n.Findings = make([]Finding, len(r.Findings))
	for i, f := range r.Findings {
		if f.Evidence == nil {
			f.Evidence = map[string]any{}
		}
		n.Findings[i] = f
	}
	n.Parts = normalizedParts(r.Parts) // parts.go
	return n
}

func normalizedSection(s Section) Section {
	t := &s.Net.Top
	t.SrcIPs, t.DstIPs = items(t.SrcIPs), items(t.DstIPs)
	s.Net.Rates.PPS = finiteQuantiles(s.Net.Rates.PPS)

	d := &s.DNS
	d.Rcodes, d.Qtypes = counts(d.Rcodes), counts(d.Qtypes)
	dt := &d.Top
	for _, l := range []*[]TopItem{&dt.QName, &dt.QName2, &dt.QName3, &dt.NXDomain, &dt.Servfail,
		&dt.Refused, &dt.Nodata, &dt.Clients, &dt.Slow} {
		*l = items(*l)
	}
	for _, x := range []*XactDir{&d.Xacts.In, &d.Xacts.Out, &d.Xacts.Unknown} {
		x.LatencyUS = finiteQuantiles(x.LatencyUS)
	}
	normalizedDepth(d)
	normalizedEncrypted(&s) // encdns.go
	return s
}

func counts(m map[string]uint64) map[string]uint64 {
	if m == nil {
		return map[string]uint64{}
	}
	return m
}

func items(l []TopItem) []TopItem {
	if l == nil {
		return []TopItem{}
	}
	return l
}

func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

func finiteQuantiles(q Quantiles) Quantiles {
	return Quantiles{P50: finite(q.P50), P90: finite(q.P90), P95: finite(q.P95), P99: finite(q.P99)}
}
