package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"maps"
	"math"
	"net/netip"
	"os"
	"slices"
	"testing"

	dnstap "github.com/dnstap/golang-dnstap"
	"google.golang.org/protobuf/proto"

	"github.com/visor-dns/visor"
)

// The dnstap test frames are built with golang-dnstap's generated types and
// proto.Marshal: an encoder independent of visor's hand-walked decoder.

// tapMsg is one dnstap message to encode.
type tapMsg struct {
	typ       dnstap.Message_Type
	family    int32 // 0: absent
	proto     int32 // 0: absent; values past golang-dnstap's enum (DoQ 7) too
	qaddr     string
	raddr     string
	qport     uint32
	rport     uint32
	qsec      uint64
	qnsec     uint32
	rsec      uint64
	rnsec     uint32
	qmsg      []byte
	rmsg      []byte
	noMessage bool // a Dnstap without its Message
}

func (m tapMsg) frame(identity, version string) []byte {
	d := &dnstap.Dnstap{Type: dnstap.Dnstap_MESSAGE.Enum()}
	if identity != "" {
		d.Identity = []byte(identity)
	}
	if version != "" {
		d.Version = []byte(version)
	}
	if !m.noMessage {
		msg := &dnstap.Message{Type: m.typ.Enum(), QueryMessage: m.qmsg, ResponseMessage: m.rmsg}
		if m.family != 0 {
			msg.SocketFamily = dnstap.SocketFamily(m.family).Enum()
		}
		if m.proto != 0 && m.proto <= 4 {
			msg.SocketProtocol = dnstap.SocketProtocol(m.proto).Enum()
		}
		if m.qaddr != "" {
			msg.QueryAddress = netip.MustParseAddr(m.qaddr).AsSlice()
		}
		if m.raddr != "" {
			msg.ResponseAddress = netip.MustParseAddr(m.raddr).AsSlice()
		}
		if m.qport != 0 {
			msg.QueryPort = proto.Uint32(m.qport)
		}
		if m.rport != 0 {
			msg.ResponsePort = proto.Uint32(m.rport)
		}
		if m.qsec != 0 {
			msg.QueryTimeSec, msg.QueryTimeNsec = proto.Uint64(m.qsec), proto.Uint32(m.qnsec)
		}
		if m.rsec != 0 {
			msg.ResponseTimeSec, msg.ResponseTimeNsec = proto.Uint64(m.rsec), proto.Uint32(m.rnsec)
		}
		d.Message = msg
	}
	b, err := proto.Marshal(d)
	if err != nil {
		panic(err)
	}
	if m.proto > 4 {
		// a socket_protocol newer than golang-dnstap's enum, appended to
		// the Message as a raw field (tag 3, varint) the way a newer server writes it
		b = appendRawProto(b, m.proto)
	}
	return dataFrame(b)
}

// appendRawProto rewrites the Dnstap frame b so that its Message (field 14)
// ends with socket_protocol = p.
func appendRawProto(b []byte, p int32) []byte {
	d := &dnstap.Dnstap{}
	if err := proto.Unmarshal(b, d); err != nil {
		panic(err)
	}
	mb, _ := proto.Marshal(d.Message)
	mb = append(mb, 3<<3, byte(p))
	d.Message = nil
	out, _ := proto.Marshal(d)
	out = append(out, 14<<3|2, byte(len(mb)))
	return append(out, mb...)
}

