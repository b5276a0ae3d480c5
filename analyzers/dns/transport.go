package dns

import (
	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/report"
)

// transports counts queries by the transport that carried them: UDP and TCP
// in clear, and from dnstap DoT, DoH, DoQ and DNSCrypt (over UDP or TCP).
// The report's dns.transport adds the queries the encrypted-DNS analyzer
// estimates from packets (analyzers/encdns).
type transports [numTransports]uint64

const (
	tUDP = iota
	tTCP
	tDoT
	tDoH
	tDoQ
	tDNSCrypt
	numTransports
)

var transportNames = [numTransports]string{report.TransportUDP, report.TransportTCP, report.TransportDoT,
	report.TransportDoH, report.TransportDoQ, report.TransportDNSCrypt}

func transportIndex(t uint8) int {
	switch t {
	case visor.TransportTCP:
		return tTCP
	case visor.TransportDoT:
		return tDoT
	case visor.TransportDoH:
		return tDoH
	case visor.TransportDoQ:
		return tDoQ
	case visor.TransportDNSCryptUDP, visor.TransportDNSCryptTCP:
		return tDNSCrypt
	}
	return tUDP
}

// countTransport counts a message's transport: in t for a query, and the
// DNSCrypt messages of dnstap in st.
func (st *State) countTransport(m *visor.Message, query bool) {
	switch m.Transport {
	case visor.TransportDNSCryptUDP:
		st.UDP++
		st.DNSCrypt++
	case visor.TransportDNSCryptTCP:
		st.TCP++
		st.DNSCrypt++
	}
	if query {
		st.transport[transportIndex(m.Transport)]++
	}
}

func (t *transports) merge(o *transports) {
	for i, n := range o {
		t[i] += n
	}
}

// report is the queries by transport name, those counted only.
func (t *transports) report() map[string]uint64 {
	m := make(map[string]uint64, 2)
	for i, n := range t {
		if n > 0 {
			m[transportNames[i]] = n
		}
	}
	return m
}
