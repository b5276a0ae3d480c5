package dns

import (
	"testing"

	"github.com/visor-dns/visor"
)

// TestLimitMaxOpen opens more queries than MaxOpen at one instant: the
// table holds MaxOpen, the oldest go first, and each is counted.
func TestLimitMaxOpen(t *testing.T) {
	a := NewAnalyzer()
	a.MaxOpen = 100
	st := NewState()
	for i := 0; i < 1000; i++ {
		a.Observe(msg(t, 1, uint16(i), "q.example", 1, false, 0, 0), st, visor.DirUnknown)
		if a.open.len() > a.MaxOpen {
			t.Fatalf("after query %d: %d open, bound %d", i, a.open.len(), a.MaxOpen)
		}
	}
	if a.Stats.OpenEvicted != 900 {
		t.Errorf("evicted %d, want 900", a.Stats.OpenEvicted)
	}
	// The newest stayed open: its response matches; the oldest's does not.
	a.Observe(msg(t, 2, 999, "q.example", 1, true, 0, 1), st, visor.DirUnknown)
	a.Observe(msg(t, 2, 0, "q.example", 1, true, 0, 1), st, visor.DirUnknown)
	if st.xactTotal != 1 || a.Stats.ResponsesUnmatched != 1 {
		t.Errorf("matched %d, unmatched %d; want 1 and 1", st.xactTotal, a.Stats.ResponsesUnmatched)
	}
	a.Close(st)
	if a.Stats.OpenAtEnd != 99 {
		t.Errorf("open at end %d, want 99", a.Stats.OpenAtEnd)
	}
}
