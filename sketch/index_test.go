package sketch

import (
	"math/rand/v2"
	"testing"
)

// TestSlotIndexAgainstMap churns a small table (hashes crowded into few
// home cells, so deletions must shift runs back) and compares every step
// with a Go map.
func TestSlotIndexAgainstMap(t *testing.T) {
	for _, spread := range []uint64{7, 1 << 20} {
		x := newSlotIndex(64)
		ref := map[uint64]int32{}
		r := rand.New(rand.NewPCG(3, uint64(spread)))
		for step := 0; step < 200000; step++ {
			h := r.Uint64N(spread)*0x9e3779b97f4a7c15 + r.Uint64N(3)
			switch {
			case len(ref) < 60 && r.IntN(2) == 0:
				x.put(h, int32(step))
				ref[h] = int32(step)
			default:
				x.del(h)
				delete(ref, h)
			}
			if x.len() != len(ref) {
				t.Fatalf("spread %d step %d: len %d, want %d", spread, step, x.len(), len(ref))
			}
			if step%97 == 0 {
				for k, v := range ref {
					if got, ok := x.get(k); !ok || got != v {
						t.Fatalf("spread %d step %d: get(%x) = %d, %v; want %d", spread, step, k, got, ok, v)
					}
				}
			}
		}
	}
}
