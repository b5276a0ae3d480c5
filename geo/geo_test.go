package geo_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/visor-dns/visor/geo"
	"github.com/visor-dns/visor/geo/geotest"
	"github.com/visor-dns/visor/sketch"
)

func open(t testing.TB) (*geo.DB, *geo.DB) {
	t.Helper()
	cityPath, asnPath := geotest.Write(t)
	city, err := geo.Open(cityPath, geo.City)
	if err != nil {
		t.Fatal(err)
	}
	asn, err := geo.Open(asnPath, geo.ASN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { city.Close(); asn.Close() })
	return city, asn
}

var cases = []struct {
	addr, loc, asn string
}{
	{"198.51.100.1", "EU/NL/NH/Amsterdam", "64500/Example Org"},
	{"198.51.100.127", "EU/NL/NH/Amsterdam", "64500/Example Org"},
	{"198.51.100.130", "NA/US/CA/Los Angeles", "64501/Other Net"},
	{"198.51.100.200", geo.Unknown, "64501/Other Net"},
	{"::ffff:198.51.100.2", "EU/NL/NH/Amsterdam", "64500/Example Org"},
	{"2001:db8:100::104", "EU/Germany/BE/Berlin", "64502/Example v6"}, // the English name wins over the ISO code
	{"2001:db8:200::1", "OC/AU", geo.Unknown},                         // missing parts are left out
	{"2001:db8:300::1", geo.Unknown, geo.Unknown},
	{"192.0.2.1", geo.Unknown, geo.Unknown},
}

func TestNames(t *testing.T) {
	city, asn := open(t)
	l := geo.NewLookup(city, asn)
	for _, c := range cases {
		t.Run(c.addr, func(t *testing.T) {
			a := netip.MustParseAddr(c.addr)
			if got := city.Name(a); got != c.loc {
				t.Errorf("city.Name = %q, want %q", got, c.loc)
			}
			if got := asn.Name(a); got != c.asn {
				t.Errorf("asn.Name = %q, want %q", got, c.asn)
			}
			for i := 0; i < 2; i++ { // a miss, then a hit
				if loc, asn := names(l.Names(a)); loc != c.loc || asn != c.asn {
					t.Errorf("Names #%d = %q %q, want %q %q", i, loc, asn, c.loc, c.asn)
				}
			}
		})
	}
}

// names are n's texts, "-" for a nil Name, after checking their bytes and hashes.
func names(n geo.Names) (loc, asn string) {
	text := func(n *geo.Name) string {
		if n == nil {
			return "-"
		}
		if string(n.B) != n.S || n.Hash != sketch.Hash([]byte(n.S)) {
			return "bad Name " + n.S
		}
		return n.S
	}
	return text(n.Loc), text(n.ASN)
}

func TestLookupOneDatabase(t *testing.T) {
	city, asn := open(t)
	if geo.NewLookup(nil, nil) != nil {
		t.Fatal("NewLookup(nil, nil) is not nil")
	}
	var none *geo.Lookup
	if none.HasCity() || none.HasASN() {
		t.Fatal("a nil Lookup has a database")
	}
	a := netip.MustParseAddr("198.51.100.1")
	if loc, asn := names(geo.NewLookup(city, nil).Names(a)); loc != "EU/NL/NH/Amsterdam" || asn != "-" {
		t.Errorf("city only: %q %q", loc, asn)
	}
	if loc, asn := names(geo.NewLookup(nil, asn).Names(a)); loc != "-" || asn != "64500/Example Org" {
		t.Errorf("asn only: %q %q", loc, asn)
	}
}

// A cache that keeps starting over still gives the same names.
func TestLookupBound(t *testing.T) {
	city, asn := open(t)
	l := geo.NewLookup(city, asn)
	l.MaxAddrs = 2
	for round := 0; round < 3; round++ {
		for _, c := range cases {
			if loc, asn := names(l.Names(netip.MustParseAddr(c.addr))); loc != c.loc || asn != c.asn {
				t.Fatalf("round %d %s: %q %q", round, c.addr, loc, asn)
			}
		}
	}
}

func TestLookupHitAllocatesNothing(t *testing.T) {
	city, asn := open(t)
	l := geo.NewLookup(city, asn)
	a, b := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("2001:db8:100::104")
	l.Names(a)
	l.Names(b)
	if n := testing.AllocsPerRun(1000, func() { l.Names(a); l.Names(b) }); n != 0 {
		t.Fatalf("%v allocations per cached lookup", n)
	}
}

func TestOpenErrors(t *testing.T) {
	cityPath, asnPath := geotest.Write(t)
	dir := t.TempDir()
	notDB := filepath.Join(dir, "not.mmdb")
	if err := os.WriteFile(notDB, []byte("this is not a MaxMind database"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.mmdb")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, path string
		kind       geo.Kind
		want       string
	}{
		{"missing", filepath.Join(dir, "nope.mmdb"), geo.City, "no such file"},
		{"not a database", notDB, geo.City, "not.mmdb"},
		{"empty", empty, geo.ASN, "empty"},
		{"directory", dir, geo.City, dir},
		{"asn as city", asnPath, geo.City, `"GeoLite2-ASN" database`},
		{"city as asn", cityPath, geo.ASN, `"GeoLite2-City" database`},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, err := geo.Open(c.path, c.kind)
			if err == nil {
				db.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not name %s and %q", err, c.path, c.want)
			}
		})
	}
}

func BenchmarkLookupHit(b *testing.B) {
	city, asn := open(b)
	l := geo.NewLookup(city, asn)
	addrs := []netip.Addr{netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.130"), netip.MustParseAddr("2001:db8:100::104")}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.Names(addrs[i%len(addrs)])
	}
}

func BenchmarkLookupMiss(b *testing.B) {
	city, asn := open(b)
	l := geo.NewLookup(city, asn)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.Names(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
		if i%256 == 255 {
			l = geo.NewLookup(city, asn)
		}
	}
}
