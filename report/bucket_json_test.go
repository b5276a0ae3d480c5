package report

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// A streamed bucket is the report's bucket, byte for byte, on one line.
func TestWriteBucketJSON(t *testing.T) {
	b := Bucket{Start: Timestamp(1e9), End: Timestamp(2e9)}
	b.DNS.Queries = 3
	b.DNS.Rcodes = map[string]uint64{"NXDOMAIN": 2}
	b.Net.Rates.PPS.P99 = math.NaN()
	var whole bytes.Buffer
	if err := WriteJSON(&whole, &Report{Schema: Schema, Buckets: []Bucket{b}}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Buckets []json.RawMessage `json:"buckets"`
	}
	if err := json.Unmarshal(whole.Bytes(), &doc); err != nil || len(doc.Buckets) != 1 {
		t.Fatal(err)
	}
	var want bytes.Buffer
	json.Compact(&want, doc.Buckets[0])
	want.WriteByte('\n')
	var got bytes.Buffer
	if err := WriteBucketJSON(&got, &b); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("bucket line\n%s\nwant\n%s", got.String(), want.String())
	}
}
