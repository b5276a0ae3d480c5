package diff

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/visor-dns/visor/report"
)

//go:embed visor.diff.v1.schema.json
var schemaJSON []byte

const (
	schemaURL       = "https://github.com/visor-dns/visor/diff/visor.diff.v1.schema.json"
	reportSchemaURL = "https://github.com/visor-dns/visor/report/visor.report.v1.schema.json"
)

var compiled struct {
	once sync.Once
	sch  *jsonschema.Schema
	err  error
}

// SchemaJSON returns the JSON Schema (draft 2020-12) of the JSON diff. It
// refers to the report's schema for the inputs. The caller must not
// modify the returned bytes.
func SchemaJSON() []byte { return schemaJSON }

func compiledSchema() (*jsonschema.Schema, error) {
	compiled.once.Do(func() {
		c := jsonschema.NewCompiler()
		for _, r := range []struct {
			url string
			doc []byte
		}{{schemaURL, schemaJSON}, {reportSchemaURL, report.SchemaJSON()}} {
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.doc))
			if err != nil {
				compiled.err = fmt.Errorf("diff: parsing schema %s: %w", r.url, err)
				return
			}
			if err := c.AddResource(r.url, doc); err != nil {
				compiled.err = fmt.Errorf("diff: loading schema %s: %w", r.url, err)
				return
			}
		}
		compiled.sch, compiled.err = c.Compile(schemaURL)
		if compiled.err != nil {
			compiled.err = fmt.Errorf("diff: compiling schema: %w", compiled.err)
		}
	})
	return compiled.sch, compiled.err
}

// Validate checks that doc is a JSON diff matching the visor.diff/v1
// schema; its error names each failing location as a JSON pointer.
func Validate(doc []byte) error {
	sch, err := compiledSchema()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("diff: not JSON: %w", err)
	}
	err = sch.Validate(inst)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		return fmt.Errorf("diff: does not match %s: %s", Schema, strings.Join(report.SchemaErrors(ve), "; "))
	}
	return err
}
