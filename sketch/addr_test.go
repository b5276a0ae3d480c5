package sketch

import (
	"net/netip"
	"testing"

	"github.com/visor-dns/visor"
)

func TestAddrHashes(t *testing.T) {
	a, b, c := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("198.51.100.2")
	var zero netip.Addr
	var x AddrHashes
	for i, step := range []struct {
		a     netip.Addr
		fresh bool
	}{
		{a, true}, {b, true}, {a, false}, {b, false}, {a, false},
		{c, true},  // evicts b, the older of the two
		{b, true},  // so b is hashed again; a goes
		{c, false}, // c and b remain
		{a, true},
		{zero, true}, {zero, true}, // the zero address is never remembered
	} {
		var buf [16]byte
		h, fresh := x.Hash(step.a)
		if want := Hash(visor.AddrKey(step.a, &buf)); h != want || fresh != step.fresh {
			t.Errorf("step %d (%s): hash %x fresh %v, want %x %v", i, step.a, h, fresh, want, step.fresh)
		}
	}
}
