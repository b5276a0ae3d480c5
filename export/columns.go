package export

import (
	"strconv"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/analyzers/dns"
)

// Kind is a column's type, the same in every format.
type Kind uint8

// Column kinds.
const (
	KindTime   Kind = iota // Unix ns; Parquet TIMESTAMP(NANOS, UTC), text RFC 3339
	KindInt                // 64-bit integer
	KindBool               // true or false
	KindString             // text; dictionary-encoded in Parquet
)

// Column is one column of the records: its name, kind, and how a record
// gives its value (ok false means null).
type Column struct {
	Name string
	Kind Kind
	Doc  string
	// Required columns have a value in every row (Parquet REQUIRED).
	Required bool
	// Plain string columns are not dictionary-encoded in Parquet (their
	// values seldom repeat).
	Plain bool
	// Num gives the value of time, integer and boolean (0 or 1) columns.
	Num func(r *Record) (v int64, ok bool)
	// Text appends the value of string columns to b (x holds r's strings,
	// inputs name the inputs by index).
	Text func(b []byte, r *Record, x *Batch, inputs []string) ([]byte, bool)
}

// Header flag bits.
const (
	flagAA = 1 << 10
	flagTC = 1 << 9
	flagRD = 1 << 8
	flagRA = 1 << 7
	flagAD = 1 << 5
	flagCD = 1 << 4
)

var transportNames = map[uint8]string{visor.TransportUDP: "udp", visor.TransportTCP: "tcp",
	visor.TransportDoT: "dot", visor.TransportDoH: "doh", visor.TransportDoQ: "doq",
	visor.TransportDNSCryptUDP: "dnscrypt", visor.TransportDNSCryptTCP: "dnscrypt"}

var directionNames = [...]string{visor.DirUnknown: "unknown", visor.DirIn: "in", visor.DirOut: "out"}

