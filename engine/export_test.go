package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// duckScript runs each SQL argument and prints its rows as one JSON line.
const duckScript = `import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
for (const sql of process.argv.slice(2)) {
  const r = await c.runAndReadAll(sql);
  console.log(JSON.stringify(r.getRowObjectsJson()));
}
`

// duckDB returns a directory holding the DuckDB node packages and the
// query script, installing them once per machine (npm's cache dir); the
// test skips, saying why, without node or npm or when npm cannot install.
func duckDB(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"node", "npm"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("DuckDB check skipped: %s is not installed (Debian: apt-get install nodejs npm)", p)
		}
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "visor-test-duckdb")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api")); err != nil {
		os.MkdirAll(dir, 0o755)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--silent", "@duckdb/node-api")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("DuckDB check skipped: npm install @duckdb/node-api in %s: %v\n%s", dir, err, out)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "query.mjs"), []byte(duckScript), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// duck runs the statements in DuckDB and returns each one's rows.
func duck(t *testing.T, dir string, sqls ...string) [][]map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join(dir, "query.mjs")}, sqls...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("duckdb: %v\n%s", err, msg)
	}
	var res [][]map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var rows []map[string]any
		if err := json.Unmarshal([]byte(line), &rows); err != nil {
			t.Fatalf("duckdb output %q: %v", line, err)
		}
		res = append(res, rows)
	}
	return res
}

// num reads a DuckDB JSON number (BIGINTs come as strings).
func num(t *testing.T, v any) uint64 {
	t.Helper()
	switch x := v.(type) {
	case string:
		n, err := strconv.ParseUint(x, 10, 64)
		if err != nil {
			t.Fatalf("not a count: %q", x)
		}
		return n
	case float64:
		return uint64(x)
	}
	t.Fatalf("not a count: %v", v)
	return 0
}

func counts(t *testing.T, rows []map[string]any) map[string]uint64 {
	m := map[string]uint64{}
	for _, r := range rows {
		m[r["k"].(string)] = num(t, r["n"])
	}
	return m
}

func equalCounts(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// DuckDB reads the records of a lab capture in every format and counts
// what the JSON report counts: rows (transactions and lone halves), rcodes
// of responses, qtypes of queries, distinct names, the top names.
func TestExportReadByDuckDB(t *testing.T) {
	dir := duckDB(t)
	for _, c := range []string{"lab-eth.pcap", "lab-tcp.pcap"} {
		t.Run(c, func(t *testing.T) { exportReadByDuckDB(t, dir, filepath.Join("..", "testdata", c)) })
	}
}

func exportReadByDuckDB(t *testing.T, dir, capture string) {
	rep, err := Analyze(context.Background(), config(capture), nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	d := rep.Summary.DNS
	out := t.TempDir()
	readers := map[string]string{"parquet": "read_parquet('%s')", "csv": "read_csv('%s')",
		"ndjson": "read_json('%s', format = 'newline_delimited')"}
	for format, reader := range readers {
		t.Run(format, func(t *testing.T) {
			path := filepath.Join(out, "lab."+format)
			err := WriteFile(path, func(w io.Writer) error {
				_, _, err := Export(context.Background(), config(capture), format, w, nil, io.Discard)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			from := strings.Replace(reader, "%s", path, 1)
			res := duck(t, dir,
				"select count(*) n from "+from,
				"select rcode_name k, count(*) n from "+from+" where rcode is not null group by 1",
				"select qtype_name k, count(*) n from "+from+" where query_size is not null and qtype is not null group by 1",
				"select count(distinct qname) n from "+from,
				"select qname k, count(query_size) + count(response_size) n from "+from+" where qname is not null group by 1 order by 2 desc, 1 limit 3",
			)
			if got, want := num(t, res[0][0]["n"]), d.Queries+d.Responses-d.Xacts.Total; got != want {
				t.Errorf("%d rows, want %d (queries + responses - transactions)", got, want)
			}
			if got := counts(t, res[1]); !equalCounts(got, d.Rcodes) {
				t.Errorf("rcodes %v, report %v", got, d.Rcodes)
			}
			if got := counts(t, res[2]); !equalCounts(got, d.Qtypes) {
				t.Errorf("qtypes %v, report %v", got, d.Qtypes)
			}
			if got, want := num(t, res[3][0]["n"]), d.Cardinality.QName; got != want {
				t.Errorf("%d distinct names, report %d", got, want)
			}
			top := map[string]uint64{}
			for _, it := range d.Top.QName[:3] {
				if it.Error == 0 {
					top[it.Name] = it.Estimate
				}
			}
			if got := counts(t, res[4]); !equalCounts(got, top) {
				t.Errorf("top names %v, report %v", got, top)
			}
		})
	}
}

// --findings: rows name the findings whose selection takes them; a
// random-subdomain finding's rows ask names under its zone, in its span.
func TestExportFindings(t *testing.T) {
	capture := filepath.Join("..", "testdata", "attack-random-subdomain.pcap")
	rep, err := Analyze(context.Background(), config(capture), nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	zones := map[string]string{}
	for i, f := range rep.Findings {
		if z, ok := f.Evidence["zone"].(string); ok {
			zones[fmt.Sprintf("%02d-%s", i+1, f.Kind)] = z
		}
	}
	if len(zones) == 0 {
		t.Fatal("no finding with a zone in the capture's report")
	}
	var buf bytes.Buffer
	if _, _, err := ExportWith(context.Background(), config(capture), ExportOptions{Format: "ndjson", Findings: true}, &buf, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	named := 0
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var row struct {
			QName    *string `json:"qname"`
			Findings *string `json:"findings"`
		}
		if err := json.Unmarshal(line, &row); err != nil {
			t.Fatal(err)
		}
		if row.Findings == nil {
			t.Fatal("findings column null with --findings")
		}
		for _, id := range strings.Split(*row.Findings, ",") {
			z, ok := zones[id]
			if !ok || row.QName == nil {
				continue
			}
			if *row.QName != z && !strings.HasSuffix(*row.QName, "."+z) {
				t.Errorf("row of %s asks %s, not under %s", id, *row.QName, z)
			}
			named++
		}
	}
	if named == 0 {
		t.Error("no row names a zone finding")
	}
	if _, _, err := ExportWith(context.Background(), config("-"), ExportOptions{Format: "csv", Findings: true}, io.Discard, bytes.NewReader(nil), io.Discard); !errors.Is(err, ErrFindingsStdin) {
		t.Errorf("--findings on stdin: %v, want ErrFindingsStdin", err)
	}
}

// --rows-per-file: files of at most N rows each, every row once.
func TestExportRowsPerFile(t *testing.T) {
	capture := filepath.Join("..", "testdata", "lab-eth.pcap")
	dir := filepath.Join(t.TempDir(), "records")
	st, _, err := ExportWith(context.Background(), config(capture), ExportOptions{Format: "parquet", RowsPerFile: 500, Dir: dir}, nil, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "records-*.parquet"))
	if want := int((st.Rows + 499) / 500); len(files) != want || want < 2 {
		t.Fatalf("%d files for %d rows, want %d", len(files), st.Rows, want)
	}
	total := int64(0)
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := fh.Stat()
		pf, err := parquet.OpenFile(fh, fi.Size())
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if pf.NumRows() > 500 {
			t.Errorf("%s: %d rows", f, pf.NumRows())
		}
		total += pf.NumRows()
		fh.Close()
	}
	if uint64(total) != st.Rows {
		t.Errorf("%d rows in the files, %d exported", total, st.Rows)
	}
}
