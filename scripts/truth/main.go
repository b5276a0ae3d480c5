// Command truth computes reference ("ground truth") DNS counts for a capture
// file with tshark, so that visor's own parser can be checked against an
// independent implementation.
//
//	go run ./scripts/truth FILE...
//
// For each FILE it writes FILE.truth.json beside it:
//
//	{"file":"lab-eth.pcap","packets":N,"dns":{"messages":N,"queries":N,
//	 "responses":N,"udp":N,"tcp":N,"ipv4":N,"ipv6":N,"nodata":N,
//	 "rcodes":{"NOERROR":N,...},"qtypes":{"A":N,...},
//	 "distinct_qnames":N,"xacts":N}}
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
//     query and response), lowercased, without the trailing dot; the root is
//     ".".
//   - xacts: responses that tshark matched to a query (dns.response_to).
//   - udp/tcp, ipv4/ipv6: DNS messages by transport and outermost IP version.
//
// No tshark -o preference is changed: the defaults (DNS on port 53, TCP
// "allow subdissector to reassemble", IP defragmentation) are what we want.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

type dnsTruth struct {
	Messages       int            `json:"messages"`
	Queries        int            `json:"queries"`
	Responses      int            `json:"responses"`
	UDP            int            `json:"udp"`
	TCP            int            `json:"tcp"`
	IPv4           int            `json:"ipv4"`
	IPv6           int            `json:"ipv6"`
	NoData         int            `json:"nodata"`
	Rcodes         map[string]int `json:"rcodes"`
	Qtypes         map[string]int `json:"qtypes"`
	DistinctQnames int            `json:"distinct_qnames"`
	Xacts          int            `json:"xacts"`
}

type truth struct {
	File    string   `json:"file"`
	Packets int      `json:"packets"`
	DNS     dnsTruth `json:"dns"`
}

// Field order of the tshark command below.
var fields = []string{
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

func atoi(s string) (int, error) {
	// tshark prints some integer fields in hex ("0x0000") depending on the
	// field's display base.
	v, err := strconv.ParseInt(strings.TrimSpace(s), 0, 64)
	return int(v), err
}

func normName(s string) string {
	if s == "<Root>" || s == "." || s == "" {
		return "."
	}
	return strings.TrimSuffix(strings.ToLower(s), ".")
}

func compute(path string) (*truth, error) {
	args := []string{"-r", path, "-n", "-T", "fields",
		"-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=/t", "-E", "quote=n"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	cmd := exec.Command("tshark", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tshark %s: %v: %s", path, err, stderr.String())
	}

	t := &truth{File: filepath.Base(path)}
	t.DNS.Rcodes = map[string]int{}
	t.DNS.Qtypes = map[string]int{}
	names := map[string]struct{}{}

	for ln, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		col := strings.Split(line, "\t")
		if len(col) != len(fields) {
			return nil, fmt.Errorf("%s: tshark line %d: %d columns, want %d: %q", path, ln+1, len(col), len(fields), line)
		}
		t.Packets++
		qrs := split(col[fQR])
		if len(qrs) == 0 {
			continue
		}
		protos := strings.Split(col[fProtos], ":")
		ipv, transport, inICMP := "", "", false
		for _, p := range protos {
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
		rcodes := split(col[fRcode])
		qdcounts := split(col[fQdcount])
		ancounts := split(col[fAncount])
		qnames := split(col[fQname])
		qtypes := split(col[fQtype])
		if len(qdcounts) != len(qrs) || len(ancounts) != len(qrs) {
			return nil, fmt.Errorf("%s: frame %s: %d messages but %d qdcount / %d ancount values",
				path, col[fNum], len(qrs), len(qdcounts), len(ancounts))
		}
		if len(qnames) != len(qtypes) {
			return nil, fmt.Errorf("%s: frame %s: %d qnames but %d qtypes", path, col[fNum], len(qnames), len(qtypes))
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
				return nil, fmt.Errorf("%s: frame %s: qdcount %q", path, col[fNum], qdcounts[m])
			}
			if qi+qd > len(qnames) {
				// tshark stops at a malformed question section; take what is there
				qd = len(qnames) - qi
			}
			firstType := -1
			for k := 0; k < qd; k++ {
				names[normName(qnames[qi+k])] = struct{}{}
				if k == 0 {
					if firstType, err = atoi(qtypes[qi]); err != nil {
						return nil, fmt.Errorf("%s: frame %s: qtype %q", path, col[fNum], qtypes[qi])
					}
				}
			}
			qi += qd
			isResp := qr == "1" || qr == "True" || qr == "true"
			if !isResp {
				t.DNS.Queries++
				if firstType >= 0 {
					t.DNS.Qtypes[qtypeName(firstType)]++
				}
				continue
			}
			t.DNS.Responses++
			if ri >= len(rcodes) {
				return nil, fmt.Errorf("%s: frame %s: response without rcode", path, col[fNum])
			}
			rc, err := atoi(rcodes[ri])
			ri++
			if err != nil {
				return nil, fmt.Errorf("%s: frame %s: rcode %q", path, col[fNum], rcodes[ri-1])
			}
			t.DNS.Rcodes[rcodeName(rc)]++
			an, err := atoi(ancounts[m])
			if err != nil {
				return nil, fmt.Errorf("%s: frame %s: ancount %q", path, col[fNum], ancounts[m])
			}
			if rc == 0 && an == 0 {
				t.DNS.NoData++
			}
		}
		if ri != len(rcodes) {
			return nil, fmt.Errorf("%s: frame %s: %d rcodes for %d responses", path, col[fNum], len(rcodes), ri)
		}
		t.DNS.Xacts += len(split(col[fRespTo]))
	}
	t.DNS.DistinctQnames = len(names)
	return t, nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/truth FILE...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		t, err := compute(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "truth:", err)
			os.Exit(1)
		}
		b, err := json.MarshalIndent(t, "", "  ")
		if err != nil {
			fmt.Fprintln(os.Stderr, "truth:", err)
			os.Exit(1)
		}
		b = append(b, '\n')
		if err := os.WriteFile(path+".truth.json", b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "truth:", err)
			os.Exit(1)
		}
		fmt.Printf("%s: %d packets, %d DNS messages (%d queries, %d responses, %d xacts)\n",
			path+".truth.json", t.Packets, t.DNS.Messages, t.DNS.Queries, t.DNS.Responses, t.DNS.Xacts)
	}
}
