package dns

import (
	"slices"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/visor-dns/visor"
)

// PairOnly pairs as a counting Analyzer does (the Hook hears the same) and
// counts nothing into the State.
func TestPairOnly(t *testing.T) {
	const ms = 1_000_000
	msgs := []*visor.Message{
		msg(t, 0, 1, "a.example", mdns.TypeA, false, 0, 0), msg(t, 1*ms, 1, "a.example", mdns.TypeA, false, 0, 0),
		msg(t, 2*ms, 1, "a.example", mdns.TypeA, true, 0, 1), msg(t, 3*ms, 7, "b.example", mdns.TypeA, true, 3, 0),
		msg(t, 4*ms, 2, "c.example", mdns.TypeAAAA, false, 0, 0), msg(t, 6000*ms, 3, "d.example", mdns.TypeA, false, 0, 0),
	}
	run := func(pairOnly bool) (hookLog, *State) {
		var log hookLog
		a, st := NewAnalyzer(), NewState()
		a.Hook, a.PairOnly = &log, pairOnly
		for _, m := range msgs {
			a.Expire(m.TS, st)
			a.Observe(m, st, visor.DirUnknown)
		}
		a.Close(st)
		return log, st
	}
	want, full := run(false)
	got, st := run(true)
	if !slices.Equal(got, want) {
		t.Errorf("PairOnly: hook heard\n%q\nwant\n%q", got, want)
	}
	if full.Messages != 6 || full.Queries != 4 {
		t.Fatalf("counting analyzer: %d messages, %d queries; want 6, 4", full.Messages, full.Queries)
	}
	if st.Messages != 0 || st.Queries != 0 || st.Responses != 0 || st.qnames.Estimate() != 0 {
		t.Errorf("PairOnly counted %d messages, %d queries, %d responses, %d names; want none",
			st.Messages, st.Queries, st.Responses, st.qnames.Estimate())
	}
}
