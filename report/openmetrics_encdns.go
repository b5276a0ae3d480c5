package report

// encryptedFamilies adds the families of dns.transport and encrypted_dns:
// a series only once its transport is seen.
func (b *builder) encryptedFamilies() {
	b.counter("visor_dns_transport_queries_total", "DNS queries by transport: udp and tcp in clear, dot, doh, doq and dnscrypt from dnstap, or for dot, doh and doq in packets the encrypted-DNS estimate (dns.transport).", []string{"transport"}, func(s *Section, add addFunc) {
		for _, k := range []string{TransportUDP, TransportTCP, TransportDoT, TransportDoH, TransportDoQ, TransportDNSCrypt} {
			if n := s.DNS.Transport[k]; n > 0 {
				add(float64(n), k)
			}
		}
	})
	type field struct {
		name, help string
		get        func(*EncryptedTransport) uint64
	}
	for _, f := range []field{
		{"visor_encrypted_dns_sessions_total", "Encrypted DNS sessions seen in packets (TLS ClientHellos to port 853 or to a DoH service on 443, QUIC connections to UDP 853).", func(e *EncryptedTransport) uint64 { return e.Sessions }},
		{"visor_encrypted_dns_packets_total", "Packets of encrypted DNS sessions.", func(e *EncryptedTransport) uint64 { return e.Packets }},
		{"visor_encrypted_dns_bytes_total", "Bytes of the packets of encrypted DNS sessions, as captured on the wire.", func(e *EncryptedTransport) uint64 { return e.Bytes }},
		{"visor_encrypted_dns_queries_estimated_total", "Queries estimated from the client's TLS records or QUIC packets of encrypted DNS sessions.", func(e *EncryptedTransport) uint64 { return e.QueriesEst }},
	} {
		b.counter(f.name, f.help, []string{"transport"}, func(s *Section, add addFunc) {
			each(&s.Encrypted, func(name string, e *EncryptedTransport) {
				if n := f.get(e); n > 0 {
					add(float64(n), name)
				}
			})
		})
	}
	b.gauge("visor_encrypted_dns_clients_distinct", "Distinct clients of encrypted DNS sessions in the bucket (estimate).", []string{"transport"}, func(s *Section, add addFunc) {
		each(&s.Encrypted, func(name string, e *EncryptedTransport) {
			if e.Sessions > 0 {
				add(float64(e.Cardinality.Clients), name)
			}
		})
	})
	b.top1("visor_encrypted_dns_top_client_sessions", "Encrypted DNS sessions of each of the bucket's top clients (estimate).", "address", func(s *Section) []TopItem { return s.Encrypted.Top.Clients })
	b.top1("visor_encrypted_dns_top_server_sessions", "Encrypted DNS sessions to each of the bucket's top servers (estimate).", "address", func(s *Section) []TopItem { return s.Encrypted.Top.Servers })
}

// each calls fn with every transport of e and its name.
func each(e *EncryptedDNS, fn func(string, *EncryptedTransport)) {
	fn(TransportDoT, &e.DoT)
	fn(TransportDoH, &e.DoH)
	fn(TransportDoQ, &e.DoQ)
}
