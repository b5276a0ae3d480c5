// Package geo names where an address is, as pktvisor does: its location
// ("EU/Netherlands/NH/Amsterdam": continent code, country, first
// subdivision's ISO code, city) from a MaxMind City database, and its
// autonomous system ("64500/Example Org") from an ASN database. Both are
// .mmdb files (GeoLite2, GeoIP2 or any file of the same layout) read with
// github.com/oschwald/maxminddb-golang/v2.
//
// A DB is shared by every goroutine; a Lookup is one goroutine's cache in
// front of the databases, so that the packet path costs one map lookup and
// allocates nothing for an address it has seen.
package geo

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strconv"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Unknown names an address the database does not hold.
const Unknown = "Unknown"

// Kind says which database a DB is.
type Kind uint8

// The kinds of database visor reads.
const (
	City Kind = iota // continent, country, subdivisions, city
	ASN              // autonomous_system_number and _organization
)

func (k Kind) String() string {
	if k == ASN {
		return "ASN"
	}
	return "City"
}

// DB is an open database. It is safe for concurrent use.
type DB struct {
	kind Kind
	path string
	r    *maxminddb.Reader
}

// Open opens the .mmdb file at path as a database of kind k. A file that
// is missing, unreadable, not a MaxMind DB, or plainly of the other kind
// (an ASN database given as City, or the reverse) is an error naming path.
func Open(path string, k Kind) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the message already
		}
		return nil, fmt.Errorf("geo: %s database %s: %w", k, path, err)
	}
	t := strings.ToLower(r.Metadata.DatabaseType)
	if (k == City && strings.Contains(t, "asn")) || (k == ASN && (strings.Contains(t, "city") || strings.Contains(t, "country"))) {
		r.Close()
		return nil, fmt.Errorf("geo: %s database %s: it is a %q database", k, path, r.Metadata.DatabaseType)
	}
	return &DB{kind: k, path: path, r: r}, nil
}

// Kind is the kind d was opened as.
func (d *DB) Kind() Kind { return d.kind }

// Path is the file d was opened from.
func (d *DB) Path() string { return d.path }

// Type is the database_type of d's metadata (e.g. "GeoLite2-City").
func (d *DB) Type() string { return d.r.Metadata.DatabaseType }

// Close releases the file. Lookups after Close return Unknown.
func (d *DB) Close() error { return d.r.Close() }

// Name looks a up without a cache: its location or its AS, as d's kind
// says, or Unknown.
func (d *DB) Name(a netip.Addr) string {
	res := d.r.Lookup(a.Unmap().WithZone(""))
	if !res.Found() {
		return Unknown
	}
	return d.decode(res)
}

// decode renders the record res found.
func (d *DB) decode(res maxminddb.Result) string {
	var s string
	if d.kind == ASN {
		var rec asnRecord
		if res.Decode(&rec) != nil {
			return Unknown
		}
		s = rec.name()
	} else {
		var rec cityRecord
		if res.Decode(&rec) != nil {
			return Unknown
		}
		s = rec.name()
	}
	if s == "" {
		return Unknown
	}
	return s
}

type cityRecord struct {
	Continent struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"continent"`
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   struct {
			EN string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"country"`
	Subdivisions []struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"subdivisions"`
	City struct {
		Names struct {
			EN string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"city"`
}

// name joins what the record has, as pktvisor does: continent code, then
// "/" and the country's English name (its ISO code when it has no name), the
// first subdivision's ISO code and the city's English name. A missing part
// is left out with its "/" (so a record without a continent starts with "/").
func (r *cityRecord) name() string {
	var b strings.Builder
	part := func(s string) {
		if s != "" {
			b.WriteByte('/')
			b.WriteString(s)
		}
	}
	b.WriteString(r.Continent.Code)
	country := r.Country.Names.EN
	if country == "" {
		country = r.Country.ISOCode
	}
	part(country)
	if len(r.Subdivisions) > 0 {
		part(r.Subdivisions[0].ISOCode)
	}
	part(r.City.Names.EN)
	return b.String()
}

type asnRecord struct {
	Number uint64 `maxminddb:"autonomous_system_number"`
	Org    string `maxminddb:"autonomous_system_organization"`
}

// name is "number/organisation", as pktvisor writes it.
func (r *asnRecord) name() string {
	switch {
	case r.Number == 0 && r.Org == "":
		return ""
	case r.Org == "":
		return strconv.FormatUint(r.Number, 10)
	case r.Number == 0:
		return "/" + r.Org
	}
	return strconv.FormatUint(r.Number, 10) + "/" + r.Org
}
