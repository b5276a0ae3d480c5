package sketch

import (
	"math/rand/v2"
	"testing"
)

// TestSlotIndexAgainstMap churns a small table and compares every step
// with a Go map. With a small spread the hashes crowd into few home cells
// (so deletions must shift runs back) and share their top 32 bits (so tags
// collide and the entries' full hashes must tell them apart).
func TestSlotIndexAgainstMap(t *testing.T) {
	for _, spread := range []uint64{7, 1 << 20} {
		x := newSlotIndex(64)
		es := make([]topkEntry, 64)
		var free []int32
		for i := range es {
			free = append(free, int32(i))
		}
		ref := map[uint64]int32{}
		r := rand.New(rand.NewPCG(3, uint64(spread)))
		for step := 0; step < 200000; step++ {
			h := r.Uint64N(spread)*0x9e3779b97f4a7c15 + r.Uint64N(3)
			slot, in := ref[h]
			switch {
			case !in && len(free) > 0 && r.IntN(2) == 0:
				slot, free = free[len(free)-1], free[:len(free)-1]
				es[slot].hash = h
				x.put(h, slot)
				ref[h] = slot
			case in:
				x.del(h, slot)
				es[slot].hash = 0
				free = append(free, slot)
				delete(ref, h)
			}
			if x.len() != len(ref) {
				t.Fatalf("spread %d step %d: len %d, want %d", spread, step, x.len(), len(ref))
			}
			if step%97 == 0 {
				for k, v := range ref {
					if got, ok := x.get(k, es); !ok || got != v {
						t.Fatalf("spread %d step %d: get(%x) = %d, %v; want %d", spread, step, k, got, ok, v)
					}
				}
				// A hash that shares its tag with present ones (the low bits
				// differ) is not found.
				absent := h ^ 1<<20
				if _, in := ref[absent]; !in {
					if s, ok := x.get(absent, es); ok {
						t.Fatalf("spread %d step %d: absent %x found at slot %d", spread, step, absent, s)
					}
				}
			}
		}
	}
}
