package findings

import (
	"slices"
	"testing"
)

// Every --threshold name is described, nothing described is stale, and each
// default is the one DefaultThresholds holds.
func TestThresholdDocs(t *testing.T) {
	names := ThresholdNames()
	for n := range thresholdMeanings {
		if !slices.Contains(names, n) {
			t.Errorf("thresholdMeanings describes %q, which ThresholdNames no longer lists", n)
		}
	}
	docs, err := ThresholdDocs()
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != len(names) {
		t.Fatalf("%d docs for %d names", len(docs), len(names))
	}
	for _, d := range docs {
		def := DefaultThresholds()
		if err := def.Set(d.Name + "=1"); err != nil {
			t.Fatal(err)
		}
		if d.Kind == "" || d.Meaning == "" || d.Field == "" {
			t.Errorf("%s: %+v", d.Name, d)
		}
	}
}
