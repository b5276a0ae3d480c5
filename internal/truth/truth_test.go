package truth

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visor-dns/visor/report"
)

func TestParseTshark(t *testing.T) {
	// frame 1: a query; 2: its answer; 3: two TCP messages (a NODATA answer
	// and an NXDOMAIN); 4: ARP; 5: DNS quoted in ICMP.
	lines := strings.Join([]string{
		"1\teth:ethertype:ip:udp:dns\t0\t\t1\t0\tWWW.example.\t1\t",
		"2\teth:ethertype:ip:udp:dns\t1\t0\t1\t1\twww.example\t1\t1",
		"3\teth:ethertype:ipv6:tcp:dns\t1|1\t0|3\t1|1\t0|0\tx.example|<Root>\t28|6\t",
		"4\teth:ethertype:arp\t\t\t\t\t\t\t",
		"5\teth:ethertype:ip:icmp:ip:udp:dns\t0\t\t1\t0\tq.example\t1\t",
	}, "\n") + "\n"
	c, err := parseTshark(strings.NewReader(lines))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(c)
	want := `{"file":"","packets":5,"dns":{"messages":4,"queries":1,"responses":3,"udp":2,"tcp":2,"ipv4":2,"ipv6":2,` +
		`"nodata":1,"rcodes":{"NOERROR":2,"NXDOMAIN":1},"qtypes":{"A":1},"distinct_qnames":3,"xacts":1}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := parseTshark(strings.NewReader("1\tip\n")); err == nil {
		t.Error("a short line: no error")
	}
	if _, err := parseTshark(strings.NewReader("1\tip:udp:dns\t1\t\t1\t0\ta\t1\t\n")); err == nil {
		t.Error("a response without rcode: no error")
	}
}

func TestParseDnstapRead(t *testing.T) {
	in := `type: MESSAGE
identity: srv-a
version: Knot DNS 3.2.6
message:
  type: AUTH_QUERY
  query_message_data:
    type: ignored
---
type: MESSAGE
identity: other
message:
  type: AUTH_RESPONSE
---
type: MESSAGE
message:
  type: RESOLVER_QUERY
`
	tp, err := parseDnstapRead(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if tp.Identity != "srv-a" || tp.Version != "Knot DNS 3.2.6" || tp.Messages != 3 || tp.Queries != 2 || tp.Responses != 1 ||
		tp.Types["AUTH_QUERY"] != 1 || tp.Types["AUTH_RESPONSE"] != 1 || tp.Types["RESOLVER_QUERY"] != 1 {
		t.Errorf("%+v", tp)
	}
	if in, out := tp.Directions(); in != 2 || out != 1 {
		t.Errorf("directions in %d out %d, want 2, 1", in, out)
	}
}

// The committed truth files read into these types and write back byte for byte.
func TestRoundTrip(t *testing.T) {
	for _, c := range []struct {
		glob string
		v    func() any
		line bool
	}{
		{"*.truth.json", func() any { return new(Capture) }, false},
		{"*.dnstap-read.json", func() any { return new(Tap) }, false},
		{"*.findings.json", func() any { return new(Attack) }, true},
	} {
		files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", c.glob))
		if len(files) == 0 {
			t.Fatalf("no testdata/%s", c.glob)
		}
		for _, f := range files {
			v := c.v()
			if err := Read(f, v); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "x")
			write := Write
			if c.line {
				write = WriteLine
			}
			if err := write(out, v); err != nil {
				t.Fatal(err)
			}
			a, _ := os.ReadFile(f)
			b, _ := os.ReadFile(out)
			if string(a) != string(b) {
				t.Errorf("%s does not write back the same:\n%s\n%s", f, a, b)
			}
		}
	}
}

func TestAttackDiff(t *testing.T) {
	a := &Attack{Expect: Expect{Kind: "nxdomain_flood", Zone: "flood.example"}, Start: "2026-01-01T00:00:10.500000000Z"}
	f := report.Finding{Kind: "nxdomain_flood", Severity: "high", Summary: "s", Start: report.MustParseTimestamp("2026-01-01T00:00:10Z"),
		Peak: report.MustParseTimestamp("2026-01-01T00:00:11Z"), End: report.MustParseTimestamp("2026-01-01T00:00:12Z"), Evidence: map[string]any{"zones": []any{map[string]any{"name": "flood.example"}}}}
	if d := a.Diff([]report.Finding{f}, time.Second, 0); len(d) != 0 {
		t.Errorf("a matching finding: %v", d)
	}
	late := f
	late.Start = report.MustParseTimestamp("2026-01-01T00:00:12Z")
	late.Peak = late.Start
	for name, c := range map[string]struct {
		fs   []report.Finding
		slow time.Duration
	}{
		"none":          {nil, 0},
		"two":           {[]report.Finding{f, f}, 0},
		"other key":     {[]report.Finding{{Kind: "nxdomain_flood", Evidence: map[string]any{"zone": "x.example"}}}, 0},
		"a bucket late": {[]report.Finding{late}, 0},
	} {
		if d := a.Diff(c.fs, time.Second, c.slow); len(d) == 0 {
			t.Errorf("%s: no difference", name)
		}
	}
	if d := a.Diff([]report.Finding{late}, time.Second, 2*time.Second); len(d) != 0 {
		t.Errorf("late within the allowance: %v", d)
	}
	if d := (&Attack{}).Diff([]report.Finding{f}, time.Second, 0); len(d) != 1 {
		t.Errorf("ordinary traffic with a finding: %v", d)
	}
}
