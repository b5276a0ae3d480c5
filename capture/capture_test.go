package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/zstd"

	"github.com/visor-dns/visor"
)

// ng builds pcapng blocks in one byte order.
type ng struct{ bo binary.AppendByteOrder }

func (n ng) u16(v uint16) []byte { return n.bo.AppendUint16(nil, v) }
func (n ng) u32(v uint32) []byte { return n.bo.AppendUint32(nil, v) }

// block frames a body as a block of type typ, padded to 4 bytes.
func (n ng) block(typ uint32, body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	b = append(b, make([]byte, (4-len(b)%4)%4)...)
	l := uint32(12 + len(b))
	return bytes.Join([][]byte{n.u32(typ), n.u32(l), b, n.u32(l)}, nil)
}

func (n ng) shb(major, minor uint16) []byte {
	return n.block(ngSectionHeader, n.u32(ngByteOrder), n.u16(major), n.u16(minor), bytes.Repeat([]byte{0xff}, 8))
}

// opt is one option, padded.
func (n ng) opt(code uint16, v []byte) []byte {
	return bytes.Join([][]byte{n.u16(code), n.u16(uint16(len(v))), v, make([]byte, (4-len(v)%4)%4)}, nil)
}

func (n ng) idb(link uint16, snaplen uint32, opts ...[]byte) []byte {
	if len(opts) > 0 {
		opts = append(opts, n.opt(0, nil))
	}
	return n.block(ngInterface, n.u16(link), n.u16(0), n.u32(snaplen), bytes.Join(opts, nil))
}

func (n ng) epb(iface uint32, ts uint64, data []byte, orig uint32) []byte {
	return n.block(ngEnhanced, n.u32(iface), n.u32(uint32(ts>>32)), n.u32(uint32(ts)), n.u32(uint32(len(data))), n.u32(orig), data)
}

func (n ng) pb(iface uint16, ts uint64, data []byte) []byte {
	return n.block(ngPacket, n.u16(iface), n.u16(0), n.u32(uint32(ts>>32)), n.u32(uint32(ts)), n.u32(uint32(len(data))), n.u32(uint32(len(data))), data)
}

func (n ng) spb(orig uint32, data []byte) []byte {
	return n.block(ngSimplePacket, n.u32(orig), data)
}

var (
	le = ng{binary.LittleEndian}
	be = ng{binary.BigEndian}
)

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// got is a packet as read, its data copied.
type got struct {
	ts   int64
	link uint16
	data string
	orig int
}

// readAll opens b as stdin and reads every packet, then the error (nil at EOF).
func readAll(t testing.TB, b []byte) ([]got, *visor.InputInfo, error) {
	t.Helper()
	src, err := Open("-", 0, bytes.NewReader(b))
	if err != nil {
		return nil, nil, err
	}
	defer src.Close()
	var out []got
	var p visor.Packet
	for {
		err := src.Next(&p)
		if err == io.EOF {
			return out, src.Info(), nil
		}
		if err != nil {
			return out, src.Info(), err
		}
		out = append(out, got{p.TS, p.LinkType, string(p.Data), p.OrigLen})
	}
}

