package visor

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// AddrWords gives As16's words, for IPv4 and IPv6 alike.
func TestAddrWords(t *testing.T) {
	for _, s := range []string{"198.51.100.10", "0.0.0.0", "255.255.255.255", "::ffff:198.51.100.10", "2001:db8::1", "::", "fe80::1%eth0"} {
		a := netip.MustParseAddr(s)
		b := a.As16()
		hi, lo := AddrWords(a)
		if hi != binary.BigEndian.Uint64(b[:8]) || lo != binary.BigEndian.Uint64(b[8:]) {
			t.Errorf("%s: words %#x %#x, As16 % x", s, hi, lo, b)
		}
	}
}
