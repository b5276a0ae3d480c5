package anonymize

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// refKey is the key of the sample shipped with the reference Crypto-PAn
// implementation (sample_trace_raw.dat / sample_trace_sanitized.dat).
var refKey = []byte{21, 34, 23, 141, 51, 164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16, 216, 152, 143, 131, 121, 121, 101, 39, 98, 87, 76, 45, 42, 132, 34, 2}

// Known answers: address pairs of the reference sample (as collected in
// Yawning Angel's Go cryptopan tests, whose IPv6 pairs, of the same
// 128-bit construction, are not from the reference: it has no IPv6).
var vectors = []struct{ in, out string }{
	{"128.11.68.132", "135.242.180.132"}, {"129.118.74.4", "134.136.186.123"},
	{"130.132.252.244", "133.68.164.234"}, {"141.223.7.43", "141.167.8.160"},
	{"141.233.145.108", "141.129.237.235"}, {"152.163.225.39", "151.140.114.167"},
	{"156.29.3.236", "147.225.12.42"}, {"165.247.96.84", "162.9.99.234"},
	{"166.107.77.190", "160.132.178.185"}, {"192.102.249.13", "252.138.62.131"},
	{"192.215.32.125", "252.43.47.189"}, {"192.233.80.103", "252.25.108.8"},
	{"192.41.57.43", "252.222.221.184"}, {"193.150.244.223", "253.169.52.216"},
	{"195.205.63.100", "255.186.223.5"}, {"198.200.171.101", "249.199.68.213"},
	{"198.26.132.101", "249.36.123.202"}, {"198.36.213.5", "249.7.21.132"},
	{"198.51.77.238", "249.18.186.254"}, {"199.217.79.101", "248.38.184.213"},
	{"202.49.198.20", "245.206.7.234"}, {"203.12.160.252", "244.248.163.4"},
	{"204.184.162.189", "243.192.77.90"}, {"204.202.136.230", "243.178.4.198"},
	{"24.0.250.221", "100.15.198.226"}, {"24.13.62.231", "100.2.192.247"},
	{"38.15.67.68", "64.3.66.187"}, {"4.3.88.225", "124.60.155.63"},
	{"63.14.55.111", "95.9.215.7"}, {"64.14.118.196", "0.255.183.58"},
	{"64.34.154.117", "0.221.154.117"}, {"64.39.15.238", "0.219.7.41"},
	{"::1", "78ff:f001:9fc0:20df:8380:b1f1:704:ed"},
	{"::ffff", "78ff:f001:9fc0:20df:8380:b1f1:704:f838"},
	{"2001:db8::1", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e"},
	{"2001:db8::2", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c"},
}

func TestKnownAnswers(t *testing.T) {
	a, err := New(refKey, 32, 128)
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ { // the second round from the caches
		for _, v := range vectors {
			if got := a.Addr(netip.MustParseAddr(v.in)); got != netip.MustParseAddr(v.out) {
				t.Errorf("round %d: %s -> %s, want %s", round, v.in, got, v.out)
			}
		}
	}
}

// commonBits is the length of the longest common prefix of x and y.
func commonBits(x, y netip.Addr) int {
	a, b := x.As16(), y.As16()
	n := 0
	for i := range a {
		d := a[i] ^ b[i]
		if d == 0 {
			n += 8
			continue
		}
		for d&0x80 == 0 {
			n++
			d <<= 1
		}
		break
	}
	if x.Is4() {
		n -= 96
	}
	return n
}

// Prefix preservation: two addresses share exactly as many leading bits
// as their pseudonyms do; a table of chosen pairs, then random ones.
func TestPrefixPreserving(t *testing.T) {
	a, _ := New(refKey, 32, 128)
	for _, p := range [][2]string{
		{"198.51.100.1", "198.51.100.2"}, {"198.51.100.1", "198.51.101.1"},
		{"10.0.0.1", "138.0.0.1"}, {"0.0.0.0", "255.255.255.255"}, {"192.0.2.7", "192.0.2.7"},
		{"2001:db8::1", "2001:db8::2"}, {"2001:db8:1::1", "2001:db8:2::1"}, {"::", "8000::"},
		{"2001:db8::1:0:0:1", "2001:db8::1:0:0:0"},
	} {
		x, y := netip.MustParseAddr(p[0]), netip.MustParseAddr(p[1])
		if got, want := commonBits(a.Addr(x), a.Addr(y)), commonBits(x, y); got != want {
			t.Errorf("%s, %s: pseudonyms share %d bits, the addresses %d", x, y, got, want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[netip.Addr]netip.Addr{}
	for i := 0; i < 3000; i++ {
		var x, y netip.Addr
		if i%2 == 0 {
			b := [4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
			x = netip.AddrFrom4(b)
			k := r.IntN(33) // y shares k bits with x, then differs
			c := b
			v := uint32(c[0])<<24 | uint32(c[1])<<16 | uint32(c[2])<<8 | uint32(c[3])
			if k < 32 {
				v ^= 1 << (31 - k)
				v ^= r.Uint32() & (1<<(31-k) - 1)
			}
			y = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		} else {
			var b [16]byte
			for j := range b {
				b[j] = byte(r.Uint32())
			}
			x = netip.AddrFrom16(b)
			c := b
			k := r.IntN(128)
			c[k/8] ^= 0x80 >> (k % 8)
			y = netip.AddrFrom16(c)
		}
		px, py := a.Addr(x), a.Addr(y)
		if got, want := commonBits(px, py), commonBits(x, y); got != want {
			t.Fatalf("%s, %s: pseudonyms %s, %s share %d bits, the addresses %d", x, y, px, py, got, want)
		}
		if px.Is4() != x.Is4() {
			t.Fatalf("%s -> %s changes family", x, px)
		}
		if o, ok := seen[px]; ok && o != x { // one-to-one
			t.Fatalf("%s and %s both -> %s", o, x, px)
		}
		seen[px] = x
	}
}

// The same key gives the same pseudonyms in another Anonymizer (another
// run), whatever its caches hold; another key other ones.
func TestStable(t *testing.T) {
	a, _ := New(refKey, 32, 128)
	b, _ := New(append([]byte(nil), refKey...), 32, 128)
	other := append([]byte(nil), refKey...)
	other[31] ^= 1
	c, _ := New(other, 32, 128)
	x := netip.MustParseAddr("198.51.100.10")
	a.Addr(netip.MustParseAddr("198.51.100.11")) // fills a's memo for the /24
	if a.Addr(x) != b.Clone().Addr(x) {
		t.Errorf("two anonymizers with one key disagree on %s", x)
	}
	if a.Addr(x) == c.Addr(x) {
		t.Errorf("another key gives the same pseudonym for %s", x)
	}
}

func TestPrefixOnly(t *testing.T) {
	a, err := New(nil, 24, 48)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{"198.51.100.10": "198.51.100.0", "2001:db8:1:2::5": "2001:db8:1::"} {
		if got := a.Addr(netip.MustParseAddr(in)); got.String() != want {
			t.Errorf("%s -> %s, want %s", in, got, want)
		}
	}
	k, _ := New(refKey, 24, 48)
	if got := k.Addr(netip.MustParseAddr("128.11.68.132")); got.String() != "135.242.180.0" {
		t.Errorf("key and /24: %s, want 135.242.180.0", got)
	}
	if got := k.Prefix(netip.MustParsePrefix("128.11.68.0/24")); got.String() != "135.242.180.0/24" {
		t.Errorf("prefix: %s, want 135.242.180.0/24", got)
	}
	for _, s := range []string{"24/48", "16", "0/0", "32/128"} {
		if _, _, err := ParsePrefix(s); err != nil {
			t.Errorf("ParsePrefix(%q): %v", s, err)
		}
	}
	for _, s := range []string{"33/48", "24/129", "x", "-1"} {
		if _, _, err := ParsePrefix(s); err == nil {
			t.Errorf("ParsePrefix(%q) accepted", s)
		}
	}
}

func BenchmarkAddr(b *testing.B) {
	a, _ := New(refKey, 32, 128)
	for _, c := range []struct {
		name string
		n    int
	}{{"cached", 16}, {"new-v4", 1 << 20}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				j := i % c.n
				a.Addr(netip.AddrFrom4([4]byte{10, byte(j >> 16), byte(j >> 8), byte(j)}))
			}
		})
	}
}
