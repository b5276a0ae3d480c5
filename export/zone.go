package export

import (
	"strings"

	"golang.org/x/net/publicsuffix"
)

// maxZones bounds the zone cache; when full it is emptied.
const maxZones = 4096

// zones maps names to their registrable zone (the public suffix plus one
// label), asking the public suffix list once per last-two-labels suffix:
// a random label under a zone hits the cache. (analyzers/findings keeps a
// deeper cache of its own for its counts.)
type zones struct {
	m map[string]string // last two labels -> zone, or "" when the zone has more labels
}

func (z *zones) zone(name string) string {
	if name == "" {
		return "."
	}
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return name
	}
	if j := strings.LastIndexByte(name[:i], '.'); j >= 0 {
		i = j + 1
	} else {
		i = 0
	}
	suf := name[i:]
	zn, ok := z.m[suf]
	if !ok {
		zn = registrable(suf)
		if zn != suf {
			zn = "" // the two labels are a public suffix: more are needed
		}
		if z.m == nil || len(z.m) >= maxZones {
			z.m = make(map[string]string, 256)
		}
		z.m[strings.Clone(suf)] = zn
	}
	if zn != "" {
		return zn
	}
	return registrable(name)
}

// registrable is name's public suffix plus one label, or name when name is
// all public suffix.
func registrable(name string) string {
	z, err := publicsuffix.EffectiveTLDPlusOne(name)
	if err != nil {
		return name
	}
	return z
}
