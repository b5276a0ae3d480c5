package assert

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// ResultSchema names the JSON result document's version.
const ResultSchema = "visor.check/v1"

// textBuckets is how many failing buckets the text lists per assertion.
const textBuckets = 10

// WriteText writes one PASS or FAIL line per assertion with the values it
// read, the failing buckets under a per-bucket assertion, and a total.
func WriteText(w io.Writer, rs *Results) error {
	var b strings.Builder
	for _, r := range rs.Assertions {
		status := "PASS"
		if !r.Passed {
			status = "FAIL"
		}
		fmt.Fprintf(&b, "%s  %s", status, title(r.Assertion))
		fmt.Fprintf(&b, "   (%s)\n", outcome(r))
		if !r.Passed && r.Description != "" {
			fmt.Fprintf(&b, "      %s\n", r.Description)
		}
		for i, f := range r.Failing {
			if i == textBuckets {
				fmt.Fprintf(&b, "      ... and %d more buckets\n", len(r.Failing)-textBuckets)
				break
			}
			fmt.Fprintf(&b, "      %s–%s  (%s)\n", f.Start, f.End, FormatValues(f.Values))
		}
	}
	passed, failed := rs.Counts()
	noun := "assertions"
	if passed+failed == 1 {
		noun = "assertion"
	}
	fmt.Fprintf(&b, "\n%d %s: %d passed, %d failed\n", passed+failed, noun, passed, failed)
	if rs.Interrupted {
		b.WriteString("INCOMPLETE: the run was interrupted; the values cover only part of the input, so the check does not pass\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// outcome is the values of an assertion on the whole run, or how many
// buckets a per-bucket assertion failed in.
func outcome(r Result) string {
	switch {
	case !r.PerBucket:
		return FormatValues(r.Values)
	case r.Buckets == 0:
		return "per bucket: no bucket to check"
	case r.Passed:
		return fmt.Sprintf("per bucket: true in all %d", r.Buckets)
	}
	return fmt.Sprintf("per bucket: false in %d of %d", len(r.Failing), r.Buckets)
}

// title is "expr", or "name: expr" when the assertion has its own name.
func title(a Assertion) string {
	if a.Name == "" || a.Name == a.Expr {
		return a.Expr
	}
	return a.Name + ": " + a.Expr
}

// FormatValues writes fields as name=value, then the computed operands:
// "a=9, b=1214 → 0.007414", or "→ x = 1, y = 2" when there are several.
func FormatValues(vs []Value) string {
	var fields, derived []string
	var lastDerived string
	for _, v := range vs {
		if v.Derived {
			derived = append(derived, v.Name+" = "+FormatValue(v.Value))
			lastDerived = FormatValue(v.Value)
			continue
		}
		fields = append(fields, v.Name+"="+FormatValue(v.Value))
	}
	s := strings.Join(fields, ", ")
	switch len(derived) {
	case 0:
		return s
	case 1:
		return strings.TrimSpace(s + " → " + lastDerived)
	}
	return strings.TrimSpace(s + " → " + strings.Join(derived, ", "))
}

// FormatValue writes a number the way a person reads it: counts whole,
// fractions with four significant digits, others with two decimals; a list
// as its findings' kinds or its length.
func FormatValue(v any) string {
	switch v := v.(type) {
	case float64:
		switch {
		case math.IsNaN(v):
			return "NaN"
		case math.IsInf(v, 1):
			return "+Inf"
		case math.IsInf(v, -1):
			return "-Inf"
		case v == math.Trunc(v) && math.Abs(v) < 1e15:
			return strconv.FormatFloat(v, 'f', -1, 64)
		case math.Abs(v) < 1:
			return strconv.FormatFloat(v, 'g', 4, 64)
		}
		s := strconv.FormatFloat(v, 'f', 2, 64)
		return strings.TrimRight(strings.TrimRight(s, "0"), ".")
	case int:
		return strconv.Itoa(v)
	case string:
		return strconv.Quote(v)
	case []any:
		var kinds []string
		for _, e := range v {
			m, _ := e.(map[string]any)
			k, ok := m["kind"].(string)
			if !ok {
				return fmt.Sprintf("[%d items]", len(v))
			}
			kinds = append(kinds, k)
		}
		return "[" + strings.Join(kinds, " ") + "]"
	case map[string]any:
		return fmt.Sprintf("{%d keys}", len(v))
	case nil:
		return "nil"
	}
	return fmt.Sprint(v)
}

type jsonResults struct {
	Schema string `json:"schema"`
	Passed bool   `json:"passed"`
	// Interrupted: a signal stopped the run; passed is then false.
	Interrupted bool         `json:"interrupted,omitempty"`
	Counts      jsonCounts   `json:"counts"`
	Inputs      []string     `json:"inputs"`
	Buckets     int          `json:"buckets"`
	Assertions  []jsonResult `json:"assertions"`
}

type jsonCounts struct {
	Passed int `json:"passed"`
	Failed int `json:"failed"`
}

type jsonResult struct {
	Assertion
	Passed         bool           `json:"passed"`
	Values         map[string]any `json:"values,omitempty"`
	Buckets        *int           `json:"buckets,omitempty"`
	FailingBuckets []jsonBucket   `json:"failing_buckets,omitempty"`
}

type jsonBucket struct {
	Start  string         `json:"start"`
	End    string         `json:"end"`
	Values map[string]any `json:"values"`
}

// WriteJSON writes the result document (schema visor.check/v1). A value
// JSON cannot hold (NaN, ±Inf, from a division by zero) is the string
// "NaN", "+Inf" or "-Inf".
func WriteJSON(w io.Writer, rs *Results) error {
	passed, failed := rs.Counts()
	doc := jsonResults{Schema: ResultSchema, Passed: rs.Passed(), Interrupted: rs.Interrupted, Counts: jsonCounts{passed, failed},
		Inputs: rs.Inputs, Buckets: rs.Buckets, Assertions: []jsonResult{}}
	if doc.Inputs == nil {
		doc.Inputs = []string{}
	}
	for _, r := range rs.Assertions {
		jr := jsonResult{Assertion: r.Assertion, Passed: r.Passed}
		if r.PerBucket {
			n := r.Buckets
			jr.Buckets = &n
		} else {
			jr.Values = jsonValues(r.Values)
		}
		for _, f := range r.Failing {
			jr.FailingBuckets = append(jr.FailingBuckets, jsonBucket{Start: f.Start, End: f.End, Values: jsonValues(f.Values)})
		}
		doc.Assertions = append(doc.Assertions, jr)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

func jsonValues(vs []Value) map[string]any {
	m := make(map[string]any, len(vs))
	for _, v := range vs {
		if f, ok := v.Value.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			m[v.Name] = FormatValue(f)
			continue
		}
		m[v.Name] = v.Value
	}
	return m
}

type junitSuites struct {
	XMLName  xml.Name   `xml:"testsuites"`
	Name     string     `xml:"name,attr"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Errors   int        `xml:"errors,attr"`
	Suites   []junitSet `xml:"testsuite"`
}

type junitSet struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure"`
	Error     *junitFailure `xml:"error"`
	SystemOut *junitText    `xml:"system-out"`
}

// junitText is CDATA, so that lines stay lines for a person reading the file.
type junitText struct {
	Text string `xml:",cdata"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// WriteJUnit writes JUnit XML: one testsuite, one testcase per assertion
// named by the assertion's name. A failure's message carries the values;
// its text adds the description and every failing bucket. A passing case
// carries its values in system-out.
func WriteJUnit(w io.Writer, rs *Results) error {
	passed, failed := rs.Counts()
	set := junitSet{Name: "visor check", Tests: passed + failed, Failures: failed}
	for _, in := range rs.Inputs {
		set.Properties = append(set.Properties, junitProperty{Name: "input", Value: in})
	}
	set.Properties = append(set.Properties, junitProperty{Name: "buckets", Value: strconv.Itoa(rs.Buckets)})
	for _, r := range rs.Assertions {
		c := junitCase{Name: r.Name, Classname: "visor.check"}
		var detail strings.Builder
		fmt.Fprintf(&detail, "%s\n", r.Expr)
		if r.Description != "" {
			fmt.Fprintf(&detail, "%s\n", r.Description)
		}
		summary := outcome(r)
		fmt.Fprintf(&detail, "%s\n", summary)
		for _, f := range r.Failing {
			fmt.Fprintf(&detail, "%s–%s  (%s)\n", f.Start, f.End, FormatValues(f.Values))
		}
		if r.Passed {
			c.SystemOut = &junitText{detail.String()}
		} else {
			msg := r.Expr + "  (" + summary + ")"
			if len(r.Failing) > 0 {
				f := r.Failing[0]
				msg += fmt.Sprintf("; first in %s–%s (%s)", f.Start, f.End, FormatValues(f.Values))
			}
			c.Failure = &junitFailure{Message: msg, Type: "assertion", Text: detail.String()}
		}
		set.Cases = append(set.Cases, c)
	}
	if rs.Interrupted {
		// The whole input was not read: an error of the suite, not a pass.
		set.Tests++
		set.Errors++
		set.Cases = append(set.Cases, junitCase{Name: "complete input", Classname: "visor.check",
			Error: &junitFailure{Message: "the run was interrupted; the values cover only part of the input", Type: "interrupted"}})
	}
	doc := junitSuites{Name: "visor check", Tests: set.Tests, Failures: failed, Errors: set.Errors, Suites: []junitSet{set}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
