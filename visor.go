// Package visor holds the contracts every part of the tool shares: the
// packet a source yields, the frame the decoder fills, and the DNS message
// view the analyzers observe. It imports nothing of visor's own.
//
// The data flow is source (capture) -> decode -> analyze (analyzers) ->
// report. Byte slices in these values are owned by whoever filled them and
// are valid only until the next call that fills the same value.
package visor

import (
	"encoding/binary"
	"net/netip"
)

// Packet is one captured packet as a Source yields it.
type Packet struct {
	TS       int64  // capture time, Unix nanoseconds
	Data     []byte // captured bytes; owned by the source until its next Next call
	OrigLen  int    // length on the wire
	LinkType uint16 // pcap LINKTYPE_* value
	Input    int    // index of the input the packet came from
	Number   uint64 // 1-based packet number within its input
	// Tap is set, with LinkType LinkDNSTap, when the packet is a dnstap
	// message rather than captured bytes; Data is then unused.
	Tap *TapMessage
}

// LinkDNSTap is the LinkType of packets that carry a dnstap message. It is
// not a pcap link type.
const LinkDNSTap uint16 = 0xfffe

// TapMessage is one dnstap message: a DNS message logged by a server, with
// the addresses and times the server recorded. Message is owned by the
// source until its next Next call.
type TapMessage struct {
	Type         string    // dnstap message type, e.g. CLIENT_QUERY
	Response     bool      // a *_RESPONSE type
	Dir          Direction // In when the logging server answered, Out when it asked
	IPVersion    uint8     // 4, 6 or 0 when unknown
	Transport    uint8     // TransportUDP, TransportTCP, TransportDoT, TransportDoH, TransportDoQ
	QueryAddr    netip.Addr
	ResponseAddr netip.Addr
	QueryPort    uint16
	ResponsePort uint16
	QueryTime    int64 // Unix ns, 0 when absent
	ResponseTime int64 // Unix ns, 0 when absent
	Message      []byte
}

// Source yields packets in file order.
type Source interface {
	// Next fills p with the next packet. It returns io.EOF at the end, or an
	// error that names the input and the byte offset or packet number.
	Next(p *Packet) error
	// Info describes the input; its counters are final after io.EOF.
	Info() *InputInfo
	Close() error
}

// InputInfo describes one input as the report lists it.
type InputInfo struct {
	Path      string
	Format    string // pcap, pcap-ns, pcapng, dnstap; with +gzip or +zstd
	SHA256    string // of the bytes as read (compressed form), set at EOF
	Packets   uint64
	Bytes     uint64 // sum of captured lengths
	FirstTS   int64
	LastTS    int64
	LinkTypes map[string]uint64
	Identity  string // dnstap identity, if any
	Version   string // dnstap version, if any
	// Skipped counts records the source skipped and read past, by
	// integrity reason (e.g. a malformed dnstap frame); final after io.EOF.
	Skipped map[string]uint64
}

// Transport numbers, as IP protocol numbers where one exists.
const (
	TransportUDP uint8 = 17
	TransportTCP uint8 = 6
	// Encrypted transports, known only from dnstap.
	TransportDoT uint8 = 200
	TransportDoH uint8 = 201
	TransportDoQ uint8 = 202
	// DNSCrypt over UDP and over TCP, known only from dnstap.
	TransportDNSCryptUDP uint8 = 203
	TransportDNSCryptTCP uint8 = 204
)

// Frame is a decoded packet: the network and transport facts the net
// analyzer counts. The decoder owns Payload until its next Decode call.
type Frame struct {
	// (Fields are ordered so that the struct has no padding between them:
	// the pipeline copies every frame once.)
	TS         int64
	WireLen    int
	FragOffset int        // byte offset of this piece in the datagram
	Src, Dst   netip.Addr // IP addresses; an ARP packet's sender and target while --bpf looks at it
	Payload    []byte     // transport payload (UDP/TCP), possibly snaplen-truncated
	TCPSeq     uint32
	FragID     uint32 // IP identification of the datagram
	SrcPort    uint16
	DstPort    uint16
	IPVersion  uint8 // 4, 6, or 0 when the packet carries no IP
	Proto      uint8 // IP protocol of the transport header (after IPv6 extensions)
	TCPFlags   uint8
	Fragment   bool // this packet is a piece of a fragmented IP datagram
	FragMore   bool // more pieces follow
	Truncated  bool // the capture cut the packet short of its headers' lengths
}

// Message is one DNS message found in the traffic, with its transport
// context. Data is the wire-format message, owned by the caller of Observe.
type Message struct {
	TS        int64
	IPVersion uint8
	Transport uint8 // TransportUDP or TransportTCP
	Src, Dst  netip.Addr
	SrcPort   uint16
	DstPort   uint16
	WireLen   int // bytes of the message on the wire (UDP payload or TCP frame)
	Data      []byte
	// QueryTime is, for a dnstap response that carries it, when the server
	// saw the query (Unix ns): the latency is then known without pairing.
	QueryTime int64
}

// Direction says which way a packet or transaction went relative to the
// observed host(s) of --host-spec.
type Direction uint8

// Directions, as pktvisor names them.
const (
	DirUnknown Direction = iota
	DirIn                // towards the observed host
	DirOut               // from the observed host
)

// AddrKey writes a's raw bytes (4 or 16) into buf and returns them: the
// compact key visor's sketches count addresses by.
func AddrKey(a netip.Addr, buf *[16]byte) []byte {
	if a.Is4() {
		b4 := a.As4()
		copy(buf[:4], b4[:])
		return buf[:4]
	}
	*buf = a.As16()
	return buf[:]
}

// AddrWords returns a's 128 bits as two words, cheaply for IPv4 (for
// which netip's As16 is several times slower): an IPv4 address is its
// IPv4-mapped IPv6 form, so a and a.Unmap() give the same words. For hashing.
func AddrWords(a netip.Addr) (hi, lo uint64) {
	if a.Is4() {
		b := a.As4()
		return 0, 0xffff<<32 | uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// AddrName turns a key made by AddrKey back into the address's text.
func AddrName(k string) string {
	switch len(k) {
	case 4:
		return netip.AddrFrom4([4]byte([]byte(k))).String()
	case 16:
		return netip.AddrFrom16([16]byte([]byte(k))).String()
	}
	return k
}
