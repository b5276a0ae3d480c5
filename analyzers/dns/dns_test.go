package dns

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/decode"
	"github.com/visor-dns/visor/sketch"
)

var (
	client = netip.MustParseAddr("198.51.100.10")
	server = netip.MustParseAddr("198.51.100.1")
)

// msg builds a query (or its response with rcode and answers) as a Message.
func msg(t testing.TB, ts int64, id uint16, name string, qtype uint16, response bool, rcode, answers int) *visor.Message {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), qtype)
	m.Id = id
	src, dst, sport, dport := client, server, uint16(40000), uint16(53)
	if response {
		r := new(mdns.Msg)
		r.SetRcode(m, rcode)
		for i := 0; i < answers; i++ {
			rr, _ := mdns.NewRR(mdns.Fqdn(name) + " 60 IN A 198.51.100.7")
			r.Answer = append(r.Answer, rr)
		}
		m = r
		src, dst, sport, dport = dst, src, dport, sport
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return &visor.Message{TS: ts, IPVersion: 4, Transport: visor.TransportUDP, Src: src, Dst: dst,
		SrcPort: sport, DstPort: dport, WireLen: len(b), Data: b}
}

func TestTransactions(t *testing.T) {
	const ms = 1_000_000
	tests := []struct {
		name                 string
		msgs                 func(t *testing.T) []*visor.Message
		total, timedOut      uint64
		unmatched, openAtEnd uint64
		nodata, nx, queries  uint64
	}{
		{"query and answer", func(t *testing.T) []*visor.Message {
			return []*visor.Message{msg(t, 0, 1, "a.example", mdns.TypeA, false, 0, 0), msg(t, 3*ms, 1, "a.example", mdns.TypeA, true, 0, 1)}
		}, 1, 0, 0, 0, 0, 0, 1},
		{"name compared case-insensitively", func(t *testing.T) []*visor.Message {
			return []*visor.Message{msg(t, 0, 1, "A.Example", mdns.TypeA, false, 0, 0), msg(t, 3*ms, 1, "a.example", mdns.TypeA, true, 0, 1)}
		}, 1, 0, 0, 0, 0, 0, 1},
		{"other ID does not match", func(t *testing.T) []*visor.Message {
			return []*visor.Message{msg(t, 0, 1, "a.example", mdns.TypeA, false, 0, 0), msg(t, 3*ms, 2, "a.example", mdns.TypeA, true, 0, 1)}
		}, 0, 1, 1, 1, 0, 0, 1},
		{"other qtype does not match", func(t *testing.T) []*visor.Message {
			return []*visor.Message{msg(t, 0, 1, "a.example", mdns.TypeA, false, 0, 0), msg(t, 3*ms, 1, "a.example", mdns.TypeAAAA, true, 0, 1)}
		}, 0, 1, 1, 1, 0, 0, 1},
		{"answer after the timeout", func(t *testing.T) []*visor.Message {
			return []*visor.Message{msg(t, 0, 1, "a.example", mdns.TypeA, false, 0, 0), msg(t, 5001*ms, 1, "a.example", mdns.TypeA, true, 3, 0)}
		}, 0, 1, 1, 0, 0, 1, 1},
		{"nodata", func(t *testing.T) []*visor.Message {
			return []*visor.Message{msg(t, 0, 7, "b.example", mdns.TypeMX, false, 0, 0), msg(t, 1*ms, 7, "b.example", mdns.TypeMX, true, 0, 0)}
		}, 1, 0, 0, 0, 1, 0, 1},
		{"open at the end", func(t *testing.T) []*visor.Message {
			return []*visor.Message{msg(t, 0, 1, "a.example", mdns.TypeA, false, 0, 0), msg(t, 1*ms, 2, "c.example", mdns.TypeA, false, 0, 0)}
		}, 0, 2, 0, 2, 0, 0, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, st := NewAnalyzer(), NewState()
			for _, m := range tc.msgs(t) {
				a.Expire(m.TS, st)
				a.Observe(m, st, visor.DirUnknown)
			}
			a.Close(st)
			r := st.Report(10)
			if r.Xacts.Total != tc.total || r.Xacts.TimedOut != tc.timedOut {
				t.Errorf("xacts total %d timed out %d, want %d and %d", r.Xacts.Total, r.Xacts.TimedOut, tc.total, tc.timedOut)
			}
			if a.Stats.ResponsesUnmatched != tc.unmatched || a.Stats.OpenAtEnd != tc.openAtEnd {
				t.Errorf("unmatched %d open at end %d, want %d and %d", a.Stats.ResponsesUnmatched, a.Stats.OpenAtEnd, tc.unmatched, tc.openAtEnd)
			}
			if r.Nodata != tc.nodata || r.Rcodes["NXDOMAIN"] != tc.nx || r.Queries != tc.queries {
				t.Errorf("nodata %d nxdomain %d queries %d, want %d %d %d", r.Nodata, r.Rcodes["NXDOMAIN"], r.Queries, tc.nodata, tc.nx, tc.queries)
			}
		})
	}
}