func dataFrame(b []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

// controlFrame is an escape, a length and a control type with an optional
// content type field.
func controlFrame(typ uint32, contentType string) []byte {
	body := binary.BigEndian.AppendUint32(nil, typ)
	if contentType != "" {
		body = binary.BigEndian.AppendUint32(body, fstrmFieldContentType)
		body = binary.BigEndian.AppendUint32(body, uint32(len(contentType)))
		body = append(body, contentType...)
	}
	out := binary.BigEndian.AppendUint32(nil, 0)
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	return append(out, body...)
}

var (
	tapStart  = controlFrame(fstrmStart, DNSTapContentType)
	tapStop   = controlFrame(fstrmStop, "")
	tapReady  = controlFrame(fstrmReady, DNSTapContentType)
	tapAccept = controlFrame(fstrmAccept, DNSTapContentType)
	tapFinish = controlFrame(fstrmFinish, "")
	dnsQuery  = []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 0, 0, 1, 0, 1}
	dnsAnswer = []byte{0x12, 0x34, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 0, 0, 1, 0, 1}
	cq        = tapMsg{typ: dnstap.Message_CLIENT_QUERY, family: 1, proto: 1, qaddr: "198.51.100.10", raddr: "198.51.100.1",
		qport: 40000, rport: 53, qsec: 1700000000, qnsec: 5, qmsg: dnsQuery}
	cr = tapMsg{typ: dnstap.Message_CLIENT_RESPONSE, family: 1, proto: 1, qaddr: "198.51.100.10", raddr: "198.51.100.1",
		qport: 40000, rport: 53, qsec: 1700000000, qnsec: 5, rsec: 1700000000, rnsec: 900, rmsg: dnsAnswer}
)

