// Package geotest writes small MaxMind databases for tests, with
// github.com/maxmind/mmdbwriter, so that geo lookups can be checked
// against networks whose answers the test knows.
package geotest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Location is one City record; an empty field is left out of it.
type Location struct {
	Continent   string // continent.code
	Country     string // country.iso_code
	CountryName string // country.names.en
	Subdivision string // subdivisions[0].iso_code
	City        string // city.names.en
}

// AS is one ASN record.
type AS struct {
	Number uint32
	Org    string
}

// The networks of Write's databases and the names visor gives their addresses.
var (
	CityNets = map[string]Location{
		"198.51.100.0/25":   {Continent: "EU", Country: "NL", Subdivision: "NH", City: "Amsterdam"},
		"198.51.100.128/26": {Continent: "NA", Country: "US", Subdivision: "CA", City: "Los Angeles"},
		"2001:db8:100::/48": {Continent: "EU", Country: "DE", CountryName: "Germany", Subdivision: "BE", City: "Berlin"},
		"2001:db8:200::/48": {Continent: "OC", Country: "AU"},
	}
	ASNNets = map[string]AS{
		"198.51.100.0/25":   {64500, "Example Org"},
		"198.51.100.128/25": {64501, "Other Net"},
		"2001:db8:100::/48": {64502, "Example v6"},
	}
)

// Write writes CityNets and ASNNets as GeoLite2-City and GeoLite2-ASN
// databases into a temporary directory and returns their paths. Addresses
// in 198.51.100.192/26 have no location, 2001:db8:200::/48 no AS, and the
// rest of 2001:db8::/32 neither.
func Write(tb testing.TB) (city, asn string) {
	tb.Helper()
	dir := tb.TempDir()
	city, asn = filepath.Join(dir, "city.mmdb"), filepath.Join(dir, "asn.mmdb")
	WriteCity(tb, city, CityNets)
	WriteASN(tb, asn, ASNNets)
	return city, asn
}

// WriteCity writes a GeoLite2-City database of nets (CIDR → record) to path.
func WriteCity(tb testing.TB, path string, nets map[string]Location) {
	tb.Helper()
	recs := map[string]mmdbtype.DataType{}
	for cidr, l := range nets {
		m := mmdbtype.Map{}
		if l.Continent != "" {
			m["continent"] = mmdbtype.Map{"code": mmdbtype.String(l.Continent)}
		}
		if l.Country != "" || l.CountryName != "" {
			c := mmdbtype.Map{}
			if l.Country != "" {
				c["iso_code"] = mmdbtype.String(l.Country)
			}
			if l.CountryName != "" {
				c["names"] = mmdbtype.Map{"en": mmdbtype.String(l.CountryName)}
			}
			m["country"] = c
		}
		if l.Subdivision != "" {
			m["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String(l.Subdivision)}}
		}
		if l.City != "" {
			m["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(l.City)}}
		}
		recs[cidr] = m
	}
	write(tb, path, "GeoLite2-City", recs)
}

// WriteASN writes a GeoLite2-ASN database of nets (CIDR → record) to path.
func WriteASN(tb testing.TB, path string, nets map[string]AS) {
	tb.Helper()
	recs := map[string]mmdbtype.DataType{}
	for cidr, a := range nets {
		recs[cidr] = mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(a.Number),
			"autonomous_system_organization": mmdbtype.String(a.Org),
		}
	}
	write(tb, path, "GeoLite2-ASN", recs)
}

func write(tb testing.TB, path, dbType string, recs map[string]mmdbtype.DataType) {
	tb.Helper()
	// The documentation networks are reserved: include them on purpose.
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, IncludeReservedNetworks: true, RecordSize: 28})
	if err != nil {
		tb.Fatal(err)
	}
	for cidr, v := range recs {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			tb.Fatal(err)
		}
		if err := w.Insert(n, v); err != nil {
			tb.Fatalf("geotest: insert %s: %v", cidr, err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.WriteTo(f); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}
