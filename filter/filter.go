// Package filter compiles the common subset of pcap-filter(7) expressions
// into a predicate over decoded frames, in pure Go (no libpcap, no cgo).
//
// Supported primitives: host, net (CIDR or "net A mask M"), port,
// portrange, each with an optional src or dst qualifier (and "src or dst",
// "src and dst"); the protocols ip, ip6, udp, tcp, icmp, icmp6, and
// "ip proto N" / "ip6 proto N"; "less N" and "greater N"; combined with
// and/&&, or/||, not/! and parentheses. A port primitive may be prefixed
// by udp or tcp ("udp port 53"). Anything else is a compile error naming
// the word, so a filter is never silently ignored.
package filter

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/visor-dns/visor"
)

// Filter is a compiled expression.
type Filter struct {
	root node
	text string
}

// Match reports whether the frame passes the filter.
func (f *Filter) Match(fr *visor.Frame) bool { return f.root.match(fr) }

// String returns the expression as given.
func (f *Filter) String() string { return f.text }

type node interface{ match(*visor.Frame) bool }

type and struct{ a, b node }
type or struct{ a, b node }
type not struct{ a node }

func (n and) match(f *visor.Frame) bool { return n.a.match(f) && n.b.match(f) }
func (n or) match(f *visor.Frame) bool  { return n.a.match(f) || n.b.match(f) }
func (n not) match(f *visor.Frame) bool { return !n.a.match(f) }

type dirQual uint8

const (
	either dirQual = iota
	srcOnly
	dstOnly
	both
)

type prefixMatch struct {
	p   netip.Prefix
	dir dirQual
}

func (n prefixMatch) match(f *visor.Frame) bool {
	if !f.Src.IsValid() { // not IP, nor ARP (whose addresses decode gives too)
		return false
	}
	s, d := n.p.Contains(f.Src), n.p.Contains(f.Dst)
	switch n.dir {
	case srcOnly:
		return s
	case dstOnly:
		return d
	case both:
		return s && d
	}
	return s || d
}

type portMatch struct {
	lo, hi uint16
	dir    dirQual
	proto  uint8 // 0: udp or tcp
}

func (n portMatch) match(f *visor.Frame) bool {
	if f.Proto != visor.TransportUDP && f.Proto != visor.TransportTCP {
		return false
	}
	if n.proto != 0 && f.Proto != n.proto {
		return false
	}
	if f.Fragment && f.FragOffset > 0 {
		return false
	}
	s := f.SrcPort >= n.lo && f.SrcPort <= n.hi
	d := f.DstPort >= n.lo && f.DstPort <= n.hi
	switch n.dir {
	case srcOnly:
		return s
	case dstOnly:
		return d
	case both:
		return s && d
	}
	return s || d
}

type protoMatch struct {
	version uint8 // 0: either
	proto   int   // -1: any
}

func (n protoMatch) match(f *visor.Frame) bool {
	if f.IPVersion == 0 || (n.version != 0 && f.IPVersion != n.version) {
		return false
	}
	return n.proto < 0 || int(f.Proto) == n.proto
}

type lenMatch struct {
	n       int
	greater bool
}

func (n lenMatch) match(f *visor.Frame) bool {
	if n.greater {
		return f.WireLen >= n.n
	}
	return f.WireLen <= n.n
}

// Compile parses expr. An empty expression matches everything.
func Compile(expr string) (*Filter, error) {
	p := &parser{toks: tokenize(expr)}
	if len(p.toks) == 0 {
		return &Filter{root: protoMatchAll{}, text: expr}, nil
	}
	n, err := p.or()
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, err)
	}
	if p.i < len(p.toks) {
		return nil, fmt.Errorf("filter %q: unexpected %q", expr, p.toks[p.i])
	}
	return &Filter{root: n, text: expr}, nil
}

type protoMatchAll struct{}

func (protoMatchAll) match(*visor.Frame) bool { return true }

func tokenize(s string) []string {
	var out []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			flush()
		case c == '(' || c == ')':
			flush()
			out = append(out, string(c))
		case c == '!' && (i+1 >= len(s) || s[i+1] != '='):
			flush()
			out = append(out, "!")
		case (c == '&' || c == '|') && i+1 < len(s) && s[i+1] == c:
			flush()
			out = append(out, s[i:i+2])
			i++
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}

type parser struct {
	toks []string
	i    int
}

func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return strings.ToLower(p.toks[p.i])
	}
	return ""
}

func (p *parser) next() string {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

// or parses operands joined by and/&& and or/||: as in pcap-filter(7),
// "alternation and concatenation have equal precedence and associate left
// to right" ("udp or tcp and ip6" is "(udp or tcp) and ip6").
func (p *parser) or() (node, error) {
	a, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		var join func(a, b node) node
		switch p.peek() {
		case "and", "&&":
			join = func(a, b node) node { return and{a, b} }
		case "or", "||":
			join = func(a, b node) node { return or{a, b} }
		default:
			return a, nil
		}
		p.next()
		b, err := p.unary()
		if err != nil {
			return nil, err
		}
		a = join(a, b)
	}
}

