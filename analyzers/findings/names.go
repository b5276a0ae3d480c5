package findings

import (
	"bytes"
	"math"
)

// Zone cuts. A name's zone cut is the suffix below which it carries data:
// its registrable zone (public suffix + 1), plus the labels between that
// zone and the name's first label unless they look like data themselves.
// So rnd.victim.example is cut at victim.example, rnd.www.victim.example at
// www.victim.example, <63 chars>.<27 chars>.t.example.test at
// t.example.test (so is <data>.<data>.1f.t.example.test: a short hex label
// after long data is a counter), and x7f3k2q9.p0d8s1.victim.example at
// victim.example.
// Detectors judge names under their cut, so a tunnel under t.example.test
// is not averaged with the ordinary names of example.test.

// cutOffset returns where the cut begins in a name whose part before its
// registrable zone (without the dot) is sub: after sub's first label and
// the data-like labels that follow it; len(sub)+1 when every label goes
// (the cut is the zone).
func cutOffset(sub []byte) int {
	i := bytes.IndexByte(sub, '.')
	if i < 0 {
		return len(sub) + 1
	}
	off := i + 1
	long := i >= 16
	for {
		j := bytes.IndexByte(sub[off:], '.')
		lab := sub[off:]
		if j >= 0 {
			lab = sub[off : off+j]
		}
		if !dataLabel(lab) && !(long && counterLabel(lab)) {
			return off
		}
		long = long || len(lab) >= 16
		if j < 0 {
			return len(sub) + 1
		}
		off += j + 1
	}
}

