package dns

import (
	"fmt"

	"github.com/visor-dns/visor/sketch"
)

// fieldTransport is the summary format's DNS field of the queries by
// transport (udp, tcp, dot, doh, doq, dnscrypt), then the DNSCrypt messages.
const fieldTransport = 40

func (s *State) appendTransport(b []byte) []byte {
	v := append(s.transport[:numTransports:numTransports], s.DNSCrypt)
	return sketch.AppendPackedUints(b, fieldTransport, v)
}

func (s *State) parseTransport(val []byte) error {
	v, err := sketch.PackedUints(nil, val, numTransports+1)
	if err != nil {
		return err
	}
	if len(v) != numTransports+1 {
		return fmt.Errorf("%w: %d transport counts", sketch.ErrCorrupt, len(v))
	}
	copy(s.transport[:], v)
	s.DNSCrypt = v[numTransports]
	return nil
}