func TestPcapng(t *testing.T) {
	pkt := []byte("abcdefghij")
	tests := []struct {
		name string
		file []byte
		want []got
	}{
		{"little endian, default microseconds",
			cat(le.shb(1, 0), le.idb(1, 65535), le.epb(0, 1_500_000, pkt, 60)),
			[]got{{1_500_000_000, 1, "abcdefghij", 60}}},
		{"big endian, two interfaces, nanoseconds and 2^-20 with offset",
			cat(be.shb(1, 0), be.idb(1, 0, be.opt(9, []byte{9})), be.idb(101, 0, be.opt(9, []byte{0x80 | 20}), be.opt(14, be.bo.AppendUint64(nil, 100))),
				be.epb(1, 3<<20|1<<19, pkt[:3], 3), be.epb(0, 7_000_000_001, pkt[:4], 4)),
			[]got{{103_500_000_000, 101, "abc", 3}, {7_000_000_001, 1, "abcd", 4}}},
		{"milliseconds; nanoseconds and microseconds with offsets",
			cat(le.shb(1, 0), le.idb(1, 0, le.opt(9, []byte{3})), le.idb(1, 0, le.opt(9, []byte{9}), le.opt(14, le.bo.AppendUint64(nil, 5))),
				le.idb(1, 0, le.opt(14, le.bo.AppendUint64(nil, 1e9))),
				le.epb(0, 1234, pkt[:1], 1), le.epb(1, 7, pkt[:1], 1), le.epb(2, 2_000_001, pkt[:1], 1)),
			[]got{{1_234_000_000, 1, "a", 1}, {5_000_000_007, 1, "a", 1}, {1_000_000_002_000_001_000, 1, "a", 1}}},
		{"sections switch byte order and reset interfaces",
			cat(le.shb(1, 0), le.idb(1, 0), le.idb(113, 0), le.epb(1, 1, pkt[:1], 1),
				be.shb(1, 0), be.idb(228, 0), be.epb(0, 2, pkt[:2], 2)),
			[]got{{1000, 113, "a", 1}, {2000, 228, "ab", 2}}},
		{"simple and obsolete packet blocks; snaplen cuts a simple packet",
			cat(le.shb(1, 2), le.idb(1, 4), le.spb(10, pkt), le.pb(0, 5, pkt[:5])),
			[]got{{0, 1, "abcd", 10}, {5000, 1, "abcde", 5}}},
		{"other blocks are skipped",
			cat(le.shb(1, 0), le.block(4, make([]byte, 40)), le.idb(1, 0), le.block(5, make([]byte, 20)), le.block(0x40000bad, []byte("custom")),
				le.block(0x0a, make([]byte, 100)), le.epb(0, 9, pkt[:2], 2)),
			[]got{{9000, 1, "ab", 2}}},
		{"a section of another version is skipped",
			cat(le.shb(2, 0), le.idb(1, 0), le.epb(0, 1, pkt, 10), le.shb(1, 0), le.idb(12, 0), le.epb(0, 2, pkt[:1], 1)),
			[]got{{2000, 12, "a", 1}}},
		{"an empty section", le.shb(1, 0), nil},
		{"ends with a skipped block", cat(le.shb(1, 0), le.idb(1, 0), le.epb(0, 1, pkt[:1], 1), le.block(5, make([]byte, 20))),
			[]got{{1000, 1, "a", 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pkts, info, err := readAll(t, tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != "pcapng" {
				t.Errorf("format %q", info.Format)
			}
			if len(pkts) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", pkts, tc.want)
			}
			for i := range pkts {
				if pkts[i] != tc.want[i] {
					t.Errorf("packet %d: %+v, want %+v", i, pkts[i], tc.want[i])
				}
			}
		})
	}
}

func TestPcapngErrors(t *testing.T) {
	pkt := []byte("abcdefgh")
	head := cat(le.shb(1, 0), le.idb(1, 0))
	good := le.epb(0, 1, pkt, 8)
	withLen := func(b []byte, l uint32) []byte {
		b = append([]byte(nil), b...)
		binary.LittleEndian.PutUint32(b[4:], l)
		return b
	}
	badCap := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(badCap[20:], 9) // one more than the block holds
	flood := cat(le.shb(1, 0), bytes.Repeat(le.idb(1, 0), maxInterfaces+1))
	tests := []struct {
		name    string
		file    []byte
		packets int
		offset  int64
		want    string
	}{
		{"block length not a multiple of 4", cat(head, good, withLen(good, 45)), 1, int64(len(head) + len(good)), "multiple of 4"},
		{"block length under 12", cat(head, withLen(good, 8)), 0, int64(len(head)), "declares 8 bytes"},
		{"block length over the bound", cat(head, good, withLen(good, MaxBlockLen+4)), 1, int64(len(head) + len(good)), "declares 16777220 bytes"},
		{"captured length past the block", cat(head, good, badCap), 1, int64(len(head) + len(good)), "declares 9 captured bytes"},
		{"packet on an undescribed interface", cat(head, le.epb(1, 1, pkt, 8)), 0, int64(len(head)), "interface 1"},
		{"simple packet before any interface", cat(le.shb(1, 0), le.spb(8, pkt)), 0, 28, "interface 0"},
		{"second section with a bad byte-order magic", cat(head, good, withLen(le.shb(1, 0), 28)[:8], []byte{1, 2, 3, 4}, le.shb(1, 0)[12:]), 1, int64(len(head) + len(good)), "byte-order"},
		{"truncated packet", cat(head, good[:20]), 0, int64(len(head)), "unexpected EOF"},
		{"truncated block header", cat(head, good, good[:5]), 1, int64(len(head) + len(good)), "unexpected EOF"},
		{"skipped block cut short", cat(head, good, le.block(5, make([]byte, 20))[:30]), 1, int64(len(head) + len(good)), "unexpected EOF"},
		{"too many interfaces", flood, 0, int64(28 + maxInterfaces*20), "interfaces"},
		{"bad timestamp resolution", cat(le.shb(1, 0), le.idb(1, 0, le.opt(9, []byte{20}))), 0, 28, "10^-20"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pkts, _, err := readAll(t, tc.file)
			if len(pkts) != tc.packets {
				t.Errorf("read %d packets, want %d", len(pkts), tc.packets)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want *Error", err)
			}
			if ce.Offset != tc.offset || !strings.Contains(ce.Error(), tc.want) {
				t.Errorf("error %q at offset %d, want %q at %d", ce, ce.Offset, tc.want, tc.offset)
			}
			if ce.Partial != (tc.packets > 0) {
				t.Errorf("partial %v", ce.Partial)
			}
		})
	}
}

