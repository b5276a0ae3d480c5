// Package anonymize maps IP addresses to pseudonyms before anything is
// counted, so that reports, metrics, records and carved captures can be
// shared outside the team that took them.
//
// The mapping is Crypto-PAn (J. Fan, J. Xu, M. H. Ammar, S. B. Moon,
// "Prefix-preserving IP address anonymization: measurement-based security
// evaluation and a new cryptography-based scheme", Computer Networks 46(2),
// 2004): keyed with 32 bytes, one-to-one, and prefix-preserving (two
// addresses that share their first k bits have pseudonyms that share their
// first k bits, and no more), so subnets, top lists by prefix and merged
// summaries still make sense. The same key gives the same pseudonyms on
// every run and machine. Bit i of the pseudonym is bit i of the address
// XOR the first bit of AES-128 (key's first half) of the address's first i
// bits followed by the remaining bits of a pad (AES of the key's second
// half). IPv4 uses 32 rounds as the reference implementation does; IPv6 the
// same construction over 128 bits.
//
// With a prefix length (--anonymize-prefix 24/48) an address keeps only
// its first bits (the rest zero), after Crypto-PAn when there is a key.
package anonymize

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// KeySize is the bytes of a key: 16 for AES, 16 for the pad.
const KeySize = 32

// Anonymizer maps addresses. It is not safe for concurrent use (its
// caches are not locked): give each goroutine its own Clone.
type Anonymizer struct {
	block  cipher.Block // nil: prefix only
	pad    [16]byte
	keep4  int // bits of an IPv4 address kept (32: all)
	keep6  int // and of an IPv6 address
	cache  *[cacheSize]cached
	memo4  *[memoSize]memo4 // IPv4 /24 prefixes' first 24 pad bits
	in, bl [16]byte
}

type cached struct {
	in, out netip.Addr
}

type memo4 struct {
	prefix uint32 // the /24 prefix plus 1 (0: empty)
	bits   uint32 // its first 24 one-time-pad bits
}

const (
	cacheBits = 14
	cacheSize = 1 << cacheBits // direct-mapped pseudonyms of recent addresses
	memoBits  = 12
	memoSize  = 1 << memoBits
)

// New returns an anonymizer with key (KeySize bytes; nil for prefix
// truncation alone) keeping keep4 and keep6 bits of IPv4 and IPv6
// addresses (32 and 128 keep them whole).
func New(key []byte, keep4, keep6 int) (*Anonymizer, error) {
	if keep4 < 0 || keep4 > 32 || keep6 < 0 || keep6 > 128 {
		return nil, fmt.Errorf("prefix lengths %d/%d out of range (0-32/0-128)", keep4, keep6)
	}
	a := &Anonymizer{keep4: keep4, keep6: keep6}
	if key != nil {
		if len(key) != KeySize {
			return nil, fmt.Errorf("a key is %d bytes, not %d", KeySize, len(key))
		}
		b, err := aes.NewCipher(key[:16])
		if err != nil {
			return nil, err
		}
		a.block = b
		b.Encrypt(a.pad[:], key[16:])
		a.cache, a.memo4 = new([cacheSize]cached), new([memoSize]memo4)
	}
	return a, nil
}

// Clone returns an anonymizer with the same key and prefixes and caches
// of its own.
func (a *Anonymizer) Clone() *Anonymizer {
	c := *a
	if a.block != nil {
		c.cache, c.memo4 = new([cacheSize]cached), new([memoSize]memo4)
	}
	return &c
}

// ReadKey reads a key file: 32 raw bytes, or 64 hexadecimal digits (with
// or without a final newline), as `head -c 32 /dev/urandom` or
// `openssl rand -hex 32` make them.
func ReadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) == KeySize {
		return b, nil
	}
	t := bytes.TrimSpace(b)
	if len(t) == 2*KeySize {
		k := make([]byte, KeySize)
		if _, err := hex.Decode(k, t); err == nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%s: a key file holds %d bytes or %d hexadecimal digits, not %d bytes", path, KeySize, 2*KeySize, len(b))
}

// ParsePrefix reads "24/48" (IPv4 bits / IPv6 bits; "24" alone keeps 48
// of IPv6).
func ParsePrefix(s string) (keep4, keep6 int, err error) {
	v4, v6, ok := strings.Cut(s, "/")
	if keep4, err = strconv.Atoi(v4); err != nil || keep4 < 0 || keep4 > 32 {
		return 0, 0, fmt.Errorf("prefix %q: the IPv4 length is 0 to 32", s)
	}
	keep6 = 48
	if ok {
		if keep6, err = strconv.Atoi(v6); err != nil || keep6 < 0 || keep6 > 128 {
			return 0, 0, fmt.Errorf("prefix %q: the IPv6 length is 0 to 128", s)
		}
	}
	return keep4, keep6, nil
}

