package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/visor-dns/visor"
)

// MaxFrameLen is the longest dnstap data frame visor reads; a longer one is
// treated as corruption. A DNS message is at most 64 KiB; the envelope
// around it adds addresses, times and names, far less than 1 MiB.
const MaxFrameLen = 1 << 20

// maxControlLen bounds a Frame Streams control frame, as libfstrm does.
const maxControlLen = 512

// DNSTapContentType is the Frame Streams content type of dnstap.
const DNSTapContentType = "protobuf:dnstap.Dnstap"

// Frame Streams control frame types.
const (
	fstrmAccept = 0x01
	fstrmStart  = 0x02
	fstrmStop   = 0x03
	fstrmReady  = 0x04
	fstrmFinish = 0x05
)

// fstrmFieldContentType is the control field that carries a content type.
const fstrmFieldContentType = 0x01

// bareDNSTap returns the frame length when head (5 bytes) looks like a
// Frame Streams data frame with no leading control frame (a length, then
// a dnstap protobuf), and 0 otherwise.
func bareDNSTap(head []byte) uint32 {
	if len(head) < 5 {
		return 0
	}
	l := binary.BigEndian.Uint32(head)
	if l == 0 || l > MaxFrameLen {
		return 0
	}
	switch head[4] { // the first field of a Dnstap: identity, version, extra, message or type
	case 0x0a, 0x12, 0x1a, 0x72, 0x78:
		return l
	}
	return 0
}

// newDNSTap reads a dnstap Frame Streams file: optional control frames
// (READY, ACCEPT, START, STOP, FINISH, as many START/STOP runs as there
// are) around data frames that each hold one protobuf Dnstap. Each
// MESSAGE becomes a Packet with LinkType visor.LinkDNSTap and Tap set; the
// TapMessage is reused, so its Message is valid until the next Next.
func newDNSTap(br *bufio.Reader, st *stream, index int) (*source, error) {
	st.info.Format = "dnstap" + st.info.Format
	fr := &frameReader{r: br}
	tap := &visor.TapMessage{}
	var s *source
	s = newSource(st, index, func(p *visor.Packet) error {
		for {
			frame, err := fr.next()
			if err != nil {
				if err == io.EOF {
					return io.EOF
				}
				return s.failAt(fr.off, err)
			}
			if err := decodeDNSTap(frame, tap, st.info); err != nil {
				// the framing is sound: skip the frame, read on
				skipped(st.info, tapReason(err))
				continue
			}
			*p = visor.Packet{TS: tapTime(tap), Data: tap.Message, OrigLen: len(tap.Message), LinkType: visor.LinkDNSTap, Tap: tap}
			return nil
		}
	})
	return s, nil
}

// tapTime is when the logged message was sent or received: the response
// time for a response, the query time for a query, else whichever is set.
func tapTime(t *visor.TapMessage) int64 {
	if t.Response && t.ResponseTime != 0 || t.QueryTime == 0 {
		return t.ResponseTime
	}
	return t.QueryTime
}

// frameReader reads the data frames of a Frame Streams stream, checking
// and skipping control frames. off is the byte offset of the frame last
// returned or of the one that failed.
type frameReader struct {
	r io.Reader
	// ctrl, if set, sees every control frame after its checks; an error
	// from it ends the read (the socket server answers READY and STOP).
	ctrl func(typ uint32) error
	buf  []byte // the last data frame; reused
	hdr  [12]byte
	off  int64 // offset of the current frame
	pos  int64 // offset of the next byte
}

