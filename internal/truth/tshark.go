package truth

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Tshark computes the Capture truth of the file at path with tshark.
//
// Counting rules:
//   - packets: frames in the file.
//   - every DNS message tshark dissects counts, several per frame when a TCP
//     segment carries several (tshark's default TCP and IP reassembly is kept;
//     a message is counted once, in the frame that completes it).
//   - DNS quoted inside ICMP/ICMPv6 errors is not counted.
//   - queries: QR=0; responses: QR=1.
//   - rcodes: over responses, by name (header RCODE, 4 bits).
//   - qtypes: over queries, the first question's type, by mnemonic.
//   - nodata: responses with RCODE 0 and ANCOUNT 0 (truncated TC=1 answers
//     with no records count too).
//   - distinct_qnames: distinct question names (every question of every
//     query and response), lowercased, without the trailing dot; the root is ".".
//   - xacts: responses that tshark matched to a query (dns.response_to).
//   - udp/tcp, ipv4/ipv6: DNS messages by transport and outermost IP version.
//
// No tshark -o preference is changed: the defaults (DNS on port 53, TCP
// "allow subdissector to reassemble", IP defragmentation) are what we want.
func Tshark(path string) (*Capture, error) {
	args := []string{"-r", path, "-n", "-T", "fields",
		"-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=/t", "-E", "quote=n"}
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	c, err := fromTool("tshark -r "+path, path, parseTshark, "tshark", args...)
	if err != nil {
		return nil, err
	}
	c.File = filepath.Base(path)
	return c, nil
}

// fromTool runs the program name with args on the file at path and parses
// its standard output. A failed run's error starts with what and carries
// the program's standard error; a parse error names path.
func fromTool[T any](what, path string, parse func(io.Reader) (*T, error), name string, args ...string) (*T, error) {
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", what, err, stderr.String())
	}
	v, err := parse(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// tsharkFields are the columns parseTshark reads, in order.
var tsharkFields = []string{
	"frame.number",
	"frame.protocols",
	"dns.flags.response", // one per message
	"dns.flags.rcode",    // one per response only (tshark omits it for queries)
	"dns.count.queries",  // one per message
	"dns.count.answers",  // one per message
	"dns.qry.name",       // one per question
	"dns.qry.type",       // one per question
	"dns.response_to",    // one per matched response
}

const (
	fNum = iota
	fProtos
	fQR
	fRcode
	fQdcount
	fAncount
	fQname
	fQtype
	fRespTo
)

var rcodeNames = map[int]string{
	0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
	5: "REFUSED", 6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH",
	10: "NOTZONE",
}

var qtypeNames = map[int]string{
	1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX",
	16: "TXT", 17: "RP", 18: "AFSDB", 24: "SIG", 25: "KEY", 28: "AAAA",
	29: "LOC", 33: "SRV", 35: "NAPTR", 36: "KX", 37: "CERT", 39: "DNAME",
	41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP", 45: "IPSECKEY", 46: "RRSIG",
	47: "NSEC", 48: "DNSKEY", 49: "DHCID", 50: "NSEC3", 51: "NSEC3PARAM",
	52: "TLSA", 53: "SMIMEA", 55: "HIP", 59: "CDS", 60: "CDNSKEY",
	61: "OPENPGPKEY", 62: "CSYNC", 63: "ZONEMD", 64: "SVCB", 65: "HTTPS",
	99: "SPF", 108: "EUI48", 109: "EUI64", 249: "TKEY", 250: "TSIG",
	251: "IXFR", 252: "AXFR", 253: "MAILB", 254: "MAILA", 255: "ANY",
	256: "URI", 257: "CAA",
}

func rcodeName(n int) string {
	if s, ok := rcodeNames[n]; ok {
		return s
	}
	return "RCODE" + strconv.Itoa(n)
}

func qtypeName(n int) string {
	if s, ok := qtypeNames[n]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(n)
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "|")
}

// atoi reads an integer field; tshark prints some in hex ("0x0000"),
// depending on the field's display base.
func atoi(s string) (int, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 0, 64)
	return int(v), err
}

func normName(s string) string {
	if s == "<Root>" || s == "." || s == "" {
		return "."
	}
	return strings.TrimSuffix(strings.ToLower(s), ".")
}

