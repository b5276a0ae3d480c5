package report

import "strconv"

// depthFamilies adds the opcode, size, EDNS and truncation families.
func (b *builder) depthFamilies() {
	b.counter("visor_dns_opcode_queries_total", "DNS queries by opcode.", []string{"opcode"}, func(s *Section, add addFunc) {
		for _, k := range countKeys(s.DNS.Opcodes) {
			add(float64(s.DNS.Opcodes[k]), k)
		}
	})
	b.counter("visor_dns_size_messages_total", "DNS messages by transport, IP version, kind (qr: query, response) and 16-byte size bin (RSSAC002's; the last, 4096-65535, holds every larger message).",
		[]string{"transport", "ip_version", "qr", "bin"}, func(s *Section, add addFunc) {
			z := &s.DNS.Sizes
			for _, t := range []struct {
				ips *SizeIPs
				tr  string
			}{{&z.UDP, "udp"}, {&z.TCP, "tcp"}} {
				for _, ip := range []struct {
					k *SizeKinds
					v string
				}{{&t.ips.IPv4, "4"}, {&t.ips.IPv6, "6"}} {
					for _, l := range []struct {
						bins []SizeBin
						qr   string
					}{{ip.k.Queries, "query"}, {ip.k.Responses, "response"}} {
						for _, bin := range l.bins {
							add(float64(bin.Count), t.tr, ip.v, l.qr, strconv.FormatUint(bin.Low, 10)+"-"+strconv.FormatUint(bin.High, 10))
						}
					}
				}
			}
		})
	b.gauge("visor_dns_size_bytes", "DNS message size in the bucket: quantiles by kind (the upper end of the 16-byte bin that holds each; only kinds with messages).", []string{"qr", "quantile"}, func(s *Section, add addFunc) {
		if s.DNS.Queries > 0 {
			sizeQuantiles(add, "query", s.DNS.Sizes.QueryBytes)
		}
		if s.DNS.Responses > 0 {
			sizeQuantiles(add, "response", s.DNS.Sizes.ResponseBytes)
		}
	})
	e := func(s *Section) *EDNSDetail { return &s.DNS.EDNSDetail }
	b.counter("visor_dns_edns_udp_size_queries_total", "DNS queries by the EDNS UDP payload size they advertise (16 sizes a bucket, the rest as other).", []string{"size"}, func(s *Section, add addFunc) {
		for _, k := range countKeys(e(s).UDPSizes) {
			add(float64(e(s).UDPSizes[k]), k)
		}
	})
	b.counter("visor_dns_edns_version_messages_total", "DNS messages with an OPT record by EDNS version (0, 1, 2, other).", []string{"version"}, func(s *Section, add addFunc) {
		for _, k := range countKeys(e(s).Versions) {
			add(float64(e(s).Versions[k]), k)
		}
	})
	b.counter("visor_dns_cookie_messages_total", "DNS messages with an EDNS Cookie option.", nil, func(s *Section, add addFunc) {
		add(float64(e(s).Cookies))
	})
	b.counter("visor_dns_ext_rcode_responses_total", "DNS responses by extended (12-bit) rcode of 16 and above: BADVERS, BADCOOKIE, ...", []string{"rcode"}, func(s *Section, add addFunc) {
		for _, k := range countKeys(e(s).ExtRcodes) {
			add(float64(e(s).ExtRcodes[k]), k)
		}
	})
	b.counter("visor_dns_ede_total", "Extended DNS Error options (RFC 8914) in responses, by INFO-CODE name.", []string{"ede"}, func(s *Section, add addFunc) {
		for _, k := range countKeys(e(s).EDE) {
			add(float64(e(s).EDE[k]), k)
		}
	})
	b.counter("visor_dns_tc_responses_total", "UDP DNS responses with the TC bit.", nil, func(s *Section, add addFunc) {
		add(float64(s.DNS.Truncation.Responses))
	})
	b.counter("visor_dns_tc_tcp_retries_total", "TCP queries that retry a truncated UDP response (same client, server, name and type, within --xact-timeout).", nil, func(s *Section, add addFunc) {
		add(float64(s.DNS.Truncation.TCPRetries))
	})
}

func sizeQuantiles(add addFunc, qr string, q Quantiles) {
	add(q.P50, qr, "0.5")
	add(q.P90, qr, "0.9")
	add(q.P95, qr, "0.95")
	add(q.P99, qr, "0.99")
}