// next returns the next data frame, owned by the reader until the next
// call; io.EOF at a frame boundary; io.ErrUnexpectedEOF inside a frame.
func (fr *frameReader) next() ([]byte, error) {
	for {
		fr.off = fr.pos
		n, err := io.ReadFull(fr.r, fr.hdr[:4])
		fr.pos += int64(n)
		if err != nil {
			if err == io.EOF {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("dnstap frame length: %w", err)
		}
		l := binary.BigEndian.Uint32(fr.hdr[:4])
		if l == 0 {
			if err := fr.control(); err != nil {
				return nil, err
			}
			continue
		}
		if l > MaxFrameLen {
			return nil, fmt.Errorf("dnstap frame of %d bytes, more than the %d visor accepts", l, MaxFrameLen)
		}
		// The buffer grows by at most 64 KiB ahead of the bytes actually
		// read: a bogus length at the end of a file allocates little.
		fr.buf = fr.buf[:0]
		for len(fr.buf) < int(l) {
			chunk := int(l) - len(fr.buf)
			if chunk > 64<<10 && cap(fr.buf)-len(fr.buf) < chunk {
				chunk = 64 << 10
			}
			fr.buf = slices.Grow(fr.buf, chunk)
			n, err = io.ReadFull(fr.r, fr.buf[len(fr.buf):len(fr.buf)+chunk])
			fr.buf = fr.buf[:len(fr.buf)+n]
			fr.pos += int64(n)
			if err != nil {
				return nil, fmt.Errorf("dnstap frame of %d bytes: %w", l, eofIsUnexpected(err))
			}
		}
		return fr.buf, nil
	}
}

// control reads a control frame after its escape and checks it.
func (fr *frameReader) control() error {
	n, err := io.ReadFull(fr.r, fr.hdr[4:12])
	fr.pos += int64(n)
	if err != nil {
		return fmt.Errorf("dnstap control frame: %w", eofIsUnexpected(err))
	}
	l := binary.BigEndian.Uint32(fr.hdr[4:8])
	if l < 4 || l > maxControlLen {
		return fmt.Errorf("dnstap control frame of %d bytes, want 4 to %d", l, maxControlLen)
	}
	typ := binary.BigEndian.Uint32(fr.hdr[8:12])
	var body [maxControlLen]byte
	fields := body[:l-4]
	n, err = io.ReadFull(fr.r, fields)
	fr.pos += int64(n)
	if err != nil {
		return fmt.Errorf("dnstap control frame: %w", eofIsUnexpected(err))
	}
	switch typ {
	case fstrmStart, fstrmReady, fstrmAccept:
		err = checkContentType(fields)
	case fstrmStop, fstrmFinish:
	default:
		return fmt.Errorf("unknown Frame Streams control frame type %d", typ)
	}
	if err == nil && fr.ctrl != nil {
		err = fr.ctrl(typ)
	}
	return err
}

// checkContentType accepts control fields that name no content type or
// name dnstap's among others.
func checkContentType(fields []byte) error {
	seen := false
	for len(fields) > 0 {
		if len(fields) < 8 {
			return errors.New("dnstap control frame: truncated field")
		}
		typ := binary.BigEndian.Uint32(fields)
		l := binary.BigEndian.Uint32(fields[4:])
		if uint64(l) > uint64(len(fields)-8) {
			return errors.New("dnstap control frame: field longer than its frame")
		}
		v := fields[8 : 8+l]
		fields = fields[8+l:]
		if typ != fstrmFieldContentType {
			continue
		}
		if string(v) == DNSTapContentType {
			return nil
		}
		seen = true
	}
	if seen {
		return errors.New("the Frame Streams content type is not " + DNSTapContentType)
	}
	return nil
}

// tapTypes names the dnstap Message.Type values, and says which are
// responses and which way they go.
var tapTypes = [...]struct {
	name     string
	response bool
	dir      visor.Direction
}{
	1:  {"AUTH_QUERY", false, visor.DirIn},
	2:  {"AUTH_RESPONSE", true, visor.DirIn},
	3:  {"RESOLVER_QUERY", false, visor.DirOut},
	4:  {"RESOLVER_RESPONSE", true, visor.DirOut},
	5:  {"CLIENT_QUERY", false, visor.DirIn},
	6:  {"CLIENT_RESPONSE", true, visor.DirIn},
	7:  {"FORWARDER_QUERY", false, visor.DirOut},
	8:  {"FORWARDER_RESPONSE", true, visor.DirOut},
	9:  {"STUB_QUERY", false, visor.DirOut},
	10: {"STUB_RESPONSE", true, visor.DirOut},
	11: {"TOOL_QUERY", false, visor.DirUnknown},
	12: {"TOOL_RESPONSE", true, visor.DirUnknown},
	13: {"UPDATE_QUERY", false, visor.DirIn},
	14: {"UPDATE_RESPONSE", true, visor.DirIn},
}

// TapTypeName names a dnstap Message.Type value.
func TapTypeName(typ uint64) string {
	if typ < uint64(len(tapTypes)) && tapTypes[typ].name != "" {
		return tapTypes[typ].name
	}
	return "TYPE_" + strconv.Itoa(int(typ&0xffff))
}

// transports maps dnstap's SocketProtocol to visor's transports.
var transports = [...]uint8{
	1: visor.TransportUDP, // UDP
	2: visor.TransportTCP, // TCP
	3: visor.TransportDoT, // DOT
	4: visor.TransportDoH, // DOH
	5: visor.TransportDNSCryptUDP,
	6: visor.TransportDNSCryptTCP,
	7: visor.TransportDoQ, // DOQ
}

// errNoMessage is a Dnstap without its Message.
var errNoMessage = errors.New("dnstap without a message")

// tapReason is the integrity reason of a frame decodeDNSTap refused.
func tapReason(err error) string {
	if err == errTimeRange {
		return ReasonTimeRange
	}
	return ReasonDNSTapBadFrame
}

// tapWire is the wire type of each dnstap Message field visor knows
// (dnstap.proto); a field of another type is a malformed message.
var tapWire = [...]protowire.Type{
	1: protowire.VarintType, 2: protowire.VarintType, 3: protowire.VarintType, // type, family, protocol
	4: protowire.BytesType, 5: protowire.BytesType, // addresses
	6: protowire.VarintType, 7: protowire.VarintType, // ports
	8: protowire.VarintType, 9: protowire.Fixed32Type, 10: protowire.BytesType, 11: protowire.BytesType, // query time, message, zone
	12: protowire.VarintType, 13: protowire.Fixed32Type, 14: protowire.BytesType, // response time, message
	15: protowire.BytesType, 16: protowire.VarintType, // policy, http_protocol
}

// decodeDNSTap fills t from one protobuf Dnstap frame. Identity and
// version go into info the first time they are seen. t.Message points
// into frame. An error means the frame is to be skipped: errTimeRange for
// a time an int64 of Unix nanoseconds cannot hold, errNoMessage, or a
// malformed protobuf or field.
//
// The protobuf is walked with protowire rather than unmarshalled into
// golang-dnstap's types: nothing is allocated, and socket_protocol values
// newer than that package's enum (DNSCrypt, DoQ) are not lost to its
// unknown fields.
func decodeDNSTap(frame []byte, t *visor.TapMessage, info *visor.InputInfo) error {
	var msg []byte
	hasMsg := false
	var identity, version []byte
	err := walk(frame, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			identity = b
		case num == 2 && typ == protowire.BytesType:
			version = b
		case num == 14 && typ == protowire.BytesType:
			msg, hasMsg = b, true
		case num == 15 && (typ != protowire.VarintType || v != 1):
			return fmt.Errorf("dnstap type %d, want MESSAGE (1)", v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if info != nil {
		if info.Identity == "" && len(identity) > 0 {
			info.Identity = string(identity)
		}
		if info.Version == "" && len(version) > 0 {
			info.Version = string(version)
		}
	}
	if !hasMsg {
		return errNoMessage
	}
	*t = visor.TapMessage{}
	var qsec, rsec uint64
	var qnsec, rnsec uint64
	var qmsg, rmsg []byte
	var qaddr, raddr []byte
	var family uint64
	hasType := false
	err = walk(msg, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
		if num < protowire.Number(len(tapWire)) && typ != tapWire[num] {
			return fmt.Errorf("field %d of wire type %d, want %d", num, typ, tapWire[num])
		}
		switch num {
		case 1:
			hasType = true
			if v < uint64(len(tapTypes)) && tapTypes[v].name != "" {
				tt := tapTypes[v]
				t.Type, t.Response, t.Dir = tt.name, tt.response, tt.dir
			} else {
				t.Type = TapTypeName(v)
			}
		case 2:
			family = v
		case 3:
			if v < uint64(len(transports)) {
				t.Transport = transports[v]
			}
		case 4:
			qaddr = b
		case 5:
			raddr = b
		case 6, 7:
			if v > 0xffff {
				return fmt.Errorf("port %d", v)
			}
			if num == 6 {
				t.QueryPort = uint16(v)
			} else {
				t.ResponsePort = uint16(v)
			}
		case 8:
			qsec = v
		case 9:
			qnsec = v
		case 10:
			qmsg = b
		case 12:
			rsec = v
		case 13:
			rnsec = v
		case 14:
			rmsg = b
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("dnstap message: %w", err)
	}
	if !hasType {
		return errors.New("dnstap message without a type")
	}
	if !tapAddrLen(qaddr) || !tapAddrLen(raddr) {
		return fmt.Errorf("dnstap message: addresses of %d and %d bytes", len(qaddr), len(raddr))
	}
	switch family {
	case 1:
		t.IPVersion = 4
	case 2:
		t.IPVersion = 6
	}
	t.QueryAddr, t.ResponseAddr = tapAddr(qaddr), tapAddr(raddr)
	if t.IPVersion == 0 {
		switch {
		case t.QueryAddr.Is4() || t.ResponseAddr.Is4():
			t.IPVersion = 4
		case t.QueryAddr.Is6() || t.ResponseAddr.Is6():
			t.IPVersion = 6
		}
	}
	if t.Transport == 0 {
		t.Transport = visor.TransportUDP // the protocol's default
	}
	var ok bool
	if qsec != 0 || qnsec != 0 {
		if t.QueryTime, ok = tapNanos(qsec, qnsec); !ok {
			return errTimeRange
		}
	}
	if rsec != 0 || rnsec != 0 {
		if t.ResponseTime, ok = tapNanos(rsec, rnsec); !ok {
			return errTimeRange
		}
	}
	if t.Response {
		t.Message = rmsg
	} else {
		t.Message = qmsg
	}
	return nil
}

// tapAddrLen says whether b is an absent, IPv4 or IPv6 address.
func tapAddrLen(b []byte) bool { return len(b) == 0 || len(b) == 4 || len(b) == 16 }

func tapAddr(b []byte) netip.Addr {
	switch len(b) {
	case 4:
		return netip.AddrFrom4([4]byte(b))
	case 16:
		return netip.AddrFrom16([16]byte(b)).Unmap()
	}
	return netip.Addr{}
}

// walk calls f for every field of a protobuf message: v holds a varint or
// fixed value, b a length-delimited one. Groups are skipped.
func walk(b []byte, f func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return parseError(n)
		}
		b = b[n:]
		var v uint64
		var val []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v32 uint32
			v32, n = protowire.ConsumeFixed32(b)
			v = uint64(v32)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			val, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return parseError(n)
		}
		b = b[n:]
		if err := f(num, typ, v, val); err != nil {
			return err
		}
	}
	return nil
}

// parseError describes a protobuf that ends early or is malformed inside a
// whole frame: corruption, not a truncated input (no io.ErrUnexpectedEOF).
func parseError(n int) error {
	return fmt.Errorf("dnstap protobuf: %v", protowire.ParseError(n))
}
