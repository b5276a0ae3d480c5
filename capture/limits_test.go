package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/visor-dns/visor"
)

// pcapFile is a little-endian microsecond pcap of raw IPv4 records of the
// given captured lengths.
func pcapFile(caplens ...int) []byte {
	b := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0}
	b = append(b, make([]byte, 8)...)
	b = binary.LittleEndian.AppendUint32(b, MaxCapLen)
	b = binary.LittleEndian.AppendUint32(b, 228)
	for i, n := range caplens {
		b = binary.LittleEndian.AppendUint32(b, uint32(i))
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
		b = append(b, make([]byte, n)...)
	}
	return b
}

func TestLimitMaxCapLen(t *testing.T) {
	ngHead := cat(le.shb(1, 0), le.idb(228, 0))
	tests := []struct {
		name string
		file []byte
		ok   bool
	}{
		{"pcap record of MaxCapLen", pcapFile(MaxCapLen), true},
		{"pcap record over MaxCapLen", pcapFile(MaxCapLen + 1), false},
		{"pcapng packet of MaxCapLen", cat(ngHead, le.epb(0, 1, make([]byte, MaxCapLen), MaxCapLen)), true},
		{"pcapng packet over MaxCapLen", cat(ngHead, le.epb(0, 1, make([]byte, MaxCapLen+1), MaxCapLen+1)), false},
		{"pcapng obsolete packet over MaxCapLen", cat(ngHead, le.pb(0, 1, make([]byte, MaxCapLen+4))), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pkts, _, err := readAll(t, tc.file)
			if tc.ok {
				if err != nil || len(pkts) != 1 || len(pkts[0].data) != MaxCapLen {
					t.Fatalf("%d packets, %v", len(pkts), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "more than the 262144 visor accepts") {
				t.Fatalf("error %v", err)
			}
		})
	}
}

func TestLimitMaxBlockLen(t *testing.T) {
	head := cat(le.shb(1, 0), le.idb(1, 0))
	pkt := le.epb(0, 1, []byte("x"), 1)
	// A custom block (skipped) of exactly MaxBlockLen bytes is read past.
	atBound := le.block(0x40000bad, make([]byte, MaxBlockLen-12))
	pkts, _, err := readAll(t, cat(head, atBound, pkt))
	if err != nil || len(pkts) != 1 {
		t.Fatalf("block of MaxBlockLen: %d packets, %v", len(pkts), err)
	}
	over := le.block(0x40000bad, make([]byte, MaxBlockLen-8))
	pkts, _, err = readAll(t, cat(head, pkt, over, pkt))
	var ce *Error
	if !errors.As(err, &ce) || len(pkts) != 1 || ce.Offset != int64(len(head)+len(pkt)) {
		t.Fatalf("block over MaxBlockLen: %d packets, %v", len(pkts), err)
	}
}

// zeros is an endless stream of zero bytes, n at most.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), z.n)
	clear(p[:k])
	z.n -= k
	return int(k), nil
}

// TestBogusLengthReadsLittle declares huge lengths early in a long input:
// the reader stops at the bad record, having read about its buffer, not
// the rest of the input (pcapgo's NgReader, used before, read a declared
// captured length by growing one buffer to the end of the file).
func TestBogusLengthReadsLittle(t *testing.T) {
	bigEPB := le.u32(ngEnhanced)
	bigEPB = append(bigEPB, le.u32(0xfffffffc)...)
	bigCap := le.epb(0, 1, nil, 0)
	binary.LittleEndian.PutUint32(bigCap[20:], 0xfffffff0)
	ngHead := cat(le.shb(1, 0), le.idb(1, 0))
	for _, tc := range []struct {
		name string
		head []byte
	}{
		{"pcapng block length", cat(ngHead, bigEPB)},
		{"pcapng captured length", cat(ngHead, bigCap)},
		{"pcap captured length", cat(pcapFile(), make([]byte, 8), le.u32(0xfffffff0), le.u32(0xfffffff0))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Open("-", 0, io.MultiReader(bytes.NewReader(tc.head), &zeros{n: 1 << 30}))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			pkts := 0
			var pk visor.Packet
			for {
				if err = src.Next(&pk); err != nil {
					break
				}
				pkts++
			}
			if err == io.EOF || pkts != 0 {
				t.Fatalf("%d packets, %v", pkts, err)
			}
			if n := src.(interface{ Consumed() int64 }).Consumed(); n > 4<<20 {
				t.Errorf("read %d bytes of the input before failing", n)
			}
		})
	}
}
