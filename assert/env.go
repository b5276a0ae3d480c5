package assert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/visor-dns/visor/report"
)

// Env holds the expression environments of one report: the summary's and
// every bucket's. Names are the JSON report's keys: the keys of a section
// (net, dns) at the root, plus findings, integrity, inputs and
// bucket_seconds. Every number is a float64.
type Env struct {
	summary map[string]any
	buckets []bucketEnv
	// baseline is the baseline's summary environment (SetBaseline), or nil.
	baseline map[string]any
}

// Baseline is the root name under which SetBaseline puts the baseline.
const Baseline = "baseline"

// SetBaseline makes base's whole run readable as baseline.* beside the
// current values, in the summary and in every bucket alike: baseline.net,
// baseline.dns, baseline.findings, baseline.integrity, baseline.inputs and
// baseline.bucket_seconds. A bucket compares with the baseline's whole
// run, since the two runs' buckets need not line up.
func (e *Env) SetBaseline(base *report.Report) error {
	be, err := NewEnv(base)
	if err != nil {
		return err
	}
	e.baseline = be.summary
	e.summary[Baseline] = e.baseline
	for i := range e.buckets {
		e.buckets[i].vars[Baseline] = e.baseline
	}
	return nil
}

type bucketEnv struct {
	start, end string
	vars       map[string]any
}

// Buckets returns how many buckets the report has.
func (e *Env) Buckets() int { return len(e.buckets) }

// NewEnv builds the environments from rep as its JSON rendering spells it,
// so that a name in an expression is exactly a JSON path.
func NewEnv(rep *report.Report) (*Env, error) {
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, rep); err != nil {
		return nil, err
	}
	var doc struct {
		Integrity     map[string]any   `json:"integrity"`
		BucketSeconds float64          `json:"bucket_seconds"`
		Inputs        []any            `json:"inputs"`
		Summary       map[string]any   `json:"summary"`
		Buckets       []map[string]any `json:"buckets"`
		Findings      []any            `json:"findings"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		return nil, fmt.Errorf("assert: reading the report back: %w", err)
	}
	// Keys left out when zero (omitempty) are put back, so that a field
	// the model knows is never an unknown field.
	sectionSkel := skeleton(reflect.TypeFor[report.Section]())
	inputSkel := skeleton(reflect.TypeFor[report.Input]())
	for i, in := range doc.Inputs {
		doc.Inputs[i] = overlay(inputSkel, in)
	}
	root := func(section map[string]any, findings []any) map[string]any {
		vars := overlay(sectionSkel, section).(map[string]any)
		vars["integrity"] = orEmpty(doc.Integrity)
		vars["inputs"] = doc.Inputs
		vars["bucket_seconds"] = doc.BucketSeconds
		vars["findings"] = findings
		return vars
	}
	e := &Env{summary: root(doc.Summary, orEmptyList(doc.Findings))}
	for _, b := range doc.Buckets {
		start, _ := b["start"].(string)
		end, _ := b["end"].(string)
		delete(b, "start")
		delete(b, "end")
		e.buckets = append(e.buckets, bucketEnv{start: start, end: end,
			vars: root(b, findingsIn(doc.Findings, start, end))})
	}
	return e, nil
}

// findingsIn returns the findings that overlap the bucket [start, end); a
// finding whose times do not parse is in every bucket.
func findingsIn(all []any, start, end string) []any {
	out := []any{}
	bs, err1 := time.Parse(time.RFC3339Nano, start)
	be, err2 := time.Parse(time.RFC3339Nano, end)
	for _, f := range all {
		m, _ := f.(map[string]any)
		fs, err3 := time.Parse(time.RFC3339Nano, str(m["start"]))
		fe, err4 := time.Parse(time.RFC3339Nano, str(m["end"]))
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || (fs.Before(be) && !fe.Before(bs)) {
			out = append(out, f)
		}
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func orEmptyList(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

// skeleton is the zero value of t as JSON would decode it into an any,
// with every struct field present whatever its omitempty.
func skeleton(t reflect.Type) any {
	switch t.Kind() {
	case reflect.Struct:
		m := map[string]any{}
		skeletonFields(m, t)
		return m
	case reflect.Map:
		return map[string]any{}
	case reflect.Slice, reflect.Array:
		return []any{}
	case reflect.String:
		return ""
	case reflect.Bool:
		return false
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return float64(0)
	}
	return nil
}

func skeletonFields(m map[string]any, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			skeletonFields(m, f.Type)
			continue
		}
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = skeleton(f.Type)
	}
}

// overlay returns v with every key of skel that v lacks, recursively
// through objects. v's own values win.
func overlay(skel, v any) any {
	sm, ok1 := skel.(map[string]any)
	vm, ok2 := v.(map[string]any)
	if !ok1 {
		return v
	}
	if !ok2 {
		if v != nil {
			return v
		}
		vm = map[string]any{}
	}
	for k, s := range sm {
		if cur, ok := vm[k]; ok {
			vm[k] = overlay(s, cur)
		} else {
			vm[k] = clone(s)
		}
	}
	return vm
}

func clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = clone(x)
		}
		return m
	case []any:
		return append([]any{}, v...)
	}
	return v
}
