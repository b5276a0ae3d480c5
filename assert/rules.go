package assert

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// rule is one entry of a rules file.
type rule struct {
	Name        string `yaml:"name"`
	Expr        string `yaml:"expr"`
	Description string `yaml:"description"`
	PerBucket   bool   `yaml:"per_bucket"`
	// PerBucketDash accepts the spelling the issue used.
	PerBucketDash bool `yaml:"per-bucket"`
}

// LoadRules reads a rules file: a YAML list of {name, expr, description,
// per_bucket}. Unknown keys are an error, so a misspelt key is not
// silently ignored.
func LoadRules(path string) ([]Assertion, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("assert: %w", err)
	}
	as, err := ParseRules(b)
	if err != nil {
		return nil, fmt.Errorf("assert: %s: %w", path, err)
	}
	return as, nil
}

// ParseRules parses the contents of a rules file.
func ParseRules(b []byte) ([]Assertion, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var rules []rule
	if err := dec.Decode(&rules); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("no rules: the file is empty")
		}
		return nil, err
	}
	if len(rules) == 0 {
		return nil, errors.New("no rules: the file holds an empty list")
	}
	out := make([]Assertion, 0, len(rules))
	names := map[string]int{}
	for i, r := range rules {
		if r.Expr == "" {
			return nil, fmt.Errorf("rule %d (%q): no expr", i+1, r.Name)
		}
		if r.Name == "" {
			r.Name = r.Expr
		}
		if j, dup := names[r.Name]; dup {
			return nil, fmt.Errorf("rules %d and %d are both named %q", j, i+1, r.Name)
		}
		names[r.Name] = i + 1
		out = append(out, Assertion{Name: r.Name, Expr: r.Expr, Description: r.Description,
			PerBucket: r.PerBucket || r.PerBucketDash})
	}
	return out, nil
}
