package dns

import (
	"net/netip"
	"slices"
	"strconv"

	mdns "github.com/miekg/dns"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/decode"
	"github.com/visor-dns/visor/report"
)

// Size bins, as RSSAC002 draws them: 16 bytes wide from 0. The report's
// bins stop at 4096 bytes; the last one holds every larger message
// (RSSAC002's own files, from rssac.go, keep 16-byte bins to 65535).
const (
	sizeShift = 4
	sizeBins  = 4096>>sizeShift + 1
)

// Bounds of the fixed tables; what falls outside is counted as other.
const (
	ednsSizeSlots = 16 // distinct EDNS UDP sizes kept per state
	ednsVersions  = 4  // versions 0..2, then other
	extRcodeLow   = 16 // the first rcode only an OPT record can carry
	extRcodes     = 16 // rcodes 16..30, then other
	edeCodes      = 32 // INFO-CODEs 0..30, then other
	maxTCEvents   = 1 << 16
)

// depth holds the opcode, size, EDNS and truncation counters of a State:
// fixed arrays, no maps, nothing allocated per message.
type depth struct {
	opcodes [16]uint64 // queries by opcode
	// sizes counts messages by transport (0 UDP, 1 TCP), IP version (0 v4,
	// 1 v6), kind (0 query, 1 response) and 16-byte size bin.
	sizes        [2][2][2][sizeBins]uint64
	sized        uint64 // messages in sizes: 0 lets Merge skip them
	ednsSizes    [ednsSizeSlots]ednsSize
	ednsSizeN    int    // slots used
	ednsSizeMore uint64 // queries whose size found no slot
	versions     [ednsVersions]uint64
	extRcodes    [extRcodes]uint64 // responses by 12-bit rcode from 16 up
	ede          [edeCodes]uint64  // Extended DNS Error options by INFO-CODE
	cookies      uint64            // messages with a DNS Cookie option
	tcResponses  uint64            // UDP responses with the TC bit
	tcRetries    uint64            // TCP queries that follow one (settled per bucket)
	tcUnchecked  uint64            // TC responses or TCP queries over the lists' bound
	// The truncated UDP responses and the TCP queries of the bucket, matched
	// when it closes (SettleRetries): the two halves of a retry take
	// different flows, so they may be on different shards.
	tcEv, tcpQ []tcEvent
}

// ednsSize is one advertised EDNS UDP payload size and its queries.
type ednsSize struct {
	size uint16
	n    uint64
}

// tcEvent is a truncated response or a TCP query, by client, server,
// question name and type (not ports: a retry comes from a new port).
type tcEvent struct {
	key uint64
	ts  int64
}

// observeDepth counts v (parsed from m) into d.
func (d *depth) observeDepth(m *visor.Message, v *decode.DNS, qh uint64) {
	tr := 0
	switch m.Transport {
	case visor.TransportTCP, visor.TransportDoT, visor.TransportDoH:
		tr = 1
	}
	ip := 0
	if m.IPVersion == 6 {
		ip = 1
	}
	kind := 0
	if v.Response() {
		kind = 1
	}
	bin := m.WireLen >> sizeShift
	if bin >= sizeBins {
		bin = sizeBins - 1
	}
	d.sizes[tr][ip][kind][bin]++
	d.sized++
	if kind == 0 {
		d.opcodes[v.Opcode()]++
		if tr == 1 && v.HasQuestion {
			d.addEvent(&d.tcpQ, tcKey(m.Src, m.Dst, v.QType, qh), m.TS)
		}
	} else if tr == 0 && v.TC() {
		d.tcResponses++
		if v.HasQuestion {
			d.addEvent(&d.tcEv, tcKey(m.Dst, m.Src, v.QType, qh), m.TS)
		}
	}
	if !v.EDNS {
		return
	}
	d.versions[min(int(v.EDNSVersion), ednsVersions-1)]++
	if v.Cookie {
		d.cookies++
	}
	if kind == 0 {
		d.addEDNSSize(v.UDPSize, 1)
		return
	}
	if rc := v.FullRcode(); rc >= extRcodeLow {
		d.extRcodes[min(int(rc-extRcodeLow), extRcodes-1)]++
	}
	for _, c := range v.EDE[:v.EDEs] {
		d.ede[min(int(c), edeCodes-1)]++
	}
}

