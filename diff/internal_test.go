package diff

import (
	"bytes"
	"strings"
	"testing"

	"github.com/visor-dns/visor/report"
)

func items(kv ...any) []report.TopItem {
	var l []report.TopItem
	for i := 0; i < len(kv); i += 3 {
		l = append(l, report.TopItem{Name: kv[i].(string), Estimate: uint64(kv[i+1].(int)), Error: uint64(kv[i+2].(int))})
	}
	return l
}

// Top-list changes are judged on the bounds of the true counts: nothing
// inside the error is a change.
func TestCompareTop(t *testing.T) {
	tests := []struct {
		name                        string
		before, after               []report.TopItem
		top                         int
		appeared, vanished, changed []string
		within                      int
	}{
		{"exact lists", items("a", 10, 0, "b", 5, 0), items("a", 10, 0, "c", 3, 0), 10,
			[]string{"c"}, []string{"b"}, nil, 1},
		{"error covers the change", items("a", 100, 20), items("a", 85, 0), 10, nil, nil, nil, 1},
		{"error does not cover it", items("a", 100, 10), items("a", 85, 0), 10, nil, nil, []string{"a"}, 0},
		// Full lists (len == top): an unlisted name may have had up to the
		// last estimate.
		{"full list bounds the absent", items("a", 50, 0, "b", 40, 0), items("a", 50, 0, "c", 41, 0), 2,
			[]string{"c"}, nil, nil, 2},
		// c may have had up to 40 before; b, at least 40 before, has at
		// most 39 after: it fell out.
		{"full list hides a small newcomer", items("a", 50, 0, "b", 40, 0), items("a", 50, 0, "c", 39, 0), 2,
			nil, []string{"b"}, nil, 2},
		{"newcomer with error", items("a", 50, 0, "b", 40, 0), items("a", 50, 0, "c", 45, 10), 2,
			nil, nil, nil, 3},
	}
	names := func(l []NameChange) []string {
		var out []string
		for _, c := range l {
			out = append(out, c.Name)
		}
		return out
	}
	eq := func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := compareTop("x", tt.before, tt.after, tt.top, tt.top, 10)
			if !eq(names(td.Appeared), tt.appeared) || !eq(names(td.Vanished), tt.vanished) ||
				!eq(names(td.Changed), tt.changed) || td.WithinError != tt.within {
				t.Errorf("appeared %v vanished %v changed %v within %d; want %v %v %v %d",
					names(td.Appeared), names(td.Vanished), names(td.Changed), td.WithinError,
					tt.appeared, tt.vanished, tt.changed, tt.within)
			}
			for _, l := range [][]NameChange{td.Appeared, td.Vanished, td.Changed} {
				for _, c := range l {
					if c.MinDelta == 0 {
						t.Errorf("%s reported with min_delta 0", c.Name)
					}
				}
			}
		})
	}
}

// Estimates differ only beyond both sides' relative error.
func TestEstimateError(t *testing.T) {
	tests := []struct {
		b, a, rel float64
		changed   bool
	}{
		{100, 101, 0.01, false},
		{100, 102.5, 0.01, true},
		{100, 102, 0.01, false}, // 101 and 100.98 overlap
		{0, 1, 0, true},
		{500, 500, 0, false},
	}
	for _, tt := range tests {
		if e := estimate("x", tt.b, tt.a, tt.rel); e.Changed != tt.changed {
			t.Errorf("%v -> %v within %v: changed %v, want %v", tt.b, tt.a, tt.rel, e.Changed, tt.changed)
		}
	}
}

// The schema refuses what the model never writes.
func TestSchemaRefuses(t *testing.T) {
	d := Compute(Side{Label: "a", Kind: "capture", Report: &report.Report{}},
		Side{Label: "b", Kind: "capture", Report: &report.Report{}}, Options{})
	var b bytes.Buffer
	if err := WriteJSON(&b, d); err != nil {
		t.Fatal(err)
	}
	if err := Validate(b.Bytes()); err != nil {
		t.Fatalf("an empty diff does not validate: %v", err)
	}
	for _, bad := range []struct{ from, to string }{
		{`"schema": "visor.diff/v1"`, `"schema": "visor.diff/v2"`},
		{`"kind": "capture"`, `"kind": "pcap"`},
		{`"counters": []`, `"counters": {}`},
	} {
		doc := strings.Replace(b.String(), bad.from, bad.to, 1)
		if doc == b.String() {
			t.Fatalf("%s is not in the diff", bad.from)
		}
		if err := Validate([]byte(doc)); err == nil {
			t.Errorf("%s -> %s validates", bad.from, bad.to)
		}
	}
}
