package encdns

import "strings"

// DefaultDoH lists the DNS-over-HTTPS services whose TLS server name
// (SNI) marks a connection to port 443 as DoH: the public resolvers that
// browsers and operating systems offer. A name matches an entry equal to it
// or to one of its parent names (xyz.dns.nextdns.io matches dns.nextdns.io).
// --doh-sni replaces or extends it (docs/encrypted-dns.md).
var DefaultDoH = []string{
	"dns.google", "dns.google.com", "dns64.dns.google",
	"cloudflare-dns.com", "one.one.one.one", "1dot1dot1dot1.cloudflare-dns.com",
	"dns.quad9.net", "dns9.quad9.net", "dns10.quad9.net", "dns11.quad9.net", "dns12.quad9.net",
	"doh.opendns.com", "doh.familyshield.opendns.com", "doh.umbrella.com",
	"dns.adguard-dns.com", "dns.adguard.com", "unfiltered.adguard-dns.com", "family.adguard-dns.com",
	"dns.nextdns.io", "doh.cleanbrowsing.org", "doh.mullvad.net", "dns.mullvad.net",
	"doh.dns.sb", "dns.alidns.com", "doh.pub", "doh.360.cn", "dns.twnic.tw",
	"freedns.controld.com", "dns.controld.com", "doh.libredns.gr", "doh.xfinity.com",
	"dns.digitale-gesellschaft.ch", "dns.switch.ch", "dns0.eu", "zero.dns0.eu",
	"ordns.he.net", "doh.applied-privacy.net", "dns.njal.la", "doh.ffmuc.net",
	"resolver2.dns.watch", "dns.cira.ca", "private.canadianshield.cira.ca",
}

// Names is a set of server names.
type Names struct {
	m map[string]struct{}
}

// NewNames makes the set of list's names, lowercased, without leading or
// trailing dots; the entry "default" stands for DefaultDoH and "none" for
// nothing.
func NewNames(list []string) *Names {
	n := &Names{m: map[string]struct{}{}}
	for _, s := range list {
		s = strings.Trim(strings.ToLower(strings.TrimSpace(s)), ".")
		switch s {
		case "", "none":
		case "default":
			for _, d := range DefaultDoH {
				n.m[d] = struct{}{}
			}
		default:
			n.m[s] = struct{}{}
		}
	}
	return n
}

// Len is the number of names in the set.
func (n *Names) Len() int { return len(n.m) }

// match reports whether name (lowercase) or one of its parents is in the set.
func (n *Names) match(name []byte) bool {
	if len(n.m) == 0 {
		return false
	}
	for {
		if _, ok := n.m[string(name)]; ok {
			return true
		}
		i := 0
		for i < len(name) && name[i] != '.' {
			i++
		}
		if i >= len(name)-1 {
			return false
		}
		name = name[i+1:]
	}
}