func (d *depth) addEvent(l *[]tcEvent, key uint64, ts int64) {
	if len(*l) >= maxTCEvents {
		d.tcUnchecked++
		return
	}
	*l = append(*l, tcEvent{key, ts})
}

// tcKey hashes a client, server, query type and name hash.
func tcKey(client, server netip.Addr, qtype uint16, qh uint64) uint64 {
	ch, cl := visor.AddrWords(client)
	sh, sl := visor.AddrWords(server)
	h := mix(ch^0x9e3779b97f4a7c15, cl^0xbf58476d1ce4e5b9)
	h = mix(h^sh, sl^0x94d049bb133111eb)
	return mix(h^uint64(qtype), qh|1)
}

func (d *depth) addEDNSSize(size uint16, n uint64) {
	for i := range d.ednsSizes[:d.ednsSizeN] {
		if d.ednsSizes[i].size == size {
			d.ednsSizes[i].n += n
			return
		}
	}
	if d.ednsSizeN == ednsSizeSlots {
		d.ednsSizeMore += n
		return
	}
	d.ednsSizes[d.ednsSizeN] = ednsSize{size, n}
	d.ednsSizeN++
}

func (d *depth) merge(o *depth) {
	for i, n := range o.opcodes {
		d.opcodes[i] += n
	}
	if o.sized > 0 {
		d.sized += o.sized
		for t := range d.sizes {
			for i := range d.sizes[t] {
				for k := range d.sizes[t][i] {
					a, b := &d.sizes[t][i][k], &o.sizes[t][i][k]
					for j, n := range b {
						a[j] += n
					}
				}
			}
		}
	}
	for _, e := range o.ednsSizes[:o.ednsSizeN] {
		d.addEDNSSize(e.size, e.n)
	}
	d.ednsSizeMore += o.ednsSizeMore
	for i, n := range o.versions {
		d.versions[i] += n
	}
	for i, n := range o.extRcodes {
		d.extRcodes[i] += n
	}
	for i, n := range o.ede {
		d.ede[i] += n
	}
	d.cookies += o.cookies
	d.tcResponses += o.tcResponses
	d.tcRetries += o.tcRetries
	d.tcUnchecked += o.tcUnchecked
	for _, e := range o.tcEv {
		d.addEvent(&d.tcEv, e.key, e.ts)
	}
	for _, e := range o.tcpQ {
		d.addEvent(&d.tcpQ, e.key, e.ts)
	}
}

// reset empties d, keeping its lists' memory.
func (d *depth) reset() {
	ev, q := d.tcEv[:0], d.tcpQ[:0]
	*d = depth{tcEv: ev, tcpQ: q}
}

// RetryCarry holds the truncated responses of closed buckets that a TCP
// query of a later bucket may still retry.
type RetryCarry struct {
	ev []tcEvent
}

