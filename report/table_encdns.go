package report

import "strconv"

// encrypted renders the queries by transport and the encrypted-DNS
// sessions, when the run saw anything but DNS in clear over UDP and TCP.
func (t *tableWriter) encrypted(s *Section) {
	d, e := &s.DNS, &s.Encrypted
	clear := true
	for k, n := range d.Transport {
		if n > 0 && k != TransportUDP && k != TransportTCP {
			clear = false
		}
	}
	if clear && e.DoT.Sessions+e.DoH.Sessions+e.DoQ.Sessions+e.DoT.Packets+e.DoQ.Packets == 0 {
		return
	}
	var total uint64
	for _, n := range d.Transport {
		total += n
	}
	left := t.countList("TRANSPORT", "of queries", countItems(d.Transport), total)
	rows := [][]string{}
	each(e, func(name string, x *EncryptedTransport) {
		if x.Sessions+x.Packets == 0 {
			return
		}
		perSession := "-"
		if x.Sessions > 0 {
			perSession = strconv.FormatFloat(float64(x.QueriesEst)/float64(x.Sessions), 'f', 1, 64)
		}
		rows = append(rows, []string{name, count(x.Sessions), count(x.QueriesEst), perSession,
			count(x.Cardinality.Clients), bytesIEC(x.Bytes)})
	})
	if len(rows) == 0 {
		rows = append(rows, []string{"-", "", "", "", "", ""})
	}
	right := t.grid([]string{"ENCRYPTED", "SESSIONS", "QUERIES" + t.sym.approx, "PER SESSION", "CLIENTS", "BYTES"},
		[]bool{false, true, true, true, true, true}, rows, -1)
	t.side(left, right)
	t.pair("TOP ENCRYPTED CLIENTS", e.Top.Clients, "TOP ENCRYPTED SERVERS", e.Top.Servers)
}