// Columns are the records' columns, in order.
var Columns = []Column{
	{Name: "query_time", Kind: KindTime, Doc: "when the query was seen (capture time); a dnstap response's logged query time without it",
		Num: func(r *Record) (int64, bool) { return r.QueryTime, r.QueryTime != 0 }},
	{Name: "response_time", Kind: KindTime, Doc: "when the response was seen",
		Num: func(r *Record) (int64, bool) { return r.ResponseTime, r.HasResponse }},
	{Name: "latency_ns", Kind: KindInt, Doc: "response time minus query time, ns",
		Num: (*Record).Latency},
	{Name: "client", Kind: KindString, Doc: "the querier's address",
		Text: func(b []byte, r *Record, _ *Batch, _ []string) ([]byte, bool) {
			return r.Client.AppendTo(b), r.Client.IsValid()
		}},
	{Name: "client_port", Kind: KindInt, Required: true, Num: func(r *Record) (int64, bool) { return int64(r.ClientPort), true }},
	{Name: "server", Kind: KindString, Doc: "the answerer's address",
		Text: func(b []byte, r *Record, _ *Batch, _ []string) ([]byte, bool) {
			return r.Server.AppendTo(b), r.Server.IsValid()
		}},
	{Name: "server_port", Kind: KindInt, Required: true, Num: func(r *Record) (int64, bool) { return int64(r.ServerPort), true }},
	{Name: "transport", Kind: KindString, Doc: "udp, tcp, or (from dnstap) dot, doh, doq, dnscrypt",
		Text: func(b []byte, r *Record, _ *Batch, _ []string) ([]byte, bool) {
			n, ok := transportNames[r.Transport]
			return append(b, n...), ok
		}},
	{Name: "ip_version", Kind: KindInt, Num: func(r *Record) (int64, bool) { return int64(r.IPVersion), r.IPVersion != 0 }},
	{Name: "id", Kind: KindInt, Required: true, Doc: "DNS message ID", Num: func(r *Record) (int64, bool) { return int64(r.ID), true }},
	{Name: "opcode", Kind: KindInt, Required: true, Num: func(r *Record) (int64, bool) { return int64(r.flags()>>11) & 0xf, true }},
	{Name: "qname", Kind: KindString, Doc: "the question's name, lowercase, without the trailing dot",
		Text: func(b []byte, r *Record, x *Batch, _ []string) ([]byte, bool) {
			return append(b, x.str(r.QName)...), r.HasQuestion
		}},
	{Name: "qname_raw", Kind: KindString, Plain: true, Doc: "the question's name in the case it had on the wire",
		Text: func(b []byte, r *Record, x *Batch, _ []string) ([]byte, bool) {
			return append(b, x.str(r.RawName)...), r.HasQuestion
		}},
	{Name: "zone", Kind: KindString, Doc: "the name's registrable zone (public suffix plus one label)",
		Text: func(b []byte, r *Record, x *Batch, _ []string) ([]byte, bool) {
			return append(b, x.str(r.Zone)...), r.HasQuestion
		}},
	{Name: "qtype", Kind: KindInt, Num: func(r *Record) (int64, bool) { return int64(r.QType), r.HasQuestion }},
	{Name: "qtype_name", Kind: KindString, Doc: "as the report names query types",
		Text: func(b []byte, r *Record, _ *Batch, _ []string) ([]byte, bool) {
			return append(b, dns.QtypeName(r.QType)...), r.HasQuestion
		}},
	{Name: "qclass", Kind: KindInt, Num: func(r *Record) (int64, bool) { return int64(r.QClass), r.HasQuestion }},
	{Name: "rcode", Kind: KindInt, Doc: "the response's code (header bits only)",
		Num: func(r *Record) (int64, bool) { return int64(r.RFlags & 0xf), r.HasResponse }},
	{Name: "rcode_name", Kind: KindString, Doc: "as the report names response codes",
		Text: func(b []byte, r *Record, _ *Batch, _ []string) ([]byte, bool) {
			return append(b, dns.RcodeName(int(r.RFlags&0xf))...), r.HasResponse
		}},
	{Name: "aa", Kind: KindBool, Num: func(r *Record) (int64, bool) { return r.respFlag(flagAA) }},
	{Name: "tc", Kind: KindBool, Num: func(r *Record) (int64, bool) { return r.respFlag(flagTC) }},
	{Name: "rd", Kind: KindBool, Num: func(r *Record) (int64, bool) { return r.queryFlag(flagRD) }},
	{Name: "ra", Kind: KindBool, Num: func(r *Record) (int64, bool) { return r.respFlag(flagRA) }},
	{Name: "ad", Kind: KindBool, Num: func(r *Record) (int64, bool) { return r.respFlag(flagAD) }},
	{Name: "cd", Kind: KindBool, Num: func(r *Record) (int64, bool) { return r.queryFlag(flagCD) }},
	{Name: "an_count", Kind: KindInt, Doc: "the response's answer count",
		Num: func(r *Record) (int64, bool) { return int64(r.ANCount), r.HasResponse }},
	{Name: "ns_count", Kind: KindInt, Num: func(r *Record) (int64, bool) { return int64(r.NSCount), r.HasResponse }},
	{Name: "ar_count", Kind: KindInt, Num: func(r *Record) (int64, bool) { return int64(r.ARCount), r.HasResponse }},
	{Name: "query_size", Kind: KindInt, Doc: "bytes of the query message",
		Num: func(r *Record) (int64, bool) { return int64(r.QuerySize), r.HasQuery }},
	{Name: "response_size", Kind: KindInt, Num: func(r *Record) (int64, bool) { return int64(r.ResponseSize), r.HasResponse }},
	{Name: "edns", Kind: KindBool, Doc: "the query has an OPT record",
		Num: func(r *Record) (int64, bool) { return b2i(r.EDNS), r.HasQuery }},
	{Name: "edns_udp_size", Kind: KindInt, Num: func(r *Record) (int64, bool) { return int64(r.UDPSize), r.HasQuery && r.EDNS }},
	{Name: "edns_version", Kind: KindInt, Num: func(r *Record) (int64, bool) { return int64(r.EDNSVersion), r.HasQuery && r.EDNS }},
	{Name: "edns_do", Kind: KindBool, Num: func(r *Record) (int64, bool) { return b2i(r.DO), r.HasQuery && r.EDNS }},
	{Name: "ecs", Kind: KindString, Doc: "the query's Client Subnet source prefix",
		Text: func(b []byte, r *Record, _ *Batch, _ []string) ([]byte, bool) {
			return r.ECS.AppendTo(b), r.HasQuery && r.ECS.IsValid()
		}},
	{Name: "direction", Kind: KindString, Required: true, Doc: "in, out (relative to --host-spec) or unknown",
		Text: func(b []byte, r *Record, _ *Batch, _ []string) ([]byte, bool) {
			if int(r.Dir) < len(directionNames) {
				return append(b, directionNames[r.Dir]...), true
			}
			return append(b, "unknown"...), true
		}},
	{Name: "input", Kind: KindString, Required: true, Doc: "the input file",
		Text: func(b []byte, r *Record, _ *Batch, inputs []string) ([]byte, bool) {
			if int(r.Input) < len(inputs) {
				return append(b, inputs[r.Input]...), true
			}
			return strconv.AppendInt(b, int64(r.Input), 10), true
		}},
	{Name: "findings", Kind: KindString, Plain: true, Doc: "ids of the findings the row belongs to (export --findings), comma-separated",
		Text: func(b []byte, r *Record, x *Batch, _ []string) ([]byte, bool) {
			return appendFindings(b, r.FindingBits, x.FindingIDs), x.FindingIDs != nil
		}},
	{Name: "query_packet", Kind: KindInt, Doc: "packet number of the query within its input (1-based; the last packet of a reassembled message)",
		Num: func(r *Record) (int64, bool) { return int64(r.QueryPacket), r.HasQuery }},
	{Name: "response_packet", Kind: KindInt, Num: func(r *Record) (int64, bool) { return int64(r.ResponsePacket), r.HasResponse }},
}

// flags is the header of the message the row's opcode comes from.
func (r *Record) flags() uint16 {
	if r.HasQuery {
		return r.QFlags
	}
	return r.RFlags
}