func TestSuffix(t *testing.T) {
	tests := []struct{ name, two, three string }{
		{"www.example.com", ".example.com", "www.example.com"},
		{"a.b.example.com", ".example.com", ".b.example.com"},
		{"example.com", "example.com", ""},
		{"com", "", ""},
		{".", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v decode.DNS
			if !decode.ParseDNS(msg(t, 0, 1, tc.name, 1, false, 0, 0).Data, &v) {
				t.Fatal("not parsed")
			}
			if got := string(v.QNameSuffix(2)); got != tc.two {
				t.Errorf("qname2 %q, want %q", got, tc.two)
			}
			if got := string(v.QNameSuffix(3)); got != tc.three {
				t.Errorf("qname3 %q, want %q", got, tc.three)
			}
		})
	}
}

func TestSuffixFilterAndLatency(t *testing.T) {
	a, st := NewAnalyzer(), NewState()
	a.Suffixes = [][]byte{[]byte("example")}
	a.Observe(msg(t, 0, 1, "a.example", mdns.TypeA, false, 0, 0), st, visor.DirIn)
	a.Observe(msg(t, 0, 2, "a.other", mdns.TypeA, false, 0, 0), st, visor.DirIn)
	a.Observe(msg(t, 2_000_000_000, 1, "a.example", mdns.TypeA, true, 0, 1), st, visor.DirIn)
	r := st.Report(10)
	if r.Messages != 2 || a.Stats.FilteredBySuffix != 1 {
		t.Errorf("messages %d filtered %d, want 2 and 1", r.Messages, a.Stats.FilteredBySuffix)
	}
	if r.Xacts.In.Count != 1 || r.Xacts.In.LatencyUS.P50 < 1.98e6 || r.Xacts.In.LatencyUS.P50 > 2.02e6 {
		t.Errorf("in xacts %+v, want one at 2 s", r.Xacts.In)
	}
	if len(r.Top.Slow) != 1 || r.Top.Slow[0].Name != "a.example" {
		t.Errorf("slow %v, want a.example", r.Top.Slow)
	}
}

func TestMergeEqualsOneState(t *testing.T) {
	one, x, y := NewState(), NewState(), NewState()
	a1, a2 := NewAnalyzer(), NewAnalyzer()
	for i := 0; i < 100; i++ {
		m := msg(t, int64(i), uint16(i), "n"+string(rune('a'+i%7))+".example", mdns.TypeA, i%2 == 1, i%4, 0)
		a1.Observe(m, one, visor.DirUnknown)
		half := x
		if i >= 50 {
			half = y
		}
		a2.Observe(m, half, visor.DirUnknown)
	}
	x.Merge(y)
	if a, b := one.Report(10), x.Report(10); a.Messages != b.Messages || a.Cardinality != b.Cardinality ||
		len(a.Top.QName) != len(b.Top.QName) || a.Top.QName[0] != b.Top.QName[0] || a.Rcodes["NXDOMAIN"] != b.Rcodes["NXDOMAIN"] {
		t.Errorf("merged %+v\nwant %+v", b, a)
	}
}

func BenchmarkObserveQuery(b *testing.B) {
	a, st := NewAnalyzer(), NewState()
	q := msg(b, 0, 1, "www.example.com", mdns.TypeA, false, 0, 0)
	r := msg(b, 1000, 1, "www.example.com", mdns.TypeA, true, 0, 1)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		a.Observe(q, st, visor.DirUnknown)
		a.Observe(r, st, visor.DirUnknown)
	}
}

