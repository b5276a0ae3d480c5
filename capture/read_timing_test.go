package capture

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/visor-dns/visor"
)

// manyRecords is a pcap and a pcapng (microseconds, with an if_tsoffset)
// of n 100-byte records, one every millisecond.
func manyRecords(n int) (pcap, pcapng []byte) {
	u32 := func(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
	pcap = u32(nil, 0xa1b2c3d4)
	pcap = append(pcap, 2, 0, 4, 0)
	pcap = append(pcap, make([]byte, 8)...)
	pcap = u32(u32(pcap, 65535), 1)
	ng := cat(le.shb(1, 0), le.idb(1, 0, le.opt(14, le.bo.AppendUint64(nil, 1))))
	data := make([]byte, 100)
	for i := range n {
		us := 1_700_000_000_000_000 + uint64(i)*1000
		pcap = u32(u32(u32(u32(pcap, uint32(us/1e6)), uint32(us%1e6)), 100), 100)
		pcap = append(pcap, data...)
		ng = append(ng, le.epb(0, us, data, 100)...)
	}
	return pcap, ng
}

// The readers hand out packets without allocating; the time range checks
// (issue 16) added none.
func TestReadAllocs(t *testing.T) {
	pcap, ng := manyRecords(3000)
	for _, tc := range []struct {
		name string
		b    []byte
	}{{"pcap", pcap}, {"pcapng", ng}} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Open("-", 0, bytes.NewReader(tc.b))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var p visor.Packet
			src.Next(&p)
			allocs := testing.AllocsPerRun(2000, func() {
				if err := src.Next(&p); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%.2f allocations per packet, want 0", allocs)
			}
		})
	}
}

func BenchmarkRead(b *testing.B) {
	pcap, ng := manyRecords(100_000)
	for _, tc := range []struct {
		name string
		b    []byte
	}{{"pcap", pcap}, {"pcapng", ng}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.b)))
			b.ReportAllocs()
			for b.Loop() {
				src, err := Open("-", 0, bytes.NewReader(tc.b))
				if err != nil {
					b.Fatal(err)
				}
				var p visor.Packet
				for src.Next(&p) == nil {
				}
				src.Close()
			}
		})
	}
}
