package report

// EncryptedDNS is DNS over TLS, HTTPS and QUIC as packets show it: the
// messages are encrypted, so sessions, packets, bytes and clients are
// counted, and queries estimated (docs/encrypted-dns.md says how).
type EncryptedDNS struct {
	DoT EncryptedTransport `json:"dot"`
	DoH EncryptedTransport `json:"doh"`
	DoQ EncryptedTransport `json:"doq"`
	Top EncryptedTop       `json:"top"`
}

// EncryptedTransport is one encrypted DNS transport's traffic.
type EncryptedTransport struct {
	Sessions uint64 `json:"sessions"`
	Packets  uint64 `json:"packets"`
	Bytes    uint64 `json:"bytes"`
	// QueriesEst estimates the queries sent in the sessions; per session,
	// QueriesEst / Sessions.
	QueriesEst  uint64               `json:"queries_est"`
	Cardinality EncryptedCardinality `json:"cardinality"`
}

// EncryptedCardinality estimates distinct clients.
type EncryptedCardinality struct {
	Clients uint64 `json:"clients"`
}

// EncryptedTop lists the clients and servers with the most encrypted DNS
// sessions (all three transports).
type EncryptedTop struct {
	Clients []TopItem `json:"clients"`
	Servers []TopItem `json:"servers"`
}

// Transport names, the keys of DNS.Transport.
const (
	TransportUDP      = "udp"
	TransportTCP      = "tcp"
	TransportDoT      = "dot"
	TransportDoH      = "doh"
	TransportDoQ      = "doq"
	TransportDNSCrypt = "dnscrypt"
)

// normalizedEncrypted gives the encrypted-DNS lists and dns.transport empty
// collections instead of nil ones (JSON writes [] and {}, never null).
func normalizedEncrypted(s *Section) {
	s.DNS.Transport = counts(s.DNS.Transport)
	t := &s.Encrypted.Top
	t.Clients, t.Servers = items(t.Clients), items(t.Servers)
}
