package decode

import (
	"encoding/binary"
	"testing"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/internal/linkwrap"
)

// fuzzLinkLayer checks what Packet makes of data as link type lt: a known
// status, a payload inside data, addresses of the IP version decoded.
func fuzzLinkLayer(t *testing.T, lt uint16, data []byte) {
	var fr visor.Frame
	st := Packet(&visor.Packet{TS: 1, Data: data, OrigLen: len(data), LinkType: lt}, &fr)
	if st >= numStatus {
		t.Fatalf("status %d", st)
	}
	_ = st.String()
	checkPayloadInData(t, fr.Payload, data)
	if st == OK && ((fr.IPVersion == 4 && !fr.Src.Is4()) || (fr.IPVersion == 6 && !fr.Src.Is6()) || fr.IPVersion == 0) {
		t.Fatalf("frame %+v", fr)
	}
}

func linkSeeds(f *testing.F, wrap func(ip []byte) [][]byte) {
	q := query("example.com.", 1)
	for _, ip := range [][]byte{ip4(17, udp(53000, 53, q)), ip6(17, udp(53000, 53, q)), ip4(6, cat(tcpHdr(1, 53, 9, 0x18), framed(q)))} {
		for _, b := range wrap(ip) {
			f.Add(b)
		}
	}
}

func FuzzNFLOG(f *testing.F) {
	linkSeeds(f, func(ip []byte) [][]byte {
		return [][]byte{linkwrap.NFLOGRecord(ip, binary.LittleEndian), linkwrap.NFLOGRecord(ip, binary.BigEndian)}
	})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzLinkLayer(t, linkNFLOG, data) })
}

func FuzzPKTAP(f *testing.F) {
	linkSeeds(f, func(ip []byte) [][]byte {
		return [][]byte{linkwrap.PKTAPRecord(1, eth(etherOf(ip), ip)), linkwrap.PKTAPRecord(12, ip), linkwrap.PKTAPRecord(258, ip)}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzLinkLayer(t, linkPKTAP, data)
		fuzzLinkLayer(t, linkPKTAPDarwin, data)
	})
}

func FuzzPPP(f *testing.F) {
	linkSeeds(f, func(ip []byte) [][]byte {
		return [][]byte{linkwrap.PPPFrame(ip), linkwrap.PPPoESession(ip), cat([]byte{0x0f, 0}, be16(etherOf(ip)), ip), cat([]byte{0x21}, ip)}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzLinkLayer(t, linkPPP, data)
		fuzzLinkLayer(t, linkPPPSerial, data)
		fuzzLinkLayer(t, linkPPPEther, data)
		fuzzLinkLayer(t, linkEthernet, eth(etherPPPoE, data))
	})
}

func FuzzARCNET(f *testing.F) {
	linkSeeds(f, func(ip []byte) [][]byte {
		return [][]byte{linkwrap.ARCNETFrame(ip, false), linkwrap.ARCNETFrame(ip, true), linkwrap.ARCNETLinuxFrame(ip),
			cat([]byte{1, 2, 212, 0xff, 0xff, 0xff, 212, 1, 0, 7}, ip)}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzLinkLayer(t, linkARCNET, data)
		fuzzLinkLayer(t, linkARCNETLinux, data)
	})
}
