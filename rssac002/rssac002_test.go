package rssac002

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestWrite(t *testing.T) {
	start := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC).UnixNano()
	d := Day{Start: start, First: start, Last: start + int64(24*time.Hour) - 1, Exact: true,
		Sources4: 3, Sources6: 2, Sources6Agg: 1}
	d.Queries[UDP][IPv4], d.Responses[TCP][IPv6] = 7, 5
	d.RequestSizes[UDP][2], d.ResponseSizes[TCP][Bins-1] = 7, 5
	d.Rcodes[0], d.Rcodes[16] = 4, 1
	o := Options{Service: "a.example"}
	want := map[string]string{
		"traffic-volume": "dns-udp-queries-received-ipv4: 7\ndns-udp-queries-received-ipv6: 0\ndns-tcp-queries-received-ipv4: 0\ndns-tcp-queries-received-ipv6: 0\n" +
			"dns-udp-responses-sent-ipv4: 0\ndns-udp-responses-sent-ipv6: 0\ndns-tcp-responses-sent-ipv4: 0\ndns-tcp-responses-sent-ipv6: 5\n",
		"traffic-sizes":  "udp-request-sizes:\n  32-47: 7\nudp-response-sizes: {}\ntcp-request-sizes: {}\ntcp-response-sizes:\n  65520-65535: 5\n",
		"rcode-volume":   "0: 4\n16: 1\n",
		"unique-sources": "num-sources-ipv4: 3\nnum-sources-ipv6: 2\nnum-sources-ipv6-aggregate: 1\n",
	}
	for _, m := range Metrics {
		var b bytes.Buffer
		if err := Write(&b, o, &d, m); err != nil {
			t.Fatal(err)
		}
		exp := "---\nversion: rssac002v5\nservice: a.example\nstart-period: 2026-11-27T00:00:00Z\nmetric: " + m + "\n" + want[m]
		if b.String() != exp {
			t.Errorf("%s:\n%s\nwant\n%s", m, b.String(), exp)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(b.Bytes(), &doc); err != nil || doc["metric"] != m {
			t.Errorf("%s: not YAML: %v %v", m, err, doc)
		}
	}
	// A part of a day, estimated sources, an instance: said in comments.
	d.First, d.Last, d.Exact, d.SourceError = start+3600e9, start+7200e9, false, 0.0081
	var b bytes.Buffer
	if err := Write(&b, Options{Service: "a.example", Instance: "fra1"}, &d, "unique-sources"); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"# instance: fra1\n", "# the capture covers 01:00:00 to 02:00:00 UTC of this day, not all of it\n", "relative standard error 0.8 %"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("lacks %q:\n%s", w, b.String())
		}
	}
	dir := filepath.Join(t.TempDir(), "new")
	paths, err := WriteDir(dir, Options{Service: "a.example", Instance: "fra1"}, []Day{d})
	if err != nil || len(paths) != 4 || filepath.Base(paths[0]) != "a.example-fra1-20261127-traffic-volume.yaml" {
		t.Fatalf("WriteDir: %v %v", paths, err)
	}
	if _, err := os.Stat(paths[3]); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Options{{}, {Service: "a/b"}, {Service: "a", Instance: "x:y"}, {Service: " a"}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