// counterLabel says whether a label that follows long data labels looks
// like a counter or a sequence number: at most 4 hex digits.
func counterLabel(l []byte) bool {
	if len(l) == 0 || len(l) > 4 {
		return false
	}
	for _, c := range l {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// dataLabel says whether a label below a name's first one looks like data
// rather than a host or service name: long (16 bytes or more), digits only
// (a counter, an address), digits mixed with letters in a label of 6 or
// more, or bytes beyond [a-z0-9_-].
func dataLabel(l []byte) bool {
	if len(l) >= 16 {
		return true
	}
	var digits, letters int
	for _, c := range l {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'z':
			letters++
		case c == '-' || c == '_':
		default:
			return true
		}
	}
	return letters == 0 && digits > 0 || len(l) >= 6 && digits > 0 && letters > 0
}

// randomLooking says whether a label looks machine-made: at 24 bytes or
// more, 3.5 bits of entropy a byte or more (encoded data); shorter, at
// least 6 bytes with digits and letters alternating at least twice, or
// 6 letters or more with fewer than 22 % vowels or 5 consonants in a row.
// Words, host names (www, mail, ns1, cdn77, download) are not.
func randomLooking(l []byte) bool {
	n := len(l)
	if n < 6 {
		return false
	}
	if n >= 24 {
		return entropy(l) >= 3.5
	}
	var digits, letters, vowels, other, trans, run, maxRun int
	prev := -1 // class of the previous byte: 0 letter, 1 digit
	for _, c := range l {
		cl := -1
		switch {
		case c >= '0' && c <= '9':
			digits++
			run = 0
			cl = 1
		case c >= 'a' && c <= 'z':
			letters++
			switch c {
			case 'a', 'e', 'i', 'o', 'u', 'y':
				vowels++
				run = 0
			default:
				run++
				maxRun = max(maxRun, run)
			}
			cl = 0
		default:
			other++
			run = 0
		}
		if cl >= 0 {
			if prev >= 0 && cl != prev {
				trans++
			}
			prev = cl
		}
	}
	if digits >= 2 && letters >= 2 && trans >= 2 {
		return true
	}
	return letters >= 6 && (vowels*100 < letters*22 || maxRun >= 5)
}

// entropy is the Shannon entropy of b's bytes, in bits a byte.
func entropy(b []byte) float64 {
	var cnt [256]int
	for _, c := range b {
		cnt[c]++
	}
	h := 0.0
	for _, k := range cnt {
		if k > 0 {
			p := float64(k) / float64(len(b))
			h -= p * math.Log2(p)
		}
	}
	return h
}

// addrShaped says whether a name's part under its cut is an address
// written backwards, as blocklist (DNSBL) lookups ask them: four decimal
// labels of at most 255 (IPv4) or eight or more single hex digits (IPv6
// nibbles).
func addrShaped(sub []byte) bool {
	labels, nibbles, octets := 0, 0, 0
	for len(sub) > 0 {
		l := sub
		if i := bytes.IndexByte(sub, '.'); i >= 0 {
			l, sub = sub[:i], sub[i+1:]
		} else {
			sub = nil
		}
		labels++
		switch {
		case len(l) == 1 && (l[0] >= '0' && l[0] <= '9' || l[0] >= 'a' && l[0] <= 'f'):
			nibbles++
			if l[0] <= '9' {
				octets++
			}
		case len(l) >= 2 && len(l) <= 3 && octet(l):
			octets++
		default:
			return false
		}
	}
	return labels == 4 && octets == 4 || labels >= 8 && nibbles == labels
}

// octet says whether l is a decimal number of at most 255 without a
// leading zero.
func octet(l []byte) bool {
	n := 0
	for _, c := range l {
		if c < '0' || c > '9' {
			return false
		}
		n = 10*n + int(c-'0')
	}
	return l[0] != '0' && n <= 255
}

// sampleK is the size of a zone cut's sample of distinct names.
const sampleK = 32

// nameSample is a uniform sample of the distinct names under a zone cut:
// the sampleK smallest name hashes (a bottom-k sketch), with what the
// detectors need of each name. It merges exactly, whatever the order, so
// the population of a zone's names (how many look random) is judged on
// distinct names, not on queries: a list of names replayed by many bots
// and a name asked a million times weigh what one name weighs.
type nameSample struct {
	n int
	e [sampleK]sampled // by hash, ascending
}

type sampled struct {
	h      uint64
	first  int64 // capture time (ns) the name was first seen
	random bool  // its first label looks machine-made
	failed bool  // an answer for it was NXDOMAIN or SERVFAIL
}

// insert adds the name of hash h, seen at ts, whose part under its cut is
// sub. Once the sample is full, most names cost one comparison.
func (s *nameSample) insert(h uint64, ts int64, sub []byte) {
	if s.wants(h) {
		s.insertShaped(h, ts, randomFirst(sub))
	}
}

// wants says whether the name of hash h would be in the sample.
func (s *nameSample) wants(h uint64) bool {
	return s.n < sampleK || h < s.e[sampleK-1].h
}

// insertShaped is insert for a name whose first label randomLooking
// judged already (random).
func (s *nameSample) insertShaped(h uint64, ts int64, random bool) {
	if !s.wants(h) {
		return
	}
	i, found := s.find(h)
	if found {
		s.e[i].first = min(s.e[i].first, ts)
		return
	}
	if s.n < sampleK {
		s.n++
	}
	copy(s.e[i+1:s.n], s.e[i:s.n-1])
	s.e[i] = sampled{h: h, first: ts, random: random}
}

// randomFirst says whether the first label of sub looks machine-made.
func randomFirst(sub []byte) bool {
	if j := bytes.IndexByte(sub, '.'); j >= 0 {
		sub = sub[:j]
	}
	return randomLooking(sub)
}

// find returns where h is or would go in the sample, and whether it is
// there.
func (s *nameSample) find(h uint64) (int, bool) {
	lo, hi := 0, s.n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.e[m].h < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < s.n && s.e[lo].h == h
}

// fail marks the name of hash h, if sampled, as failed.
func (s *nameSample) fail(h uint64) {
	if s.n == 0 || h > s.e[s.n-1].h {
		return
	}
	if i, found := s.find(h); found {
		s.e[i].failed = true
	}
}

// failShare is the share of the sampled names that failed.
func (s *nameSample) failShare() float64 {
	k := 0
	for _, e := range s.e[:s.n] {
		if e.failed {
			k++
		}
	}
	return share(uint64(k), uint64(s.n))
}

// merge adds o's names into s.
func (s *nameSample) merge(o *nameSample) {
	if o.n == 0 {
		return
	}
	var out [sampleK]sampled
	n, i, j := 0, 0, 0
	for n < sampleK && (i < s.n || j < o.n) {
		switch {
		case j >= o.n || i < s.n && s.e[i].h < o.e[j].h:
			out[n] = s.e[i]
			i++
		case i >= s.n || o.e[j].h < s.e[i].h:
			out[n] = o.e[j]
			j++
		default:
			out[n] = s.e[i]
			out[n].first = min(s.e[i].first, o.e[j].first)
			out[n].failed = s.e[i].failed || o.e[j].failed
			i++
			j++
		}
		n++
	}
	s.e, s.n = out, n
}

// active says whether the sample shows machine-made names: at least two,
// and at least half of it (a window that counts for a low-and-slow
// attack).
func (s *nameSample) active() bool {
	k, _, _ := s.randoms()
	return k >= 2 && 2*k >= s.n
}

// randoms returns how many sampled names look random, and the first time
// one of them was seen (MaxInt64: none) and the last first-seen time.
func (s *nameSample) randoms() (k int, first, last int64) {
	first, last = math.MaxInt64, math.MinInt64
	for _, e := range s.e[:s.n] {
		if e.random {
			k++
			first = min(first, e.first)
			last = max(last, e.first)
		}
	}
	return k, first, last
}
