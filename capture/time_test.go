package capture

import (
	"encoding/binary"
	"maps"
	"math"
	"slices"
	"testing"
)

// pcapRecords is a pcap (little endian; nanosecond magic when nano) of
// one-byte records with the given seconds and fractions.
func pcapRecords(nano bool, times ...[2]uint32) []byte {
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	u32 := func(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
	b := u32(nil, magic)
	b = append(b, 2, 0, 4, 0)
	b = append(b, make([]byte, 8)...)
	b = u32(u32(b, 65535), 101)
	for i, tm := range times {
		b = u32(u32(u32(u32(b, tm[0]), tm[1]), 1), 1)
		b = append(b, byte('a'+i))
	}
	return b
}

// i64 is v's two's-complement bits, for if_tsoffset.
func i64(v int64) []byte { return le.bo.AppendUint64(nil, uint64(v)) }

// Defect 7 of issue 16: times an int64 of Unix nanoseconds cannot hold
// were wrapped (a pcapng time of 2^40 s read as 1738-11-23, an if_tsoffset
// of 9e9 s as 1724). They are skipped and counted instead, and the packets
// after them read.
func TestTimestampOutOfRange(t *testing.T) {
	pcapng := func(opts ...[]byte) func(ts ...uint64) []byte {
		return func(ts ...uint64) []byte {
			b := cat(le.shb(1, 0), le.idb(1, 0, opts...))
			for i, v := range ts {
				b = cat(b, le.epb(0, v, []byte{byte('a' + i)}, 1))
			}
			return b
		}
	}
	secs := pcapng(le.opt(9, []byte{0x80}))  // if_tsresol 2^-0: seconds
	nanos := pcapng(le.opt(9, []byte{9}))    // 10^-9
	micros := pcapng()                       // the default, 10^-6
	pico2 := pcapng(le.opt(9, []byte{0xbf})) // 2^-63
	tenth19 := pcapng(le.opt(9, []byte{19})) // 10^-19
	withOffset := func(resol byte, off int64) func(ts ...uint64) []byte {
		return pcapng(le.opt(9, []byte{resol}), le.opt(14, i64(off)))
	}
	tests := []struct {
		name    string
		file    []byte
		want    []int64 // the times of the packets read
		skipped uint64  // packets skipped as out of range
	}{
		{"pcapng 2^40 s in microseconds", micros(1<<40*1_000_000, 2_000_000), []int64{2e9}, 1},
		{"pcapng 2^40 s in seconds", secs(1<<40, 3), []int64{3e9}, 1},
		{"pcapng last whole second", secs(maxSec, maxSec+1), []int64{maxSec * 1e9}, 1},
		{"pcapng if_tsoffset 9e9 s", withOffset(6, 9e9)(1_700_000_000_000_000, 0), []int64{9e18}, 1},
		{"pcapng if_tsoffset -9e9 s", withOffset(6, -9e9)(1_000_000, 0), []int64{-9e18 + 1e9, -9e18}, 0},
		{"pcapng if_tsoffset at the int64 ends", withOffset(9, maxSec)(maxNs, maxNs+1), []int64{math.MaxInt64}, 1},
		{"pcapng if_tsoffset at the int64 start", withOffset(9, minSec)(minNs, minNs-1), []int64{math.MinInt64}, 1},
		{"pcapng if_tsoffset MinInt64", withOffset(0x80, math.MinInt64)(1<<63+5, 5), []int64{5e9}, 1},
		{"pcapng if_tsoffset wraps the seconds", withOffset(0x80, 1)(math.MaxUint64, 1), []int64{2e9}, 1},
		{"pcapng if_tsoffset MaxInt64", withOffset(9, math.MaxInt64)(0), nil, 1},
		{"pcapng 2^-63 units", pico2(math.MaxUint64), []int64{1_999_999_999}, 0},
		{"pcapng 10^-19 units", tenth19(math.MaxUint64), []int64{1_844_674_407}, 0},
		{"pcapng nanoseconds, all of uint64", nanos(math.MaxUint64), nil, 1},
		{"pcapng nanoseconds, the last of int64", nanos(maxSec*1e9+maxNs, maxSec*1e9+maxNs+1), []int64{math.MaxInt64}, 1},
		{"pcap microseconds: a fraction of 1 s", pcapRecords(false, [2]uint32{1, 1e6}, [2]uint32{2, 999_999}), []int64{2_999_999_000}, 1},
		{"pcap nanoseconds: a fraction of 1 s", pcapRecords(true, [2]uint32{1, 1e9}, [2]uint32{2, 999_999_999}), []int64{2_999_999_999}, 1},
		{"pcap last second of uint32", pcapRecords(true, [2]uint32{math.MaxUint32, 999_999_999}), []int64{math.MaxUint32*1e9 + 999_999_999}, 0},
		{"pcap all skipped", pcapRecords(false, [2]uint32{1, math.MaxUint32}, [2]uint32{2, 1e6}), nil, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pkts, info, err := readAll(t, tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var ts []int64
			for _, p := range pkts {
				ts = append(ts, p.ts)
			}
			if !slices.Equal(ts, tc.want) {
				t.Errorf("times %v, want %v", ts, tc.want)
			}
			if info.Packets != uint64(len(tc.want)) {
				t.Errorf("info counts %d packets, want %d", info.Packets, len(tc.want))
			}
			var want map[string]uint64
			if tc.skipped > 0 {
				want = map[string]uint64{ReasonTimeRange: tc.skipped}
			}
			if !maps.Equal(info.Skipped, want) {
				t.Errorf("skipped %v, want %v", info.Skipped, want)
			}
		})
	}
}

func TestUnixNanos(t *testing.T) {
	tests := []struct {
		sec, ns int64
		want    int64
		ok      bool
	}{
		{0, 0, 0, true},
		{1_700_000_000, 5, 1_700_000_000_000_000_005, true},
		{-1, 999_999_999, -1, true},
		{maxSec, maxNs, math.MaxInt64, true},
		{maxSec, maxNs + 1, 0, false},
		{maxSec + 1, 0, 0, false},
		{minSec, minNs, math.MinInt64, true},
		{minSec, minNs - 1, 0, false},
		{minSec - 1, 999_999_999, 0, false},
		{math.MinInt64, 0, 0, false},
	}
	for _, tc := range tests {
		got, ok := unixNanos(tc.sec, tc.ns)
		if got != tc.want || ok != tc.ok {
			t.Errorf("unixNanos(%d, %d) = %d, %v; want %d, %v", tc.sec, tc.ns, got, ok, tc.want, tc.ok)
		}
	}
}
