package findings

import (
	"net/netip"
	"testing"
)

// Addresses that differ in one byte, wherever it is, get their own memo
// cells, so a client and its server alternate without missing.
func TestMemoAddrSlots(t *testing.T) {
	tests := []struct{ a, b string }{
		{"198.51.100.10", "198.51.100.2"},
		{"198.51.100.1", "198.51.101.1"},
		{"10.0.0.1", "11.0.0.1"},
		{"2001:db8::1", "2001:db8::2"},
		{"2001:db8::1", "2001:db9::1"},
	}
	for _, tc := range tests {
		a, b := netip.MustParseAddr(tc.a), netip.MustParseAddr(tc.b)
		if addrSlot(a, addrBits) == addrSlot(b, addrBits) {
			t.Errorf("%s and %s share memo cell %d", a, b, addrSlot(a, addrBits))
			continue
		}
		var p pool
		w := p.window(0)
		for range 3 {
			w.addr(a)
			w.addr(b)
		}
		for _, x := range []netip.Addr{a, b} {
			if c := w.memo.addrs[addrSlot(x, addrBits)]; c == nil || c.addr != x || c.weight != 3 {
				t.Errorf("memo cell of %s holds %+v", x, c)
			}
		}
	}
}
