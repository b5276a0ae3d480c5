package decode

import (
	"testing"

	"github.com/miekg/dns"
)

// ednsMsg packs a response with an OPT record carrying ext (extended
// rcode), version, DO, a cookie and the given EDE codes.
func ednsMsg(t testing.TB, rcode int, version uint8, do bool, cookie bool, ede ...uint16) []byte {
	m := new(dns.Msg)
	m.SetQuestion("example.com.", dns.TypeA)
	m.Response = true
	m.Rcode = rcode
	o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
	o.SetUDPSize(1232)
	o.SetVersion(version)
	o.SetDo(do)
	if cookie {
		o.Option = append(o.Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"})
	}
	for _, c := range ede {
		o.Option = append(o.Option, &dns.EDNS0_EDE{InfoCode: c, ExtraText: "x"})
	}
	m.Extra = append(m.Extra, o)
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseEDNSDepth(t *testing.T) {
	for _, c := range []struct {
		name    string
		rcode   int
		version uint8
		do      bool
		cookie  bool
		ede     []uint16
		full    uint16
	}{
		{"badvers", dns.RcodeBadVers, 1, false, false, nil, 16},
		{"badcookie", dns.RcodeBadCookie, 0, true, true, nil, 23},
		{"servfail with EDE", dns.RcodeServerFailure, 0, true, false, []uint16{6, 22}, 2},
		{"more EDEs than kept", dns.RcodeSuccess, 0, false, false, []uint16{1, 2, 3, 4, 5, 6}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var v DNS
			if !ParseDNS(ednsMsg(t, c.rcode, c.version, c.do, c.cookie, c.ede...), &v) || v.Malformed {
				t.Fatalf("did not parse: %+v", v)
			}
			if v.FullRcode() != c.full || v.EDNSVersion != c.version || v.DO != c.do || v.Cookie != c.cookie || v.UDPSize != 1232 {
				t.Fatalf("rcode %d version %d DO %v cookie %v size %d, want %d %d %v %v 1232",
					v.FullRcode(), v.EDNSVersion, v.DO, v.Cookie, v.UDPSize, c.full, c.version, c.do, c.cookie)
			}
			want := c.ede
			if len(want) > maxEDE {
				want = want[:maxEDE]
			}
			if int(v.EDEs) != len(want) {
				t.Fatalf("%d EDEs, want %d", v.EDEs, len(want))
			}
			for i, w := range want {
				if v.EDE[i] != w {
					t.Fatalf("EDE %d = %d, want %d", i, v.EDE[i], w)
				}
			}
		})
	}
}

// FuzzEDNS walks hostile OPT records: whatever the bytes, ParseDNS does
// not panic, keeps at most maxEDE codes, and where miekg/dns unpacks the
// same message with a single OPT record both read the same extended
// rcode, version, DO bit, cookie and EDE codes.
func FuzzEDNS(f *testing.F) {
	f.Add(ednsMsg(f, dns.RcodeBadVers, 1, false, false))
	f.Add(ednsMsg(f, dns.RcodeBadCookie, 0, true, true, 3))
	f.Add(ednsMsg(f, dns.RcodeServerFailure, 0, true, false, 6, 22, 9, 10, 11))
	f.Add(cat(hdr(13, 0x8000, 0, 0, 0, 1), []byte{0}, be16(41), be16(512), be32(0x01008000), be16(3), be16(15), be16(1), []byte{0}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var v DNS
		if !ParseDNS(b, &v) {
			return
		}
		if int(v.EDEs) > maxEDE {
			t.Fatalf("%d EDEs kept", v.EDEs)
		}
		if !v.EDNS && (v.ExtRcode != 0 || v.EDNSVersion != 0 || v.Cookie || v.EDEs != 0) {
			t.Fatalf("EDNS facts without an OPT record: %+v", v)
		}
		if v.Malformed {
			return
		}
		m := new(dns.Msg)
		if m.Unpack(b) != nil {
			return
		}
		var opts []*dns.OPT
		for _, rr := range m.Extra {
			if o, ok := rr.(*dns.OPT); ok && o.Hdr.Name == "." {
				opts = append(opts, o)
			}
		}
		if len(opts) != 1 {
			return
		}
		o := opts[0]
		if !v.EDNS || v.ExtRcode != uint8(o.Hdr.Ttl>>24) || v.EDNSVersion != o.Version() || v.DO != o.Do() || v.UDPSize != o.UDPSize() {
			t.Fatalf("view %+v, miekg OPT %v", v, o)
		}
		cookie := false
		var ede []uint16
		for _, e := range o.Option {
			switch e := e.(type) {
			case *dns.EDNS0_COOKIE:
				cookie = true
			case *dns.EDNS0_EDE:
				ede = append(ede, e.InfoCode)
			}
		}
		if cookie != v.Cookie {
			t.Fatalf("cookie %v, miekg %v", v.Cookie, cookie)
		}
		if len(ede) > maxEDE {
			ede = ede[:maxEDE]
		}
		if len(ede) != int(v.EDEs) {
			t.Fatalf("EDEs %v, miekg %v", v.EDE[:v.EDEs], ede)
		}
		for i := range ede {
			if ede[i] != v.EDE[i] {
				t.Fatalf("EDEs %v, miekg %v", v.EDE[:v.EDEs], ede)
			}
		}
	})
}
