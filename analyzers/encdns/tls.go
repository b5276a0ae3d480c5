package encdns

import "encoding/binary"

// TLS record and handshake types.
const (
	tlsHandshake   = 22
	tlsAppData     = 23
	tlsClientHello = 1
	extServerName  = 0
	maxServerName  = 255
)

// ClientHelloSNI reads the TLS record at the start of b. hello says whether
// it starts a ClientHello; sni is its server_name (host_name) extension, or
// nil when the hello has none or b ends before it (a ClientHello longer than
// the segment). sni aliases b. It reads only b, walks each length once and
// allocates nothing: hostile bytes cost at most len(b) steps.
func ClientHelloSNI(b []byte) (sni []byte, hello bool) {
	// record: type, version (2), length (2); handshake: type, length (3)
	if len(b) < 9 || b[0] != tlsHandshake || b[1] != 3 || b[5] != tlsClientHello {
		return nil, false
	}
	if n := int(binary.BigEndian.Uint16(b[3:5])); n+5 < len(b) {
		b = b[:n+5] // the first record only
	}
	if len(b) < 9 {
		return nil, true // a record shorter than a handshake header
	}
	b = b[9:]
	// legacy_version (2), random (32)
	if len(b) < 34 {
		return nil, true
	}
	b = b[34:]
	var ok bool
	if b, ok = skip8(b); !ok { // session_id
		return nil, true
	}
	if b, ok = skip16(b); !ok { // cipher_suites
		return nil, true
	}
	if b, ok = skip8(b); !ok { // compression_methods
		return nil, true
	}
	if len(b) < 2 {
		return nil, true
	}
	ext := b[2:]
	if n := int(binary.BigEndian.Uint16(b)); n < len(ext) {
		ext = ext[:n]
	}
	for len(ext) >= 4 {
		typ, n := binary.BigEndian.Uint16(ext), int(binary.BigEndian.Uint16(ext[2:]))
		ext = ext[4:]
		if n > len(ext) {
			return nil, true
		}
		if typ == extServerName {
			return hostName(ext[:n]), true
		}
		ext = ext[n:]
	}
	return nil, true
}

// hostName returns the first host_name of a server_name extension's body.
func hostName(b []byte) []byte {
	if len(b) < 2 {
		return nil
	}
	list := b[2:]
	if n := int(binary.BigEndian.Uint16(b)); n < len(list) {
		list = list[:n]
	}
	for len(list) >= 3 {
		typ, n := list[0], int(binary.BigEndian.Uint16(list[1:]))
		list = list[3:]
		if n > len(list) {
			return nil
		}
		if typ == 0 && n > 0 && n <= maxServerName {
			return list[:n]
		}
		list = list[n:]
	}
	return nil
}

func skip8(b []byte) ([]byte, bool) {
	if len(b) < 1 || int(b[0]) > len(b)-1 {
		return nil, false
	}
	return b[1+int(b[0]):], true
}

func skip16(b []byte) ([]byte, bool) {
	if len(b) < 2 {
		return nil, false
	}
	n := int(binary.BigEndian.Uint16(b))
	if n > len(b)-2 {
		return nil, false
	}
	return b[2+n:], true
}

// QUIC versions whose Initial packets QUICInitial knows.
const (
	quicV1 = 0x00000001
	quicV2 = 0x6b3343cf
)

// QUICInitial reports whether b (a UDP payload) starts with a QUIC v1 or
// v2 Initial packet: a long header of the Initial type with a connection
// ID of at most 20 bytes.
func QUICInitial(b []byte) bool {
	if len(b) < 7 || b[0]&0xc0 != 0xc0 || b[5] > 20 {
		return false
	}
	typ := b[0] >> 4 & 3
	switch binary.BigEndian.Uint32(b[1:5]) {
	case quicV1:
		return typ == 0
	case quicV2:
		return typ == 1
	}
	return false
}
