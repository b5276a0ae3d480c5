package capture

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/visor-dns/visor"
)

// fuzzMaxPackets stops a fuzz input early: a tiny zstd frame can expand to
// millions of records, and the readers' bounds are per record anyway.
const fuzzMaxPackets = 1 << 14

// labHead is the first n bytes of a capture in testdata/: its header and
// first records, a seed small enough for the fuzzer to mutate quickly.
func labHead(f *testing.F, name string, n int) []byte {
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return b[:min(n, len(b))]
}

func pcapSeeds(f *testing.F) [][]byte {
	eth := labHead(f, "lab-eth.pcap", 2048)
	// The same records in big-endian nanosecond form.
	bige := cat([]byte{0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4}, make([]byte, 8), []byte{0, 0, 0xff, 0xff, 0, 0, 0, 1},
		[]byte{0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 3, 0, 0, 0, 3}, []byte("abc"))
	// fractions of a second out of range, skipped (issue 16, defect 7)
	frac := pcapRecords(false, [2]uint32{1, 1e6}, [2]uint32{2, 5})
	nanoFrac := pcapRecords(true, [2]uint32{0xffffffff, 1e9}, [2]uint32{0xffffffff, 999_999_999})
	return [][]byte{eth, labHead(f, "lab-sll2.pcap", 2048), labHead(f, "lab-tcp.pcap", 2048), bige, frac, nanoFrac}
}

func pcapngSeeds(f *testing.F) [][]byte {
	pkt := []byte("0123456789")
	return [][]byte{
		labHead(f, "lab.pcapng", 4096),
		cat(be.shb(1, 0), be.idb(1, 0, be.opt(9, []byte{9})), be.idb(101, 0, be.opt(9, []byte{0x80 | 20}), be.opt(14, be.bo.AppendUint64(nil, 100))),
			be.epb(1, 3<<20, pkt[:3], 3), be.epb(0, 7, pkt[:4], 4)),
		cat(le.shb(1, 0), le.idb(1, 4), le.spb(10, pkt), le.pb(0, 5, pkt[:5]), le.block(5, make([]byte, 20)), be.shb(1, 0), be.idb(228, 0), be.epb(0, 2, pkt, 10)),
		cat(le.shb(2, 0), le.idb(1, 0), le.epb(0, 1, pkt, 10), le.shb(1, 0), le.idb(12, 0), le.epb(0, 2, pkt[:1], 1)),
		// times out of range, skipped (issue 16, defect 7): 2^40 s; if_tsoffset 9e9 s and -2^63 s
		cat(le.shb(1, 0), le.idb(1, 0), le.epb(0, 1<<40*1_000_000, pkt, 10), le.idb(1, 0, le.opt(9, []byte{0x80}), le.opt(14, i64(9e9))),
			le.epb(1, 1_700_000_000, pkt[:2], 2), le.epb(1, 1, pkt[:3], 3), le.idb(1, 0, le.opt(9, []byte{9}), le.opt(14, i64(-1<<63))),
			le.epb(2, 1<<63+5, pkt[:4], 4), le.epb(2, 5, pkt[:5], 5)),
	}
}

// drain reads src to its end and checks what every reader promises: records
// within MaxCapLen, an original length at least the captured one, errors
// that are *Error naming the input, and io.EOF only once.
func drain(t *testing.T, src visor.Source, size int) (n int, sorted bool) {
	var p visor.Packet
	sorted = true
	var last int64
	for ; n < fuzzMaxPackets; n++ {
		err := src.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.Path != "-" {
				t.Fatalf("error %v is not a capture.Error", err)
			}
			if ce.Partial != (n > 0) || ce.Packet != uint64(n) {
				t.Fatalf("error after %d packets says partial %v, packet %d", n, ce.Partial, ce.Packet)
			}
			if size >= 0 && ce.Offset > int64(size) {
				t.Fatalf("error at offset %d of a %d byte input", ce.Offset, size)
			}
			break
		}
		if len(p.Data) > MaxCapLen || p.OrigLen < len(p.Data) {
			t.Fatalf("packet %d: %d bytes captured, %d original", n+1, len(p.Data), p.OrigLen)
		}
		if p.Number != uint64(n+1) {
			t.Fatalf("packet numbered %d, want %d", p.Number, n+1)
		}
		sorted = sorted && (n == 0 || p.TS >= last)
		last = p.TS
	}
	if n < fuzzMaxPackets && src.Next(&p) != io.EOF {
		t.Fatal("a source that ended did not stay ended")
	}
	return n, sorted
}

// fuzzOpen reads b as stdin through Open and drains it.
func fuzzOpen(t *testing.T, b []byte, size int) {
	src, err := Open("-", 0, bytes.NewReader(b))
	if err != nil {
		var ce *Error
		if !errors.As(err, &ce) {
			t.Fatalf("open error %v is not a capture.Error", err)
		}
		return
	}
	defer src.Close()
	n, _ := drain(t, src, size)
	if info := src.Info(); n < fuzzMaxPackets && info.Packets != uint64(n) {
		t.Fatalf("info counts %d packets, read %d", info.Packets, n)
	}
}

func FuzzPcap(f *testing.F) {
	for _, s := range pcapSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzOpen(t, b, len(b)) })
}

func FuzzPcapng(f *testing.F) {
	for _, s := range pcapngSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzOpen(t, b, len(b)) })
}

// FuzzOpen covers the sniffing and the gzip and zstd wrappers.
func FuzzOpen(f *testing.F) {
	for _, s := range append(pcapSeeds(f)[:1], pcapngSeeds(f)[1:3]...) {
		var gz, zs bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(s)
		zw.Close()
		ze, _ := zstd.NewWriter(&zs)
		ze.Write(s)
		ze.Close()
		f.Add(gz.Bytes())
		f.Add(zs.Bytes())
	}
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd})
	f.Fuzz(func(t *testing.T, b []byte) { fuzzOpen(t, b, -1) })
}

// FuzzMerge merges two inputs: each input's packets come out in their own
// order, none is lost, and inputs in time order merge in time order.
func FuzzMerge(f *testing.F) {
	p, ng := pcapSeeds(f), pcapngSeeds(f)
	f.Add(p[0], ng[0])
	f.Add(p[3], ng[1])
	f.Add(ng[2], ng[2])
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var srcs []visor.Source
		want, allSorted := 0, true
		for _, in := range [][]byte{a, b} {
			if s, err := Open("-", len(srcs), bytes.NewReader(in)); err == nil {
				n, sorted := drain(t, s, len(in))
				allSorted = allSorted && sorted
				s.Close()
				if n >= fuzzMaxPackets {
					return
				}
				want += n
				s, _ = Open("-", len(srcs), bytes.NewReader(in))
				srcs = append(srcs, s)
			}
		}
		m, err := NewMerge(srcs)
		if err != nil {
			return // the first packet of an input failed: not a merge matter
		}
		defer m.Close()
		var pk visor.Packet
		last := map[int]uint64{}
		var ts int64
		n := 0
		for ; ; n++ {
			if err := m.Next(&pk); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			if allSorted && n > 0 && pk.TS < ts {
				t.Fatalf("packet %d at %d after %d", n+1, pk.TS, ts)
			}
			if pk.Number != last[pk.Input]+1 {
				t.Fatalf("input %d: packet %d after %d", pk.Input, pk.Number, last[pk.Input])
			}
			ts, last[pk.Input] = pk.TS, pk.Number
		}
		if n != want {
			t.Fatalf("merged %d packets, inputs hold %d (warnings %v)", n, want, m.Warnings)
		}
	})
}
