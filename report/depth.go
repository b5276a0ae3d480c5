package report

// SizeBin is one 16-byte bin of message sizes, [Low, High] bytes (the last
// bin, from 4096, reaches 65535).
type SizeBin struct {
	Low   uint64 `json:"low"`
	High  uint64 `json:"high"`
	Count uint64 `json:"count"`
}

// SizeKinds are the size bins of queries and of responses.
type SizeKinds struct {
	Queries   []SizeBin `json:"queries"`
	Responses []SizeBin `json:"responses"`
}

// SizeIPs are one transport's size bins by IP version.
type SizeIPs struct {
	IPv4 SizeKinds `json:"ipv4"`
	IPv6 SizeKinds `json:"ipv6"`
}

// DNSSizes are the DNS message sizes (the message itself, without the TCP
// length prefix) in RSSAC002's 16-byte bins, and quantiles read off them.
type DNSSizes struct {
	UDP           SizeIPs   `json:"udp"`
	TCP           SizeIPs   `json:"tcp"`
	QueryBytes    Quantiles `json:"query_bytes"`
	ResponseBytes Quantiles `json:"response_bytes"`
}

// EDNSDetail is what OPT records say: the UDP payload sizes queries
// advertise, versions, DNS Cookies, extended rcodes and Extended DNS Errors.
type EDNSDetail struct {
	UDPSizes  map[string]uint64 `json:"udp_sizes"`
	Versions  map[string]uint64 `json:"versions"`
	Cookies   uint64            `json:"cookies"`
	ExtRcodes map[string]uint64 `json:"ext_rcodes"`
	EDE       map[string]uint64 `json:"ede"`
}

// Truncation counts UDP responses with the TC bit and the TCP queries that
// retried them.
type Truncation struct {
	Responses  uint64 `json:"responses"`
	TCPRetries uint64 `json:"tcp_retries"`
	Unchecked  uint64 `json:"unchecked"`
}

// normalizedDepth gives d's depth fields empty collections instead of nil
// ones (WriteJSON writes no null).
func normalizedDepth(d *DNS) {
	d.Opcodes = counts(d.Opcodes)
	for _, ip := range []*SizeIPs{&d.Sizes.UDP, &d.Sizes.TCP} {
		for _, k := range []*SizeKinds{&ip.IPv4, &ip.IPv6} {
			k.Queries, k.Responses = bins(k.Queries), bins(k.Responses)
		}
	}
	d.Sizes.QueryBytes = finiteQuantiles(d.Sizes.QueryBytes)
	d.Sizes.ResponseBytes = finiteQuantiles(d.Sizes.ResponseBytes)
	e := &d.EDNSDetail
	e.UDPSizes, e.Versions, e.ExtRcodes, e.EDE = counts(e.UDPSizes), counts(e.Versions), counts(e.ExtRcodes), counts(e.EDE)
}

func bins(l []SizeBin) []SizeBin {
	if l == nil {
		return []SizeBin{}
	}
	return l
}