func (p *parser) unary() (node, error) {
	switch p.peek() {
	case "not", "!":
		p.next()
		a, err := p.unary()
		if err != nil {
			return nil, err
		}
		return not{a}, nil
	case "(":
		p.next()
		a, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		return a, nil
	}
	return p.primitive()
}

func (p *parser) primitive() (node, error) {
	tok := p.next()
	switch tok {
	case "":
		return nil, fmt.Errorf("expression ends too early")
	case "ip", "ip6":
		v := uint8(4)
		if tok == "ip6" {
			v = 6
		}
		if p.peek() == "proto" {
			p.next()
			n, err := protoNumber(p.next())
			if err != nil {
				return nil, err
			}
			return protoMatch{version: v, proto: n}, nil
		}
		return protoMatch{version: v, proto: -1}, nil
	case "proto": // ip or ip6, as tcpdump reads it
		n, err := protoNumber(p.next())
		if err != nil {
			return nil, err
		}
		return protoMatch{proto: n}, nil
	case "udp", "tcp":
		proto := visor.TransportUDP
		if tok == "tcp" {
			proto = visor.TransportTCP
		}
		switch p.peek() {
		case "port", "portrange", "src", "dst":
			n, err := p.primitive()
			if err != nil {
				return nil, err
			}
			if pm, ok := n.(portMatch); ok {
				pm.proto = proto
				return pm, nil
			}
			return and{protoMatch{proto: int(proto)}, n}, nil
		}
		return protoMatch{proto: int(proto)}, nil
	case "icmp":
		return protoMatch{version: 4, proto: 1}, nil
	case "icmp6":
		return protoMatch{version: 6, proto: 58}, nil
	case "less", "greater":
		n, err := strconv.Atoi(p.next())
		if err != nil {
			return nil, fmt.Errorf("%s wants a length", tok)
		}
		return lenMatch{n: n, greater: tok == "greater"}, nil
	case "src", "dst":
		dir := srcOnly
		if tok == "dst" {
			dir = dstOnly
		}
		if p.peek() == "or" || p.peek() == "and" {
			conj := p.next()
			if other := p.next(); other != "src" && other != "dst" {
				return nil, fmt.Errorf("%s %s wants src or dst", tok, conj)
			}
			dir = either
			if conj == "and" {
				dir = both
			}
		}
		return p.addressed(dir)
	}
	p.i--
	return p.addressed(either)
}

// addressed parses host, net, port and portrange (the qualifier is known).
func (p *parser) addressed(dir dirQual) (node, error) {
	switch tok := p.next(); tok {
	case "host":
		a, err := netip.ParseAddr(p.next())
		if err != nil {
			return nil, fmt.Errorf("host wants an IP address: %v", err)
		}
		return prefixMatch{p: netip.PrefixFrom(a, a.BitLen()), dir: dir}, nil
	case "net":
		s := p.next()
		if p.peek() == "mask" {
			p.next()
			m, err := netip.ParseAddr(p.next())
			if err != nil || !m.Is4() {
				return nil, fmt.Errorf("net mask wants an IPv4 mask")
			}
			b := m.As4()
			bits := 0
			for _, x := range b {
				for x&0x80 != 0 {
					bits++
					x <<= 1
				}
			}
			s = s + "/" + strconv.Itoa(bits)
		}
		pr, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("net wants a CIDR: %v", err)
		}
		return prefixMatch{p: pr.Masked(), dir: dir}, nil
	case "port":
		n, err := portNumber(p.next())
		if err != nil {
			return nil, err
		}
		return portMatch{lo: n, hi: n, dir: dir}, nil
	case "portrange":
		lo, hi, ok := strings.Cut(p.next(), "-")
		a, err1 := portNumber(lo)
		b, err2 := portNumber(hi)
		if !ok || err1 != nil || err2 != nil || a > b {
			return nil, fmt.Errorf("portrange wants LOW-HIGH")
		}
		return portMatch{lo: a, hi: b, dir: dir}, nil
	case "":
		return nil, fmt.Errorf("expression ends too early")
	default:
		// A bare address is "host ADDR", as in pcap-filter.
		if a, err := netip.ParseAddr(tok); err == nil {
			return prefixMatch{p: netip.PrefixFrom(a, a.BitLen()), dir: dir}, nil
		}
		return nil, fmt.Errorf("unsupported word %q (visor supports host, net, port, portrange, src, dst, ip, ip6, udp, tcp, icmp, icmp6, proto, less, greater, and, or, not)", tok)
	}
}

func portNumber(s string) (uint16, error) {
	switch s {
	case "domain":
		return 53, nil
	case "http":
		return 80, nil
	case "https":
		return 443, nil
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("port wants a number, not %q", s)
	}
	return uint16(n), nil
}

func protoNumber(s string) (int, error) {
	switch s {
	case "udp", "\\udp":
		return 17, nil
	case "tcp", "\\tcp":
		return 6, nil
	case "icmp", "\\icmp":
		return 1, nil
	case "icmp6", "\\icmp6":
		return 58, nil
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("proto wants a number or name, not %q", s)
	}
	return int(n), nil
}
