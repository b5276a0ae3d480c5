package findings

import (
	"testing"
)

// Large answers towards an address that asked for them with spoofed,
// small queries: reflection.
func TestReflection(t *testing.T) {
	var evs traffic
	launch := t0 + 5e9
	v, s := addr("198.51.100.66"), addr("198.51.100.2")
	for i := 0; i < 300; i++ {
		ts := launch + int64(i)*1e9/150
		evs = append(evs, event{ts: ts, src: v, dst: s, name: "amp.example", qtype: typeANY},
			event{ts: ts + 1e6, src: s, dst: v, name: "amp.example", qtype: typeANY, response: true})
	}
	// the answers are large: pad them through a custom wire length
	fs := detect(t, evs.sorted(), 60e9, 1, &Thresholds{ReflBytes: 5000, ReflRate: 1000, ReflRatio: 0.5, ReflShare: 0.5,
		RSNames: 1e9, NXMin: 1e9, SFMin: 1e9, FloodMin: 1e9, TunQueries: 1e9, SYNMin: 1e9, RSSlowNames: 1e9})
	one(t, fs, KindReflection, "198.51.100.66", launch)
}