// TestOpenTableAgainstMap churns the open-query table (add, del) and
// compares it with a Go map at every step.
func TestOpenTableAgainstMap(t *testing.T) {
	var tb openTable
	ref := map[xactKey]openQuery{}
	x := uint64(1)
	for step := 0; step < 300000; step++ {
		x = x*6364136223846793005 + 1442695040888963407
		k := xactKey(x>>50) * 0x9e3779b97f4a7c15 // few distinct keys, crowded cells
		v := openQuery{ts: int64(step)}
		switch _, had := ref[k]; {
		case len(ref) < 3000 && x>>63 == 0: // add keeps a present key's value
			if tb.add(k, v) == had {
				t.Fatalf("step %d: add(%x) = %v with the key there: %v", step, k, !had, had)
			}
			if !had {
				ref[k] = v
			}
		default:
			tb.del(k)
			delete(ref, k)
		}
		if tb.len() != len(ref) {
			t.Fatalf("step %d: len %d, want %d", step, tb.len(), len(ref))
		}
		if step%1009 == 0 {
			for k, v := range ref {
				if got, ok := tb.get(k); !ok || got != v {
					t.Fatalf("step %d: get(%x) = %v, %v; want %v", step, k, got, ok, v)
				}
			}
		}
	}
}

// suffixHash gives sketch.Hash whether the memo holds the suffix, holds
// another in its cell, or cannot hold it.
func TestSuffixHashMemo(t *testing.T) {
	a := NewAnalyzer()
	name := []byte("www.a.example.com")
	suffixes := [][]byte{[]byte(".example.com"), []byte(".a.example.com"), []byte(".b.example.com"), []byte(".example.net"), []byte(".exbmple.com"), // the same memo cell as .example.com

		[]byte("." + strings.Repeat("x", 70) + ".com"), []byte(".example.com")}
	for round := range 3 {
		for i := range 200 {
			s := suffixes[(i*7+round)%len(suffixes)]
			if got, want := a.suffixHash(s, name, 42), sketch.Hash(s); got != want {
				t.Fatalf("%q: %x, want %x", s, got, want)
			}
		}
	}
	if got := a.suffixHash(name, name, 42); got != 42 {
		t.Errorf("whole name: %x, want the name's hash", got)
	}
}

// BenchmarkObserveFlood is a random-subdomain flood: every query a new
// name under one zone, answered NXDOMAIN, so each pair evicts in the
// qname, qname3 and nxdomain tops. ns/op is per message.
func BenchmarkObserveFlood(b *testing.B) {
	const n = 1 << 16
	msgs := make([]*visor.Message, 0, 2*n)
	for i := range n {
		name := strconv.FormatUint(uint64(i)*0x9e3779b97f4a7c15>>20, 36) + ".victim.example"
		msgs = append(msgs, msg(b, int64(i)*1000, uint16(i), name, mdns.TypeA, false, 0, 0),
			msg(b, int64(i)*1000+500, uint16(i), name, mdns.TypeA, true, mdns.RcodeNameError, 0))
	}
	a, st := NewAnalyzer(), NewState()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		a.Observe(msgs[i%len(msgs)], st, visor.DirUnknown)
	}
}

// The same query answered again and again at the same time leaves one
// live FIFO entry, not one each: the FIFO stays within its bound (it once
// kept them all, each seeming to be the open query, and every later query
// rescanned them).
func TestRepeatedTransactionFIFOBound(t *testing.T) {
	a, st := NewAnalyzer(), NewState()
	a.MaxOpen = 8
	q := msg(t, 0, 1, "www.example.com", mdns.TypeA, false, 0, 0)
	r := msg(t, 0, 1, "www.example.com", mdns.TypeA, true, 0, 1)
	for i := range 1000 {
		a.Observe(q, st, visor.DirUnknown)
		a.Observe(r, st, visor.DirUnknown)
		if n := len(a.fifo) - a.head; n > 2*a.MaxOpen+1 {
			t.Fatalf("after %d transactions the FIFO holds %d entries, bound %d", i+1, n, 2*a.MaxOpen+1)
		}
	}
	if st.xactTotal != 1000 || a.Stats.ResponsesUnmatched != 0 || a.Stats.DuplicateQueries != 0 {
		t.Errorf("%d transactions, %d unmatched, %d duplicates; want 1000, 0, 0", st.xactTotal, a.Stats.ResponsesUnmatched, a.Stats.DuplicateQueries)
	}
}
