package dns

import (
	"fmt"
	"regexp"
	"slices"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/decode"
)

// hookLog writes down what a Hook hears.
type hookLog []string

func (h *hookLog) Query(seq uint32, open bool, m *visor.Message, v *decode.DNS, dir visor.Direction) {
	*h = append(*h, fmt.Sprintf("query %d %v %s", seq, open, v.QName()))
}

func (h *hookLog) Response(seq uint32, matched bool, m *visor.Message, v *decode.DNS, dir visor.Direction) {
	*h = append(*h, fmt.Sprintf("response %d %v %s", seq, matched, v.QName()))
}

func (h *hookLog) Unanswered(seq uint32) { *h = append(*h, fmt.Sprintf("unanswered %d", seq)) }

func TestHook(t *testing.T) {
	const ms = 1_000_000
	tests := []struct {
		name string
		msgs func(t *testing.T) []*visor.Message
		want []string
	}{
		{"query and answer", func(t *testing.T) []*visor.Message {
			return []*visor.Message{msg(t, 0, 1, "a.example", mdns.TypeA, false, 0, 0), msg(t, 3*ms, 1, "a.example", mdns.TypeA, true, 0, 1)}
		}, []string{"query 1 true a.example", "response 1 true a.example"}},
		{"unmatched response", func(t *testing.T) []*visor.Message {
			return []*visor.Message{msg(t, 0, 1, "a.example", mdns.TypeA, true, 0, 1)}
		}, []string{"response 0 false a.example"}},
		{"duplicate query stands alone", func(t *testing.T) []*visor.Message {
			return []*visor.Message{msg(t, 0, 1, "a.example", mdns.TypeA, false, 0, 0), msg(t, 1*ms, 1, "a.example", mdns.TypeA, false, 0, 0),
				msg(t, 2*ms, 1, "a.example", mdns.TypeA, true, 0, 1)}
		}, []string{"query 1 true a.example", "query 0 false a.example", "response 1 true a.example"}},
		{"timeout, then open at the end", func(t *testing.T) []*visor.Message {
			return []*visor.Message{msg(t, 0, 1, "a.example", mdns.TypeA, false, 0, 0), msg(t, 6000*ms, 2, "b.example", mdns.TypeA, false, 0, 0)}
		}, []string{"query 1 true a.example", "unanswered 1", "query 2 true b.example", "unanswered 2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log hookLog
			a, st := NewAnalyzer(), NewState()
			a.Hook = &log
			for _, m := range tc.msgs(t) {
				a.Expire(m.TS, st)
				a.Observe(m, st, visor.DirUnknown)
			}
			a.Close(st)
			if !slices.Equal(log, tc.want) {
				t.Errorf("hook heard\n%q\nwant\n%q", log, tc.want)
			}
		})
	}
}

func TestHookEvicted(t *testing.T) {
	var log hookLog
	a, st := NewAnalyzer(), NewState()
	a.MaxOpen = 1
	a.Hook = &log
	a.Observe(msg(t, 0, 1, "a.example", mdns.TypeA, false, 0, 0), st, visor.DirUnknown)
	a.Observe(msg(t, 1, 2, "b.example", mdns.TypeA, false, 0, 0), st, visor.DirUnknown)
	want := []string{"query 1 true a.example", "unanswered 1", "query 2 true b.example"}
	if !slices.Equal(log, want) {
		t.Errorf("hook heard %q, want %q", log, want)
	}
}

func TestNameFilters(t *testing.T) {
	names := []string{"www.example", "mail.example", "x1.tunnel.example", "other.test"}
	tests := []struct {
		name             string
		include, exclude string
		want             uint64 // messages counted
	}{
		{"none", "", "", 4},
		{"include", `\.example$`, "", 3},
		{"exclude", "", `^x[0-9]+\.`, 3},
		{"both", `example$`, `tunnel`, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, st := NewAnalyzer(), NewState()
			if tc.include != "" {
				a.Include = regexp.MustCompile(tc.include)
			}
			if tc.exclude != "" {
				a.Exclude = regexp.MustCompile(tc.exclude)
			}
			for i, n := range names {
				a.Observe(msg(t, int64(i), uint16(i), n, mdns.TypeA, false, 0, 0), st, visor.DirUnknown)
			}
			if st.Messages != tc.want || a.Stats.FilteredByName != uint64(len(names))-tc.want {
				t.Errorf("%d messages counted, %d filtered; want %d counted", st.Messages, a.Stats.FilteredByName, tc.want)
			}
		})
	}
}

// BenchmarkNameFilter is the cost of --qname-regex and --qname-exclude on a
// query (compare BenchmarkObserveQuery).
func BenchmarkNameFilter(b *testing.B) {
	a, st := NewAnalyzer(), NewState()
	a.Include = regexp.MustCompile(`(^|\.)example$`)
	a.Exclude = regexp.MustCompile(`^x[0-9a-f]{8,}\.`)
	m := msg(b, 0, 1, "www.mail.example", mdns.TypeA, false, 0, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.TS = int64(i)
		a.Observe(m, st, visor.DirUnknown)
	}
}