// Addr returns a's pseudonym. An invalid address stays invalid; an IPv6
// zone is dropped.
func (a *Anonymizer) Addr(x netip.Addr) netip.Addr {
	if !x.IsValid() {
		return x
	}
	if a.block == nil {
		return a.truncate(x)
	}
	c := &a.cache[addrHash(x)>>(64-cacheBits)]
	if c.in == x && c.in.IsValid() {
		return c.out
	}
	var out netip.Addr
	if x.Is4() {
		b := x.As4()
		v := a.pan4(binary.BigEndian.Uint32(b[:]))
		binary.BigEndian.PutUint32(b[:], v)
		out = netip.AddrFrom4(b)
	} else {
		b := x.WithZone("").As16()
		hi, lo := a.pan6(binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]))
		binary.BigEndian.PutUint64(b[:8], hi)
		binary.BigEndian.PutUint64(b[8:], lo)
		out = netip.AddrFrom16(b)
	}
	out = a.truncate(out)
	*c = cached{x, out}
	return out
}

// Prefix returns p's pseudonym: its address's, with as many bits (fewer
// when the anonymizer keeps fewer).
func (a *Anonymizer) Prefix(p netip.Prefix) netip.Prefix {
	if !p.IsValid() {
		return p
	}
	bits := p.Bits()
	keep := a.keep6
	if p.Addr().Is4() {
		keep = a.keep4
	}
	q, _ := a.Addr(p.Masked().Addr()).Prefix(min(bits, keep))
	return q
}

func (a *Anonymizer) truncate(x netip.Addr) netip.Addr {
	keep := a.keep6
	if x.Is4() {
		keep = a.keep4
	}
	if keep >= x.BitLen() {
		return x
	}
	p, _ := x.Prefix(keep)
	return p.Addr()
}

func addrHash(x netip.Addr) uint64 {
	b := x.As16()
	h := (binary.LittleEndian.Uint64(b[:8])*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(b[8:])) * 0xff51afd7ed558ccd
	return h ^ h<<31 // the top bits index the cache: mix the low ones up
}

// otpBit is the one-time-pad bit for position pos of a width-bit address
// whose first pos bits are those of the block a.in was filled with.
func (a *Anonymizer) otpBit() uint64 {
	a.block.Encrypt(a.bl[:], a.in[:])
	return uint64(a.bl[0] >> 7)
}

// pan4 is Crypto-PAn of an IPv4 address, as the reference implementation
// computes it: the pad's first 32 bits carry the address's prefix.
func (a *Anonymizer) pan4(x uint32) uint32 {
	p := binary.BigEndian.Uint32(a.pad[:4])
	a.in = a.pad
	var otp uint32
	start := 0
	m := &a.memo4[(x>>8)*0x9e3779b1>>(32-memoBits)]
	if m.prefix == x>>8+1 {
		otp, start = m.bits, 24
	}
	for pos := start; pos < 32; pos++ {
		v := p
		if pos > 0 {
			v = x>>(32-pos)<<(32-pos) | p<<pos>>pos
		}
		binary.BigEndian.PutUint32(a.in[:4], v)
		otp |= uint32(a.otpBit()) << (31 - pos)
		if pos == 23 {
			*m = memo4{prefix: x>>8 + 1, bits: otp}
		}
	}
	return x ^ otp
}

// pan6 is the same construction over 128 bits.
func (a *Anonymizer) pan6(hi, lo uint64) (uint64, uint64) {
	phi, plo := binary.BigEndian.Uint64(a.pad[:8]), binary.BigEndian.Uint64(a.pad[8:])
	var ohi, olo uint64
	for pos := 0; pos < 128; pos++ {
		vhi, vlo := phi, plo
		switch {
		case pos == 0:
		case pos < 64:
			vhi = hi>>(64-pos)<<(64-pos) | phi<<pos>>pos
		case pos == 64:
			vhi = hi
		default:
			vhi, vlo = hi, lo>>(128-pos)<<(128-pos)|plo<<(pos-64)>>(pos-64)
		}
		binary.BigEndian.PutUint64(a.in[:8], vhi)
		binary.BigEndian.PutUint64(a.in[8:], vlo)
		b := a.otpBit()
		if pos < 64 {
			ohi |= b << (63 - pos)
		} else {
			olo |= b << (127 - pos)
		}
	}
	return hi ^ ohi, lo ^ olo
}
