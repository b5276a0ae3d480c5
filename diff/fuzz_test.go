package diff

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/visor-dns/visor/report"
)

// FuzzCompute: any two reports that decode (a JSON report is an input
// diff reads) give a diff whose JSON matches the schema, and every
// writer finishes without a panic.
func FuzzCompute(f *testing.F) {
	// Small reports: the fuzzer mutates these, not megabytes of buckets.
	f.Add([]byte(`{"inputs":[{"packets":3,"first_ts":"2024-01-01T00:00:00.000000000Z","last_ts":"2024-01-01T00:00:09.000000000Z"}],`+
		`"summary":{"net":{"packets":3,"cardinality":{"src_ips":2000}},"dns":{"queries":2,"responses":1,"rcodes":{"NXDOMAIN":1},"qtypes":{"A":2},`+
		`"top":{"qname":[{"name":"a.example","estimate":2,"error":0}],"clients":[{"name":"198.51.100.1","estimate":2,"error":1}]}}},`+
		`"findings":[{"kind":"random_subdomain","severity":"high","evidence":{"zone":"example"}}]}`),
		[]byte(`{"summary":{"net":{"packets":9,"rates":{"pps":{"p50":3}}},"dns":{"queries":9,"qtypes":{"AAAA":9},`+
			`"top":{"qname":[{"name":"b.example","estimate":9,"error":0}]}}},"findings":[{"kind":"query_flood","evidence":{"source":"198.51.100.7"}}]}`))
	f.Add([]byte(`{"summary":{"dns":{"rcodes":{"NOERROR":5},"top":{"qname":[{"name":"a","estimate":3,"error":9}]}}}}`),
		[]byte(`{"summary":{"dns":{"responses":1,"rcodes":{"NOERROR":18446744073709551615},"xacts":{"in":{"count":1,"latency_us":{"p50":-1}}}}}}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var ra, rb report.Report
		if json.Unmarshal(a, &ra) != nil || json.Unmarshal(b, &rb) != nil {
			return
		}
		d := Compute(Side{Label: "a", Kind: "report", Report: &ra}, Side{Label: "b", Kind: "report", Report: &rb}, Options{Limit: 3})
		var js bytes.Buffer
		if err := WriteJSON(&js, d); err != nil {
			t.Fatal(err)
		}
		if err := Validate(js.Bytes()); err != nil {
			t.Fatalf("%v\n%s", err, js.Bytes())
		}
		if err := WriteTable(io.Discard, d, TableOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := WriteMarkdown(io.Discard, d); err != nil {
			t.Fatal(err)
		}
	})
}