// parseTshark counts the lines of `tshark -T fields` with tsharkFields.
func parseTshark(r io.Reader) (*Capture, error) {
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	t := &Capture{DNS: DNS{Rcodes: map[string]uint64{}, Qtypes: map[string]uint64{}}}
	names := map[string]struct{}{}
	for ln, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		col := strings.Split(line, "\t")
		if len(col) != len(tsharkFields) {
			return nil, fmt.Errorf("tshark line %d: %d columns, want %d: %q", ln+1, len(col), len(tsharkFields), line)
		}
		t.Packets++
		qrs := split(col[fQR])
		if len(qrs) == 0 {
			continue
		}
		ipv, transport, inICMP := "", "", false
		for _, p := range strings.Split(col[fProtos], ":") {
			switch p {
			case "ip":
				if ipv == "" {
					ipv = "4"
				}
			case "ipv6":
				if ipv == "" {
					ipv = "6"
				}
			case "udp", "tcp":
				if transport == "" {
					transport = p
				}
			case "icmp", "icmpv6":
				if transport == "" {
					inICMP = true
				}
			}
		}
		if inICMP {
			continue // DNS quoted in an ICMP error: not a message on the wire
		}
		rcodes, qdcounts, ancounts := split(col[fRcode]), split(col[fQdcount]), split(col[fAncount])
		qnames, qtypes := split(col[fQname]), split(col[fQtype])
		if len(qdcounts) != len(qrs) || len(ancounts) != len(qrs) {
			return nil, fmt.Errorf("frame %s: %d messages but %d qdcount / %d ancount values",
				col[fNum], len(qrs), len(qdcounts), len(ancounts))
		}
		if len(qnames) != len(qtypes) {
			return nil, fmt.Errorf("frame %s: %d qnames but %d qtypes", col[fNum], len(qnames), len(qtypes))
		}
		qi, ri := 0, 0 // next question, next rcode
		for m, qr := range qrs {
			t.DNS.Messages++
			switch transport {
			case "udp":
				t.DNS.UDP++
			case "tcp":
				t.DNS.TCP++
			}
			switch ipv {
			case "4":
				t.DNS.IPv4++
			case "6":
				t.DNS.IPv6++
			}
			qd, err := atoi(qdcounts[m])
			if err != nil {
				return nil, fmt.Errorf("frame %s: qdcount %q", col[fNum], qdcounts[m])
			}
			if qi+qd > len(qnames) {
				qd = len(qnames) - qi // tshark stops at a malformed question section; take what is there
			}
			firstType := -1
			for k := 0; k < qd; k++ {
				names[normName(qnames[qi+k])] = struct{}{}
				if k == 0 {
					if firstType, err = atoi(qtypes[qi]); err != nil {
						return nil, fmt.Errorf("frame %s: qtype %q", col[fNum], qtypes[qi])
					}
				}
			}
			qi += qd
			if !(qr == "1" || qr == "True" || qr == "true") {
				t.DNS.Queries++
				if firstType >= 0 {
					t.DNS.Qtypes[qtypeName(firstType)]++
				}
				continue
			}
			t.DNS.Responses++
			if ri >= len(rcodes) {
				return nil, fmt.Errorf("frame %s: response without rcode", col[fNum])
			}
			rc, err := atoi(rcodes[ri])
			if err != nil {
				return nil, fmt.Errorf("frame %s: rcode %q", col[fNum], rcodes[ri])
			}
			ri++
			t.DNS.Rcodes[rcodeName(rc)]++
			an, err := atoi(ancounts[m])
			if err != nil {
				return nil, fmt.Errorf("frame %s: ancount %q", col[fNum], ancounts[m])
			}
			if rc == 0 && an == 0 {
				t.DNS.Nodata++
			}
		}
		if ri != len(rcodes) {
			return nil, fmt.Errorf("frame %s: %d rcodes for %d responses", col[fNum], len(rcodes), ri)
		}
		t.DNS.Xacts.Total += uint64(len(split(col[fRespTo])))
	}
	t.DNS.Cardinality.QName = uint64(len(names))
	return t, nil
}
