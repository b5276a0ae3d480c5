package report

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestWriteJSON(t *testing.T) {
	tests := []struct {
		name   string
		report *Report
		golden string
	}{
		{"sample", sampleReport(), "json_sample.golden"},
		{"empty report", &Report{Schema: Schema, Tool: Tool{Name: "visor", Version: "dev"}, BucketSeconds: 60}, "json_empty.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteJSON(&b, tt.report); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, b.Bytes())
			if !bytes.HasSuffix(b.Bytes(), []byte("}\n")) {
				t.Error("output does not end in a newline")
			}
			if bytes.Contains(b.Bytes(), []byte("null")) {
				t.Error("output contains null")
			}
			if err := Validate(b.Bytes()); err != nil {
				t.Errorf("output does not validate: %v", err)
			}
			var back Report
			if err := json.Unmarshal(b.Bytes(), &back); err != nil {
				t.Fatalf("output does not decode: %v", err)
			}
		})
	}
}

func TestWriteJSONLeavesReportAlone(t *testing.T) {
	r := &Report{Schema: Schema, Buckets: []Bucket{{Start: Timestamp(0), End: Timestamp(60e9)}}}
	r.Summary.Net.Rates.PPS.P99 = math.NaN()
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	if r.Integrity != nil || r.Buckets[0].DNS.Rcodes != nil || r.Summary.DNS.Top.QName != nil {
		t.Error("WriteJSON filled in the caller's nil maps or slices")
	}
	if !math.IsNaN(r.Summary.Net.Rates.PPS.P99) {
		t.Error("WriteJSON changed the caller's NaN")
	}
	if !strings.Contains(b.String(), `"p99": 0`) {
		t.Error("NaN was not written as 0")
	}
	if err := WriteJSON(&b, nil); err == nil {
		t.Error("nil report: no error")
	}
}

func TestValidateRejects(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(doc map[string]any)
		want   []string // each must appear in the error
	}{
		{"missing schema", func(d map[string]any) { delete(d, "schema") }, []string{"at ''", "missing property 'schema'"}},
		{"wrong schema", func(d map[string]any) { d["schema"] = "visor.report/v2" }, []string{"'/schema'", "visor.report/v1"}},
		{"missing summary.dns.xacts", func(d map[string]any) { delete(sub(d, "summary", "dns"), "xacts") }, []string{"'/summary/dns'", "'xacts'"}},
		{"missing bucket dns top list", func(d map[string]any) { delete(sub(d, "buckets", 1, "dns", "top"), "nxdomain") }, []string{"'/buckets/1/dns/top'", "'nxdomain'"}},
		{"timestamp without nanoseconds", func(d map[string]any) { sub(d, "inputs", 0)["first_ts"] = "2024-03-01T12:00:00Z" }, []string{"'/inputs/0/first_ts'"}},
		{"timestamp not UTC", func(d map[string]any) { sub(d, "buckets", 0)["end"] = "2024-03-01T13:02:30.000000000+01:00" }, []string{"'/buckets/0/end'"}},
		{"finding timestamp empty", func(d map[string]any) { sub(d, "findings", 0)["peak"] = "" }, []string{"'/findings/0/peak'"}},
		{"negative count", func(d map[string]any) { sub(d, "summary", "net")["packets"] = -1 }, []string{"'/summary/net/packets'"}},
		{"fractional count", func(d map[string]any) { sub(d, "integrity")["tcp_gaps"] = 1.5 }, []string{"'/integrity/tcp_gaps'"}},
		{"rcode count a string", func(d map[string]any) { sub(d, "summary", "dns", "rcodes")["NOERROR"] = "7" }, []string{"'/summary/dns/rcodes/NOERROR'"}},
		{"top item without estimate", func(d map[string]any) { delete(sub(d, "summary", "dns", "top", "qname", 0), "estimate") }, []string{"'/summary/dns/top/qname/0'", "'estimate'"}},
		{"null list", func(d map[string]any) { sub(d, "summary", "net", "top")["src_ips"] = nil }, []string{"'/summary/net/top/src_ips'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			tt.mutate(doc)
			bad, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			err = Validate(bad)
			if err == nil {
				t.Fatal("Validate accepted the document")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		if err := Validate([]byte("{")); err == nil {
			t.Error("Validate accepted truncated JSON")
		}
	})
	t.Run("extra keys allowed", func(t *testing.T) {
		var doc map[string]any
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		doc["comment"] = "added by a later version"
		sub(doc, "summary", "dns")["doh"] = 0
		ok, _ := json.Marshal(doc)
		if err := Validate(ok); err != nil {
			t.Errorf("Validate rejected added keys: %v", err)
		}
	})
}

func TestSchemaJSON(t *testing.T) {
	var s map[string]any
	if err := json.Unmarshal(SchemaJSON(), &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" || s["$id"] != schemaURL {
		t.Errorf("schema has $schema %v, $id %v", s["$schema"], s["$id"])
	}
}

// sub walks a decoded JSON document by object keys and array indexes.
func sub(v any, path ...any) map[string]any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v.(map[string]any)
}
