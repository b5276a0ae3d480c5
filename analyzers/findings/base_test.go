package findings

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/visor-dns/visor/sketch"
)

// Past maxBase cuts the baseline keeps those of the smallest name hashes,
// whatever the order the sums come in, added one by one or merged from
// parts (as a run, a summary and a merge of summaries give them).
func TestBaseSumsOrder(t *testing.T) {
	type add struct {
		zone string
		k, n uint64
	}
	r := rand.New(rand.NewPCG(5, 6))
	var adds []add
	for i := 0; i < 4*maxBase; i++ {
		zone := fmt.Sprintf("z%d.example", r.IntN(maxBase+maxBase/4))
		n := uint64(1 + r.IntN(32))
		adds = append(adds, add{zone, uint64(r.IntN(int(n) + 1)), n})
	}
	dump := func(s *baseSums) string {
		var b []byte
		for _, x := range s.sorted() {
			b = fmt.Appendf(b, "%s %d %d\n", x.zone, x.k, x.n)
		}
		return string(b)
	}
	var first baseSums
	for _, a := range adds {
		first.add(a.zone, a.k, a.n)
	}
	if len(first.m) != maxBase {
		t.Fatalf("%d cuts kept, want %d", len(first.m), maxBase)
	}
	want := dump(&first)
	// The kept ones are the smallest hashes of all.
	all := map[string]*baseSum{}
	for _, a := range adds {
		all[a.zone] = &baseSum{zone: a.zone, h: sketch.Hash([]byte(a.zone))}
	}
	var byHash []*baseSum
	for _, b := range all {
		byHash = append(byHash, b)
	}
	slices.SortFunc(byHash, func(a, b *baseSum) int {
		if a.less(b) {
			return -1
		}
		return 1
	})
	for _, b := range byHash[:maxBase] {
		if first.m[b.zone] == nil {
			t.Fatalf("%s (a smallest hash) not kept", b.zone)
		}
	}
	for round := range 3 {
		rr := rand.New(rand.NewPCG(uint64(round), 7))
		shuf := slices.Clone(adds)
		rr.Shuffle(len(shuf), func(i, j int) { shuf[i], shuf[j] = shuf[j], shuf[i] })
		var parts [3]baseSums
		for i, a := range shuf {
			parts[i%3].add(a.zone, a.k, a.n)
		}
		var merged baseSums
		for _, i := range rr.Perm(3) {
			merged.merge(&parts[i])
		}
		if got := dump(&merged); got != want {
			t.Fatalf("round %d: the merged parts keep other sums", round)
		}
	}
}