// SettleRetries counts, in a bucket's merged state ending at end, the TCP
// queries that retry a truncated UDP response of the same client, server,
// name and type at most timeout (capture time) earlier, in this bucket or
// one before it (c). Each response is retried at most once. The bucket's
// lists are emptied; c keeps the responses that may still be retried.
func (s *State) SettleRetries(c *RetryCarry, end, timeout int64) {
	d := &s.depth
	if len(d.tcEv) == 0 && len(c.ev) == 0 {
		d.tcpQ = d.tcpQ[:0]
		return
	}
	cand := append(c.ev, d.tcEv...)
	slices.SortStableFunc(cand, func(a, b tcEvent) int { return cmpInt64(a.ts, b.ts) })
	q := d.tcpQ
	slices.SortStableFunc(q, func(a, b tcEvent) int { return cmpInt64(a.ts, b.ts) })
	used := make([]bool, len(cand))
	byKey := map[uint64][]int{}
	for i, e := range cand {
		byKey[e.key] = append(byKey[e.key], i)
	}
	for _, e := range q {
		for _, i := range byKey[e.key] {
			if used[i] || cand[i].ts > e.ts {
				continue
			}
			if e.ts-cand[i].ts <= timeout {
				used[i] = true
				d.tcRetries++
				break
			}
		}
	}
	c.ev = c.ev[:0]
	for i, e := range cand {
		if !used[i] && end-e.ts <= timeout {
			c.ev = append(c.ev, e)
		}
	}
	d.tcEv, d.tcpQ = d.tcEv[:0], d.tcpQ[:0]
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// opcodeNames names the opcodes IANA has assigned.
var opcodeNames = [16]string{0: "QUERY", 1: "IQUERY", 2: "STATUS", 4: "NOTIFY", 5: "UPDATE", 6: "DSO"}

// OpcodeName names an opcode as the report's opcodes keys do.
func OpcodeName(op int) string {
	if op >= 0 && op < len(opcodeNames) && opcodeNames[op] != "" {
		return opcodeNames[op]
	}
	return "OPCODE" + strconv.Itoa(op)
}

// extRcodeName names a 12-bit rcode of an OPT record; 16 is BADVERS there
// (BADSIG only in a TSIG record).
func extRcodeName(rc int) string {
	if rc == 16 {
		return "BADVERS"
	}
	return RcodeName(rc)
}

// EDEName names an Extended DNS Error INFO-CODE (RFC 8914, IANA).
func EDEName(code int) string {
	if n, ok := mdns.ExtendedErrorCodeToString[uint16(code)]; ok {
		return n
	}
	return "EDE" + strconv.Itoa(code)
}

// reportDepth renders d into r.
func (d *depth) reportDepth(r *report.DNS) {
	r.Opcodes = map[string]uint64{}
	for op, n := range d.opcodes {
		if n > 0 {
			r.Opcodes[OpcodeName(op)] = n
		}
	}
	var all [2][sizeBins]uint64 // by kind, for the quantiles
	bins := func(t, i, k int) []report.SizeBin {
		out := []report.SizeBin{}
		for j, n := range d.sizes[t][i][k] {
			if n == 0 {
				continue
			}
			all[k][j] += n
			hi := (j+1)<<sizeShift - 1
			if j == sizeBins-1 {
				hi = 65535
			}
			out = append(out, report.SizeBin{Low: uint64(j << sizeShift), High: uint64(hi), Count: n})
		}
		return out
	}
	ipv := func(t, i int) report.SizeKinds {
		return report.SizeKinds{Queries: bins(t, i, 0), Responses: bins(t, i, 1)}
	}
	r.Sizes = report.DNSSizes{
		UDP: report.SizeIPs{IPv4: ipv(0, 0), IPv6: ipv(0, 1)},
		TCP: report.SizeIPs{IPv4: ipv(1, 0), IPv6: ipv(1, 1)},
	}
	r.Sizes.QueryBytes = binQuantiles(&all[0])
	r.Sizes.ResponseBytes = binQuantiles(&all[1])
	e := report.EDNSDetail{UDPSizes: map[string]uint64{}, Versions: map[string]uint64{},
		ExtRcodes: map[string]uint64{}, EDE: map[string]uint64{}, Cookies: d.cookies}
	for _, s := range d.ednsSizes[:d.ednsSizeN] {
		e.UDPSizes[strconv.Itoa(int(s.size))] += s.n
	}
	if d.ednsSizeMore > 0 {
		e.UDPSizes["other"] = d.ednsSizeMore
	}
	for v, n := range d.versions {
		if n == 0 {
			continue
		}
		k := strconv.Itoa(v)
		if v == ednsVersions-1 {
			k = "other"
		}
		e.Versions[k] = n
	}
	for i, n := range d.extRcodes {
		if n == 0 {
			continue
		}
		k := extRcodeName(i + extRcodeLow)
		if i == extRcodes-1 {
			k = "other"
		}
		e.ExtRcodes[k] = n
	}
	for c, n := range d.ede {
		if n == 0 {
			continue
		}
		k := EDEName(c)
		if c == edeCodes-1 {
			k = "other"
		}
		e.EDE[k] = n
	}
	r.EDNSDetail = e
	r.Truncation = report.Truncation{Responses: d.tcResponses, TCPRetries: d.tcRetries, Unchecked: d.tcUnchecked}
}

// binQuantiles reads quantiles off 16-byte bins: each is the upper end of
// the bin that holds it (65535 for the last, open one).
func binQuantiles(b *[sizeBins]uint64) report.Quantiles {
	var total uint64
	for _, n := range b {
		total += n
	}
	if total == 0 {
		return report.Quantiles{}
	}
	at := func(p float64) float64 {
		rank := uint64(p*float64(total-1)) + 1
		var seen uint64
		for j, n := range b {
			seen += n
			if seen >= rank {
				if j == sizeBins-1 {
					return 65535
				}
				return float64((j+1)<<sizeShift - 1)
			}
		}
		return 65535
	}
	return report.Quantiles{P50: at(0.5), P90: at(0.9), P95: at(0.95), P99: at(0.99)}
}
