package export

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strconv"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/visor-dns/visor/analyzers"
	"github.com/visor-dns/visor/capture"
)

func TestSchemaFollowsColumns(t *testing.T) {
	s := schema()
	fields := s.Fields()
	if len(fields) != len(Columns) {
		t.Fatalf("schema has %d columns, Columns %d", len(fields), len(Columns))
	}
	for i, f := range fields {
		if f.Name() != Columns[i].Name {
			t.Errorf("schema column %d is %s, want %s", i, f.Name(), Columns[i].Name)
		}
	}
}

func TestTextEscapes(t *testing.T) {
	for _, tc := range []struct{ in, json, csv string }{
		{`a.example`, `"a.example"`, `a.example`},
		{`a,b."x"`, `"a,b.\"x\""`, `"a,b.""x"""`},
		{"a\\000\n", `"a\\000\u000a"`, "\"a\\000\n\""},
	} {
		if got := string(appendJSONString(nil, []byte(tc.in))); got != tc.json {
			t.Errorf("JSON of %q = %s, want %s", tc.in, got, tc.json)
		}
		if got := string(appendCSVField(nil, []byte(tc.in))); got != tc.csv {
			t.Errorf("CSV of %q = %s, want %s", tc.in, got, tc.csv)
		}
	}
}

// exportFile exports one capture in format.
func exportFile(t testing.TB, path, format string) ([]byte, Stats) {
	t.Helper()
	src, err := capture.Open(path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var buf bytes.Buffer
	w, err := NewWriter(format, &buf, []string{path})
	if err != nil {
		t.Fatal(err)
	}
	st, err := Run(context.Background(), src, analyzers.Options{DNSPorts: []uint16{53}}, w, nil)
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), st
}

// exportBatch exports one capture into one batch.
func exportBatch(t testing.TB, path string) *Batch {
	t.Helper()
	src, err := capture.Open(path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var w batchWriter
	if _, err := Run(context.Background(), src, analyzers.Options{DNSPorts: []uint16{53}}, &w, nil); err != nil {
		t.Fatal(err)
	}
	return &w.x
}

func TestNDJSONRows(t *testing.T) {
	b, st := exportFile(t, "../testdata/lab-tcp.pcap", "ndjson")
	sc := bufio.NewScanner(bytes.NewReader(b))
	rows, tcp := 0, 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("row %d: %v", rows+1, err)
		}
		if len(m) != len(Columns) {
			t.Fatalf("row %d has %d columns, want %d", rows+1, len(m), len(Columns))
		}
		if m["transport"] == "tcp" {
			tcp++
		}
		rows++
	}
	if rows == 0 || uint64(rows) != st.Rows || tcp == 0 {
		t.Errorf("%d rows (%d over TCP), stats say %d", rows, tcp, st.Rows)
	}
}

// docs/export.md describes every column.
func TestColumnsDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/export.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Columns {
		if !bytes.Contains(b, []byte("`"+c.Name+"`")) {
			t.Errorf("docs/export.md does not describe the column %s", c.Name)
		}
	}
}

// schema is the records' Parquet schema as parquet-go describes it, in
// Columns' order (the oracle TestParquetReadBack compares the files'
// with): columns optional unless Required, strings dictionary-encoded
// unless Plain, times TIMESTAMP(NANOS, UTC).
func schema() *parquet.Schema {
	fields := make([]reflect.StructField, len(Columns))
	for i, c := range Columns {
		var typ reflect.Type
		tag := c.Name
		if !c.Required {
			tag += ",optional"
		}
		switch c.Kind {
		case KindTime:
			typ, tag = reflect.TypeFor[int64](), tag+",timestamp(nanosecond)"
		case KindInt:
			typ = reflect.TypeFor[int64]()
		case KindBool:
			typ = reflect.TypeFor[bool]()
		case KindString:
			typ = reflect.TypeFor[string]()
			if !c.Plain {
				tag += ",dict"
			}
		}
		if !c.Required {
			typ = reflect.PointerTo(typ)
		}
		fields[i] = reflect.StructField{Name: "F" + strconv.Itoa(i), Type: typ,
			Tag: reflect.StructTag(`parquet:"` + tag + `"`)}
	}
	return parquet.SchemaOf(reflect.New(reflect.StructOf(fields)).Elem().Interface())
}
