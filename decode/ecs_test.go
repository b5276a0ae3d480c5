package decode

import (
	"net"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

// ecsMsg is a query with the given EDNS options.
func ecsMsg(t testing.TB, opts ...dns.EDNS0) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion("example.net.", dns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().Option = append(m.IsEdns0().Option, opts...)
	return pack(t, m)
}

// optMsg is a message whose only record is an OPT with rdata opt.
func optMsg(opt []byte) []byte {
	return cat(hdr(1, 0, 0, 0, 0, 1), []byte{0}, be16(41), be16(1232), be32(0), be16(uint16(len(opt))), opt)
}

func TestParseDNSECS(t *testing.T) {
	subnet := func(family uint16, source uint8, addr string) *dns.EDNS0_SUBNET {
		return &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: family, SourceNetmask: source, Address: net.ParseIP(addr)}
	}
	type want struct {
		ecs           bool
		family        uint16
		source, scope uint8
		prefix        string // "" when ECSAddr is invalid
	}
	for _, c := range []struct {
		name string
		msg  []byte
		want want
	}{
		{"IPv4 /24 (miekg)", ecsMsg(t, subnet(1, 24, "198.51.100.77")), want{true, 1, 24, 0, "198.51.100.0/24"}},
		{"IPv6 /56 (miekg)", ecsMsg(t, subnet(2, 56, "2001:db8:100:ab12::1")), want{true, 2, 56, 0, "2001:db8:100:ab00::/56"}},
		{"IPv4 /0, no address bytes", ecsMsg(t, subnet(1, 0, "0.0.0.0")), want{true, 1, 0, 0, "0.0.0.0/0"}},
		{"after a cookie; the first of two", ecsMsg(t, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0123456789abcdef"},
			subnet(1, 32, "198.51.100.9"), subnet(1, 16, "203.0.113.0")), want{true, 1, 32, 0, "198.51.100.9/32"}},
		{"bits past the prefix are masked, scope kept", optMsg(cat(be16(8), be16(7), be16(1), []byte{20, 24, 198, 51, 255})),
			want{true, 1, 20, 24, "198.51.240.0/20"}},
		{"IPv4 source over 32", optMsg(cat(be16(8), be16(8), be16(1), []byte{33, 0, 198, 51, 100, 1})), want{true, 1, 33, 0, ""}},
		{"IPv4 address over 4 bytes", optMsg(cat(be16(8), be16(9), be16(1), []byte{24, 0, 198, 51, 100, 1, 1})), want{true, 1, 24, 0, ""}},
		{"unknown family", optMsg(cat(be16(8), be16(6), be16(3), []byte{8, 0, 10, 0})), want{true, 3, 8, 0, ""}},
		{"option shorter than its header", optMsg(cat(be16(8), be16(2), []byte{0, 1})), want{ecs: true}},
		{"option past the OPT data", optMsg(cat(be16(8), be16(40), []byte{0, 1})), want{ecs: true}},
		{"no ECS", ecsMsg(t), want{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var m DNS
			// Stale Client Subnet facts from another message must go.
			if !ParseDNS(ecsMsg(t, subnet(2, 48, "2001:db8:1::")), &m) || m.ECSFamily != 2 {
				t.Fatal("priming parse failed")
			}
			if !ParseDNS(c.msg, &m) || m.Malformed {
				t.Fatalf("ParseDNS: malformed %v", m.Malformed)
			}
			got := want{m.ECS, m.ECSFamily, m.ECSSource, m.ECSScope, ""}
			if p := m.ECSPrefix(); p.IsValid() {
				got.prefix = p.String()
			}
			if got != c.want {
				t.Errorf("\n got %+v\nwant %+v", got, c.want)
			}
			if m.ECSAddr.IsValid() != (c.want.prefix != "") || (m.ECSAddr.IsValid() && m.ECSAddr != netip.MustParsePrefix(c.want.prefix).Addr()) {
				t.Errorf("ECSAddr %v", m.ECSAddr)
			}
		})
	}
}

func TestParseDNSECSAllocatesNothing(t *testing.T) {
	msg := ecsMsg(t, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 2, SourceNetmask: 56, Address: net.ParseIP("2001:db8:100:ab12::1")})
	var m DNS
	if n := testing.AllocsPerRun(1000, func() { ParseDNS(msg, &m) }); n != 0 || !m.ECSAddr.IsValid() {
		t.Fatalf("%v allocations, ECSAddr %v", n, m.ECSAddr)
	}
}
