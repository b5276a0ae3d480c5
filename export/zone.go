package export

import (
	"bytes"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// maxZones bounds the zone cache; when full it is emptied.
const maxZones = 4096

// zones finds names' registrable zone (the public suffix plus one label),
// asking the public suffix list once per last-two-labels suffix: a random
// label under a zone hits the cache. (analyzers/findings keeps a deeper
// cache of its own for its counts.)
type zones struct {
	m map[string]int // last two labels -> their zone's length, or 0 when the zone has more labels
}

// zoneLen is the length of name's zone, a suffix of name ("" for the root).
func (z *zones) zoneLen(name []byte) int {
	i := bytes.LastIndexByte(name, '.')
	if i < 0 {
		return len(name)
	}
	if j := bytes.LastIndexByte(name[:i], '.'); j >= 0 {
		i = j + 1
	} else {
		i = 0
	}
	suf := name[i:]
	n, ok := z.m[string(suf)]
	if !ok {
		s := string(suf)
		if n = len(registrable(s)); n != len(s) {
			n = 0 // the two labels are a public suffix: more are needed
		}
		if z.m == nil || len(z.m) >= maxZones {
			z.m = make(map[string]int, 256)
		}
		z.m[s] = n
	}
	if n != 0 {
		return n
	}
	return len(registrable(string(name)))
}

// registrable is name's public suffix plus one label (a suffix of name),
// or name when name is all public suffix.
func registrable(name string) string {
	z, err := publicsuffix.EffectiveTLDPlusOne(name)
	if err != nil || !strings.HasSuffix(name, z) {
		return name
	}
	return z
}
