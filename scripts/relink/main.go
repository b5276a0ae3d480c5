// Command relink rewrites an Ethernet pcap into another link type visor
// reads (package internal/linkwrap): the testdata captures link-*.pcap are
// testdata/unbound-client.pcap written this way, their truth by
// scripts/truth (tshark).
//
//	go run ./scripts/relink nflog|nflog-be|pktap|pktap149|arcnet|arcnet-linux|ppp|pppoe IN.pcap OUT.pcap
package main

import (
	"encoding/binary"
	"fmt"
	"os"

	"github.com/visor-dns/visor/internal/fuzzcap"
	"github.com/visor-dns/visor/internal/linkwrap"
)

var kinds = map[string]struct {
	link uint32
	bo   binary.AppendByteOrder
}{
	"nflog":        {linkwrap.NFLOG, binary.LittleEndian},
	"nflog-be":     {linkwrap.NFLOG, binary.BigEndian},
	"pktap":        {linkwrap.PKTAP, nil},
	"pktap149":     {linkwrap.PKTAPDarwin, nil},
	"arcnet":       {linkwrap.ARCNET, nil},
	"arcnet-linux": {linkwrap.ARCNETLinux, nil},
	"ppp":          {linkwrap.PPP, nil},
	"pppoe":        {linkwrap.EthernetPPPoE, nil},
}

func main() {
	k, ok := kinds[argOr(1)]
	if len(os.Args) != 4 || !ok {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/relink nflog|nflog-be|pktap|pktap149|arcnet|arcnet-linux|ppp|pppoe IN.pcap OUT.pcap")
		os.Exit(2)
	}
	if err := relink(k.link, k.bo, os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "relink:", err)
		os.Exit(1)
	}
}

func argOr(i int) string {
	if len(os.Args) > i {
		return os.Args[i]
	}
	return ""
}

func relink(link uint32, bo binary.AppendByteOrder, in, out string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	c, err := fuzzcap.ReadPcap(b)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	r, err := linkwrap.Relink(c, link, bo)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	return os.WriteFile(out, r.Pcap(), 0o644)
}