func tapJoin(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// tapGot is what one Next call gave.
type tapGot struct {
	ts  int64
	tap visor.TapMessage
}

func readTap(t testing.TB, b []byte) ([]tapGot, *visor.InputInfo, error) {
	t.Helper()
	src, err := Open("-", 0, bytes.NewReader(b))
	if err != nil {
		return nil, nil, err
	}
	defer src.Close()
	var out []tapGot
	var p visor.Packet
	for {
		err := src.Next(&p)
		if err == io.EOF {
			return out, src.Info(), nil
		}
		if err != nil {
			return out, src.Info(), err
		}
		if p.LinkType != visor.LinkDNSTap || p.Tap == nil {
			t.Fatalf("packet %d: link type %d, tap %v", p.Number, p.LinkType, p.Tap)
		}
		g := tapGot{ts: p.TS, tap: *p.Tap}
		g.tap.Message = append([]byte(nil), p.Tap.Message...)
		out = append(out, g)
	}
}

func TestDNSTapFrames(t *testing.T) {
	one := cq.frame("ident", "v1")
	two := cr.frame("", "")
	cases := []struct {
		name string
		in   []byte
		n    int
	}{
		{"start stop", tapJoin(tapStart, one, two, tapStop), 2},
		{"start without stop", tapJoin(tapStart, one, two), 2},
		{"several runs", tapJoin(tapStart, one, tapStop, tapStart, two, two, tapStop, tapStart, tapStop), 3},
		{"no control frames", tapJoin(one, two, one), 3},
		{"bidirectional style", tapJoin(tapReady, tapAccept, tapStart, one, two, tapStop, tapFinish), 2},
		{"start with no content type", tapJoin(controlFrame(fstrmStart, ""), one, tapStop), 1},
		{"only control frames", tapJoin(tapStart, tapStop), 0},
		{"dnstap without message skipped", tapJoin(tapStart, one, tapMsg{noMessage: true}.frame("x", ""), two, tapStop), 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, info, err := readTap(t, c.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != c.n || info.Packets != uint64(c.n) {
				t.Fatalf("%d messages (info %d), want %d", len(got), info.Packets, c.n)
			}
			if info.Format != "dnstap" {
				t.Errorf("format %q", info.Format)
			}
			if c.n > 0 && info.Identity != "ident" {
				t.Errorf("identity %q", info.Identity)
			}
			if info.SHA256 == "" {
				t.Error("no sha256 at EOF")
			}
		})
	}
}

func TestDNSTapFields(t *testing.T) {
	six := tapMsg{typ: dnstap.Message_RESOLVER_RESPONSE, family: 2, proto: 2, qaddr: "2001:db8::1", raddr: "2001:db8::2",
		qport: 5353, rport: 53, qsec: 10, rsec: 11, rnsec: 7, rmsg: dnsAnswer}
	doq := tapMsg{typ: dnstap.Message_AUTH_QUERY, family: 1, proto: 7, qsec: 12, qmsg: dnsQuery}
	tool := tapMsg{typ: dnstap.Message_TOOL_QUERY, qsec: 13, qmsg: dnsQuery}
	empty := tapMsg{typ: dnstap.Message_CLIENT_RESPONSE, family: 1, rsec: 14}
	onlyQueryTime := tapMsg{typ: dnstap.Message_STUB_RESPONSE, qsec: 15, rmsg: dnsAnswer}
	in := tapJoin(tapStart, cq.frame("ident", "v1"), cr.frame("other", "v2"), six.frame("", ""), doq.frame("", ""),
		tool.frame("", ""), empty.frame("", ""), onlyQueryTime.frame("", ""), tapStop)
	got, info, err := readTap(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if info.Identity != "ident" || info.Version != "v1" {
		t.Errorf("identity %q version %q, want the first seen", info.Identity, info.Version)
	}
	want := []struct {
		ts       int64
		typ      string
		response bool
		dir      visor.Direction
		ipv      uint8
		tr       uint8
		msg      []byte
	}{
		{1700000000e9 + 5, "CLIENT_QUERY", false, visor.DirIn, 4, visor.TransportUDP, dnsQuery},
		{1700000000e9 + 900, "CLIENT_RESPONSE", true, visor.DirIn, 4, visor.TransportUDP, dnsAnswer},
		{11e9 + 7, "RESOLVER_RESPONSE", true, visor.DirOut, 6, visor.TransportTCP, dnsAnswer},
		{12e9, "AUTH_QUERY", false, visor.DirIn, 4, visor.TransportDoQ, dnsQuery},
		{13e9, "TOOL_QUERY", false, visor.DirUnknown, 0, visor.TransportUDP, dnsQuery},
		{14e9, "CLIENT_RESPONSE", true, visor.DirIn, 4, visor.TransportUDP, nil},
		{15e9, "STUB_RESPONSE", true, visor.DirOut, 0, visor.TransportUDP, dnsAnswer},
	}
	if len(got) != len(want) {
		t.Fatalf("%d messages, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.ts != w.ts || g.tap.Type != w.typ || g.tap.Response != w.response || g.tap.Dir != w.dir ||
			g.tap.IPVersion != w.ipv || g.tap.Transport != w.tr || !bytes.Equal(g.tap.Message, w.msg) {
			t.Errorf("message %d: got ts %d %+v, want %+v", i, g.ts, g.tap, w)
		}
	}
	c := got[1].tap
	if c.QueryAddr != netip.MustParseAddr("198.51.100.10") || c.ResponseAddr != netip.MustParseAddr("198.51.100.1") ||
		c.QueryPort != 40000 || c.ResponsePort != 53 || c.QueryTime != 1700000000e9+5 || c.ResponseTime != 1700000000e9+900 {
		t.Errorf("client response addresses and times: %+v", c)
	}
	if s := got[2].tap; s.QueryAddr != netip.MustParseAddr("2001:db8::1") || s.QueryPort != 5353 {
		t.Errorf("IPv6 addresses: %+v", s)
	}
}

func TestDNSTapErrors(t *testing.T) {
	one := cq.frame("", "")
	trunc := tapJoin(tapStart, one, one[:len(one)-3])
	oversize := tapJoin(tapStart, one, binary.BigEndian.AppendUint32(nil, MaxFrameLen+1), make([]byte, 64))
	cases := []struct {
		name    string
		in      []byte
		offset  int64
		partial bool
		reason  string
		n       int
	}{
		{"truncated last frame", trunc, int64(len(tapStart) + len(one)), true, "input_truncated", 1},
		{"truncated frame length", tapJoin(tapStart, one, one[:2]), int64(len(tapStart) + len(one)), true, "input_truncated", 1},
		{"truncated first frame", tapJoin(tapStart, one[:10]), int64(len(tapStart)), false, "input_truncated", 0},
		{"truncated control frame", tapJoin(tapStart, one, tapStop[:6]), int64(len(tapStart) + len(one)), true, "input_truncated", 1},
		{"oversize frame", oversize, int64(len(tapStart) + len(one)), true, "input_corrupt", 1},
		{"wrong content type", tapJoin(controlFrame(fstrmStart, "protobuf:other"), one), 0, false, "input_corrupt", 0},
		{"unknown control type", tapJoin(tapStart, one, controlFrame(9, "")), int64(len(tapStart) + len(one)), true, "input_corrupt", 1},
		{"control frame too long", tapJoin([]byte{0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 2}, make([]byte, 1024)), 0, false, "input_corrupt", 0},
		{"bad frame, then a frame length past the end", tapJoin(tapStart, one, garbageFrame, one[:7]), int64(len(tapStart) + len(one) + len(garbageFrame)), true, "input_truncated", 1},
		{"bad frame first, then a frame length past the end", tapJoin(tapStart, garbageFrame, one[:7]), int64(len(tapStart) + len(garbageFrame)), false, "input_truncated", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _, err := readTap(t, c.in)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a *capture.Error", err)
			}
			if ce.Offset != c.offset || ce.Partial != c.partial || ce.Reason() != c.reason || len(got) != c.n {
				t.Errorf("offset %d partial %v reason %s after %d messages; want %d %v %s %d (%v)",
					ce.Offset, ce.Partial, ce.Reason(), len(got), c.offset, c.partial, c.reason, c.n, err)
			}
		})
	}
}

// garbageFrame is a well-framed data frame whose protobuf is cut short: a
// Message field declaring 0x50 bytes, holding 2.
var garbageFrame = dataFrame([]byte{0x72, 0x50, 1, 2})

// rawTap is a data frame of a Dnstap MESSAGE around the raw Message msg.
func rawTap(msg ...byte) []byte {
	return dataFrame(append([]byte{0x78, 0x01, 0x72, byte(len(msg))}, msg...))
}

// Defect 8 of issue 16: one malformed protobuf payload in a well-framed
// file kept 5 of 100 messages. A bad frame is skipped and counted; the
// frames after it are read.
func TestDNSTapBadFrames(t *testing.T) {
	var hundred [][]byte
	for i := range 100 {
		m := cq
		m.qsec = 1700000000 + uint64(i)
		hundred = append(hundred, m.frame("", ""))
	}
	hundred[5] = garbageFrame
	late := cr
	late.rsec = 1 << 40
	badNs := cq
	badNs.qnsec = 1e9
	last := cq
	last.qsec, last.qnsec = maxSec, maxNs
	tests := []struct {
		name    string
		in      []byte
		times   []int64 // times of the messages read
		skipped map[string]uint64
	}{
		{"one garbage frame in 100", tapJoin(tapStart, tapJoin(hundred...), tapStop), nil, map[string]uint64{ReasonDNSTapBadFrame: 1}},
		{"garbage first", tapJoin(tapStart, garbageFrame, cq.frame("", "")), []int64{1700000000e9 + 5}, map[string]uint64{ReasonDNSTapBadFrame: 1}},
		{"garbage last", tapJoin(cq.frame("", ""), garbageFrame), []int64{1700000000e9 + 5}, map[string]uint64{ReasonDNSTapBadFrame: 1}},
		{"dnstap type not MESSAGE", tapJoin(dataFrame([]byte{0x78, 0x02}), cr.frame("", "")), []int64{1700000000e9 + 900}, map[string]uint64{ReasonDNSTapBadFrame: 1}},
		{"dnstap without a message", tapJoin(tapMsg{noMessage: true}.frame("x", ""), cr.frame("", "")), []int64{1700000000e9 + 900}, map[string]uint64{ReasonDNSTapBadFrame: 1}},
		{"message without a type", tapJoin(rawTap(0x40, 0x0a), cq.frame("", "")), []int64{1700000000e9 + 5}, map[string]uint64{ReasonDNSTapBadFrame: 1}},
		{"query_message as a varint", tapJoin(rawTap(0x08, 0x05, 0x50, 0x01), cq.frame("", "")), []int64{1700000000e9 + 5}, map[string]uint64{ReasonDNSTapBadFrame: 1}},
		{"query_time_nsec as a varint", tapJoin(rawTap(0x08, 0x05, 0x40, 0x01, 0x48, 0x01), cq.frame("", "")), []int64{1700000000e9 + 5}, map[string]uint64{ReasonDNSTapBadFrame: 1}},
		{"address of 5 bytes", tapJoin(rawTap(0x08, 0x05, 0x22, 0x05, 1, 2, 3, 4, 5), cq.frame("", "")), []int64{1700000000e9 + 5}, map[string]uint64{ReasonDNSTapBadFrame: 1}},
		{"port 70000", tapJoin(rawTap(0x08, 0x05, 0x30, 0xf0, 0xa2, 0x04), cq.frame("", "")), []int64{1700000000e9 + 5}, map[string]uint64{ReasonDNSTapBadFrame: 1}},
		{"a good raw message", rawTap(0x08, 0x05, 0x40, 0x07, 0x4d, 9, 0, 0, 0, 0x30, 0x35), []int64{7e9 + 9}, nil},
		{"response time 2^40 s", tapJoin(late.frame("", ""), cq.frame("", "")), []int64{1700000000e9 + 5}, map[string]uint64{ReasonTimeRange: 1}},
		{"query time nanoseconds of 1 s", tapJoin(badNs.frame("", ""), cr.frame("", "")), []int64{1700000000e9 + 900}, map[string]uint64{ReasonTimeRange: 1}},
		{"query time the last of int64", last.frame("", ""), []int64{math.MaxInt64}, nil},
		{"both kinds", tapJoin(garbageFrame, late.frame("", ""), garbageFrame, badNs.frame("", "")), nil, map[string]uint64{ReasonDNSTapBadFrame: 2, ReasonTimeRange: 2}},
	}
	for i := range 100 {
		if i != 5 {
			tests[0].times = append(tests[0].times, (1700000000+int64(i))*1e9+5)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, info, err := readTap(t, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			var times []int64
			for _, g := range got {
				times = append(times, g.ts)
			}
			if !slices.Equal(times, tc.times) || info.Packets != uint64(len(tc.times)) {
				t.Errorf("%d messages (info %d) at %v, want %v", len(got), info.Packets, times, tc.times)
			}
			if !maps.Equal(info.Skipped, tc.skipped) {
				t.Errorf("skipped %v, want %v", info.Skipped, tc.skipped)
			}
			if info.SHA256 == "" {
				t.Error("no sha256 at EOF")
			}
		})
	}
}

func TestDNSTapGarbage(t *testing.T) {
	// escape magic, then nonsense: an error, not a panic and not a message
	for _, in := range [][]byte{
		{0, 0, 0, 0},
		{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},
		{0, 0, 0, 0, 0, 0, 0, 1, 2},
		{0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 2, 0, 0, 0, 1},
	} {
		got, _, err := readTap(t, in)
		if err == nil || len(got) != 0 {
			t.Errorf("% x: %d messages, error %v", in, len(got), err)
		}
	}
	// a length that looks like a bare frame but is not followed by a Dnstap is not dnstap
	if _, err := Open("-", 0, bytes.NewReader([]byte{0, 0, 0, 9, 0xee, 1, 2, 3, 4, 5, 6, 7, 8})); err == nil {
		t.Error("bare frame without a Dnstap field accepted")
	}
}

func TestDNSTapCompressed(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(tapJoin(tapStart, cq.frame("", ""), cr.frame("", ""), tapStop))
	zw.Close()
	got, info, err := readTap(t, buf.Bytes())
	if err != nil || len(got) != 2 || info.Format != "dnstap+gzip" {
		t.Fatalf("%d messages, format %q, error %v", len(got), info.Format, err)
	}
}

// TestDNSTapRealFiles reads the lab's files (the lab scenario TestDnstapFiles) and
// checks every frame against golang-dnstap's generated decoder.
func TestDNSTapRealFiles(t *testing.T) {
	for _, name := range []string{"../testdata/unbound.dnstap", "../testdata/knot.dnstap"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Skip(err)
			}
			got, info, err := readTap(t, b)
			if err != nil {
				t.Fatal(err)
			}
			// the reference: golang-framestream + golang-dnstap
			fr, err := dnstap.NewReader(bytes.NewReader(b), nil)
			if err != nil {
				t.Fatal(err)
			}
			dec := dnstap.NewDecoder(fr, MaxFrameLen)
			var ref []*dnstap.Dnstap
			for {
				d := &dnstap.Dnstap{}
				if err := dec.Decode(d); err != nil {
					if err != io.EOF {
						t.Fatal(err)
					}
					break
				}
				ref = append(ref, d)
			}
			if len(got) != len(ref) || len(got) == 0 {
				t.Fatalf("visor %d messages, golang-dnstap %d", len(got), len(ref))
			}
			if info.Identity != string(ref[0].Identity) || info.Version != string(ref[0].Version) {
				t.Errorf("identity %q version %q, want %q %q", info.Identity, info.Version, ref[0].Identity, ref[0].Version)
			}
			for i, r := range ref {
				m, g := r.Message, got[i].tap
				msg := m.QueryMessage
				if g.Response {
					msg = m.ResponseMessage
				}
				if g.Type != m.GetType().String() || !bytes.Equal(g.Message, msg) ||
					g.QueryPort != uint16(m.GetQueryPort()) || g.ResponsePort != uint16(m.GetResponsePort()) ||
					g.QueryAddr != tapAddr(m.QueryAddress) || g.ResponseAddr != tapAddr(m.ResponseAddress) {
					t.Fatalf("message %d differs: visor %+v, golang-dnstap %v", i, g, m)
				}
			}
		})
	}
}

