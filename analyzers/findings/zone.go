package findings

import (
	"strings"

	"golang.org/x/net/publicsuffix"
)

// maxZoneCache bounds the suffix -> zone cache of one shard; when it is
// full it is emptied (the next lookups refill it).
const maxZoneCache = 4096

// zoneCache maps the last labels of names to their registrable zone, so the
// public suffix list is consulted once per suffix, not once per message.
//
// A name's zone is looked up by its last two labels; only when those two
// labels are themselves a public suffix (co.uk) is the next label added.
// So a random label directly under a zone (rand.victim.example) hits the
// cache. Rules of the private part of the list deeper than the labels
// looked at are not seen: bucket.s3.amazonaws.com counts under
// amazonaws.com.
type zoneCache struct {
	m     map[string]zoneEntry
	exact map[string]string // names that are all public suffix, their own zone
}

type zoneEntry struct {
	zone string // the registrable zone; "" when more labels are needed
}

// suffixStart returns the offset in name where its last n labels begin, and
// whether name has at least n labels.
func suffixStart(name []byte, n int) (int, bool) {
	i := len(name)
	for ; n > 0; n-- {
		j := i - 1
		for j >= 0 && name[j] != '.' {
			j--
		}
		if j < 0 {
			return 0, n == 1
		}
		i = j
	}
	return i + 1, true
}

// zone returns the registrable zone of name (lowercase presentation form,
// no trailing dot): the public suffix plus one label. A name that is itself
// a public suffix (or the root) is its own zone. The result is owned by the
// cache; zone allocates only on a cache miss.
func (c *zoneCache) zone(name []byte) string {
	if len(name) == 0 || len(name) == 1 && name[0] == '.' {
		return "."
	}
	for n := 2; n <= 6; n++ {
		off, ok := suffixStart(name, n)
		suf := name[off:]
		e, hit := c.m[string(suf)]
		if !hit {
			e = c.compute(string(suf), n)
		}
		if e.zone != "" {
			return e.zone
		}
		if !ok {
			return c.whole(suf)
		}
	}
	off, _ := suffixStart(name, 6)
	return c.whole(name[off:])
}

// registrable says whether a name of two labels is a registrable zone
// (not a public suffix), as zone found it.
func (c *zoneCache) registrable(name []byte) bool {
	e, ok := c.m[string(name)]
	return ok && e.zone == string(name)
}

// whole caches s as its own zone (a name that is all public suffix).
func (c *zoneCache) whole(s []byte) string {
	if z, ok := c.exact[string(s)]; ok {
		return z
	}
	if c.exact == nil || len(c.exact) >= maxZoneCache {
		c.exact = make(map[string]string, 64)
	}
	z := string(s)
	c.exact[z] = z
	return z
}

// compute works out the entry for suffix s of n labels and caches it.
func (c *zoneCache) compute(s string, n int) zoneEntry {
	ps, _ := publicsuffix.PublicSuffix(s)
	var e zoneEntry
	if ps != s {
		// The zone is the public suffix plus one label; it ends s.
		k := min(strings.Count(ps, ".")+2, n)
		off, _ := suffixStart([]byte(s), k)
		e.zone = s[off:]
	}
	c.put(s, e)
	return e
}

func (c *zoneCache) put(k string, e zoneEntry) {
	if c.m == nil || len(c.m) >= maxZoneCache {
		c.m = make(map[string]zoneEntry, 256)
	}
	c.m[k] = e
}
