package anonymize

import (
	"bytes"
	"net/netip"
	"testing"
)

// response is a DNS response for a.example with an A, an AAAA and an OPT
// record carrying a /24 Client Subnet option.
func response() []byte {
	m := []byte{0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 1}
	m = append(m, 1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1)
	m = append(m, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 51, 100, 7)
	m = append(m, 0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9)
	m = append(m, 0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 11, 0, 8, 0, 7, 0, 1, 24, 0, 203, 0, 113)
	return m
}

func TestDNS(t *testing.T) {
	a, _ := New(refKey, 32, 128)
	m := response()
	if !a.DNS(m) {
		t.Fatal("the message was not walked to its end")
	}
	for _, real := range [][]byte{{198, 51, 100, 7}, {0x20, 0x01, 0x0d, 0xb8}, {203, 0, 113}} {
		if bytes.Contains(m, real) {
			t.Errorf("% x is still in the message", real)
		}
	}
	want4 := a.Addr(netip.MustParseAddr("198.51.100.7")).As4()
	if !bytes.Contains(m, want4[:]) {
		t.Errorf("the A record does not hold the pseudonym %v", want4)
	}
	ecs := a.Prefix(netip.MustParsePrefix("203.0.113.0/24")).Addr().As4()
	if !bytes.HasSuffix(m, ecs[:3]) {
		t.Errorf("the ECS option ends % x, want % x", m[len(m)-3:], ecs[:3])
	}
	// Walking a truncated message stops without panicking.
	for i := range m {
		a.DNS(response()[:i])
	}
}

func FuzzDNS(f *testing.F) {
	f.Add(response())
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0, 12})
	a, _ := New(refKey, 24, 48)
	f.Fuzz(func(t *testing.T, b []byte) {
		n := len(b)
		a.DNS(b)
		if len(b) != n {
			t.Fatal("length changed")
		}
	})
}