func TestDNSTapAllocs(t *testing.T) {
	var frames [][]byte
	frames = append(frames, tapStart)
	for i := 0; i < 2000; i++ {
		frames = append(frames, cq.frame("ident", "v"), cr.frame("ident", "v"))
	}
	in := tapJoin(frames...)
	src, err := Open("-", 0, bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var p visor.Packet
	src.Next(&p) // first message: identity and version strings
	allocs := testing.AllocsPerRun(1000, func() {
		if err := src.Next(&p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per message, want 0", allocs)
	}
}

func BenchmarkDNSTapRead(b *testing.B) {
	in, err := os.ReadFile("../testdata/unbound.dnstap")
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		src, err := Open("-", 0, bytes.NewReader(in))
		if err != nil {
			b.Fatal(err)
		}
		var p visor.Packet
		for src.Next(&p) == nil {
		}
		src.Close()
	}
}

// FuzzFrameReader feeds arbitrary bytes to the dnstap reader: it must end
// in io.EOF or a *capture.Error, never panic, and never give a message
// that golang-dnstap's decoder would not.
func FuzzFrameReader(f *testing.F) {
	one, two := cq.frame("ident", "v1"), cr.frame("", "")
	f.Add(tapJoin(tapStart, one, two, tapStop))
	f.Add(tapJoin(tapStart, one, tapStop, tapStart, two, tapStop))
	f.Add(tapJoin(one, two))
	f.Add(tapJoin(tapReady, tapAccept, tapStart, one, tapStop, tapFinish))
	f.Add(tapJoin(tapStart, one, two[:len(two)-4]))
	// bad frames and times out of range, skipped (issue 16, defects 7 and 8)
	late := cr
	late.rsec = 1 << 40
	f.Add(tapJoin(tapStart, one, garbageFrame, late.frame("", ""), tapMsg{noMessage: true}.frame("", ""), two, tapStop))
	f.Add(tapJoin(rawTap(0x08, 0x05, 0x50, 0x01), rawTap(0x08, 0x05, 0x22, 0x05, 1, 2, 3, 4, 5), rawTap(0x08, 0x05, 0x40, 0x07, 0x4d, 9, 0, 0, 0), garbageFrame, one[:9]))
	if b, err := os.ReadFile("../testdata/knot.dnstap"); err == nil && len(b) > 2048 {
		f.Add(b[:2048])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		src, err := Open("-", 0, bytes.NewReader(b))
		if err != nil {
			return
		}
		defer src.Close()
		var p visor.Packet
		for n := uint64(0); ; n++ {
			err := src.Next(&p)
			if err == io.EOF {
				return
			}
			if err != nil {
				var ce *Error
				if !errors.As(err, &ce) {
					t.Fatalf("error %v is not a *capture.Error", err)
				}
				if ce.Partial != (n > 0) || ce.Offset < 0 || ce.Offset > int64(len(b)) {
					t.Fatalf("error %+v after %d messages of %d bytes", ce, n, len(b))
				}
				return
			}
			if p.Tap == nil || p.Tap.Type == "" || len(p.Tap.Message) > MaxFrameLen {
				t.Fatalf("bad message %+v", p.Tap)
			}
		}
	})
}
