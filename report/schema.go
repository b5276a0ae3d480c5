package report

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed visor.report.v1.schema.json
var schemaJSON []byte

// schemaURL is the schema's $id; the compiler resolves $refs against it.
const schemaURL = "https://github.com/visor-dns/visor/report/visor.report.v1.schema.json"

var compiled struct {
	once sync.Once
	sch  *jsonschema.Schema
	err  error
}

// SchemaJSON returns the JSON Schema (draft 2020-12) of the JSON report.
// The caller may keep but must not modify the returned bytes.
func SchemaJSON() []byte { return schemaJSON }

func compiledSchema() (*jsonschema.Schema, error) {
	compiled.once.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
		if err != nil {
			compiled.err = fmt.Errorf("report: parsing schema: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource(schemaURL, doc); err != nil {
			compiled.err = fmt.Errorf("report: loading schema: %w", err)
			return
		}
		compiled.sch, compiled.err = c.Compile(schemaURL)
		if compiled.err != nil {
			compiled.err = fmt.Errorf("report: compiling schema: %w", compiled.err)
		}
	})
	return compiled.sch, compiled.err
}

// Validate checks that doc is a JSON report matching the visor.report/v1
// schema. Its error names each failing location as a JSON pointer, e.g.
// "at '/summary/dns': missing property 'xacts'".
func Validate(doc []byte) error {
	sch, err := compiledSchema()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("report: not JSON: %w", err)
	}
	err = sch.Validate(inst)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		return fmt.Errorf("report: does not match %s: %s", Schema, strings.Join(SchemaErrors(ve), "; "))
	}
	return err
}

// SchemaErrors flattens a validation error tree into its distinct leaves,
// which carry the instance location and the reason (the inner nodes only
// repeat them): what report.Validate, and diff's, print.
func SchemaErrors(ve *jsonschema.ValidationError) []string { return leafErrors(ve, nil) }

func leafErrors(ve *jsonschema.ValidationError, out []string) []string {
	if len(ve.Causes) == 0 {
		msg := ve.Error()
		for _, m := range out {
			if m == msg {
				return out
			}
		}
		return append(out, msg)
	}
	for _, c := range ve.Causes {
		out = leafErrors(c, out)
	}
	return out
}