// TestPcapngSameAsPcapgo reads the lab's pcapng with visor's reader and
// with gopacket's, which visor used before.
func TestPcapngSameAsPcapgo(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "lab.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	pkts, _, err := readAll(t, b)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			if i != len(pkts) {
				t.Fatalf("visor read %d packets, pcapgo %d", len(pkts), i)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		want := got{ci.Timestamp.UnixNano(), uint16(ci.AncillaryData[0].(layers.LinkType)), string(data), ci.Length}
		if i >= len(pkts) || pkts[i] != want {
			t.Fatalf("packet %d differs from pcapgo's", i+1)
		}
	}
}

func TestFormats(t *testing.T) {
	file := cat(le.shb(1, 0), le.idb(1, 0), le.epb(0, 1, []byte("x"), 1))
	var gz, zs bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(file)
	zw.Close()
	ze, _ := zstd.NewWriter(&zs)
	ze.Write(file)
	ze.Close()
	for _, tc := range []struct {
		format string
		b      []byte
	}{{"pcapng", file}, {"pcapng+gzip", gz.Bytes()}, {"pcapng+zstd", zs.Bytes()}} {
		pkts, info, err := readAll(t, tc.b)
		if err != nil || len(pkts) != 1 || info.Format != tc.format {
			t.Errorf("%s: %d packets, format %q, %v", tc.format, len(pkts), info.Format, err)
		}
	}
}

// Classic pcap in both byte orders and both time resolutions reads the
// same packets.
func TestPcapByteOrders(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bo    binary.AppendByteOrder
		magic uint32
		frac  uint32 // the fraction field of 1.5 s
		ts    int64
	}{
		{"little endian, microseconds", binary.LittleEndian, 0xa1b2c3d4, 500000, 1_500_000_000},
		{"big endian, microseconds", binary.BigEndian, 0xa1b2c3d4, 500000, 1_500_000_000},
		{"little endian, nanoseconds", binary.LittleEndian, 0xa1b23c4d, 500000001, 1_500_000_001},
		{"big endian, nanoseconds", binary.BigEndian, 0xa1b23c4d, 500000001, 1_500_000_001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u32 := func(v uint32) []byte { return tc.bo.AppendUint32(nil, v) }
			u16 := func(v uint16) []byte { return tc.bo.AppendUint16(nil, v) }
			file := cat(u32(tc.magic), u16(2), u16(4), make([]byte, 8), u32(65535), u32(101),
				u32(1), u32(tc.frac), u32(3), u32(60), []byte("abc"),
				u32(2), u32(tc.frac), u32(2), u32(2), []byte("de"))
			pkts, info, err := readAll(t, file)
			if err != nil {
				t.Fatal(err)
			}
			want := []got{{tc.ts, 101, "abc", 60}, {tc.ts + 1e9, 101, "de", 2}}
			if !slices.Equal(pkts, want) {
				t.Errorf("got %+v, want %+v (format %s)", pkts, want, info.Format)
			}
		})
	}
}
