package analyzers

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/visor-dns/visor"
)

// rawQuery is an IPv4/UDP packet (link type 101) carrying an A query.
func rawQuery(t *testing.T, id uint16) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion("www.example.", dns.TypeA)
	m.Id = id
	payload, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	src, dst := netip.MustParseAddr("198.51.100.10").As4(), netip.MustParseAddr("198.51.100.2").As4()
	b := make([]byte, 28+len(payload))
	b[0], b[8], b[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	copy(b[12:], src[:])
	copy(b[16:], dst[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(b[10:], ^uint16(sum))
	binary.BigEndian.PutUint16(b[20:], 40000+id)
	binary.BigEndian.PutUint16(b[22:], 53)
	binary.BigEndian.PutUint16(b[24:], uint16(8+len(payload)))
	copy(b[28:], payload)
	return b
}

func TestAdvanceAndSnapshot(t *testing.T) {
	a := New(Options{Bucket: 1e9, DNSPorts: []uint16{53}, Shards: 2})
	a.EnableSnapshots()
	observe := func(ts int64, id uint16) {
		d := rawQuery(t, id)
		a.ObserveLive(&visor.Packet{TS: ts, Data: d, OrigLen: len(d), LinkType: 101})
	}
	const base = int64(1_800_000_000e9)
	a.Advance(base) // before any packet: nothing to close
	observe(base+100e6, 1)
	observe(base+900e6, 2)
	a.Advance(base + 999e6) // still inside the first bucket
	if got := a.ClosedBuckets(); got != 0 {
		t.Fatalf("closed %d buckets inside the first one", got)
	}
	a.Advance(base + 3500e6) // quiet: the first bucket closes on time
	a.Advance(base + 5500e6) // still quiet: no empty bucket is listed
	observe(base+6200e6, 3)
	a.Advance(base + 8100e6)
	waitClosed(t, a, 2)
	snap := a.Snapshot()
	if len(snap.Buckets) != 2 || snap.Summary.DNS.Queries != 3 || snap.Summary.Net.Packets != 3 {
		t.Fatalf("snapshot: %d buckets, summary %d queries %d packets; want 2, 3, 3",
			len(snap.Buckets), snap.Summary.DNS.Queries, snap.Summary.Net.Packets)
	}
	for i, want := range []uint64{2, 1} {
		if got := snap.Buckets[i].DNS.Queries; got != want {
			t.Errorf("bucket %d: %d queries, want %d", i, got, want)
		}
	}
	rep := a.FinishLive()
	if n := len(rep.Buckets); n != 2 {
		t.Fatalf("final: %d buckets; want the 2 closed ones, without the empty open one", n)
	}
	if rep.Summary.DNS.Queries != 3 || rep.Integrity["timestamps_backwards"] != 0 {
		t.Errorf("final summary %d queries, integrity %v", rep.Summary.DNS.Queries, rep.Integrity)
	}
}

func TestSnapshotDisabled(t *testing.T) {
	a := New(Options{Bucket: 1e9, DNSPorts: []uint16{53}, Shards: 1})
	d := rawQuery(t, 1)
	a.Observe(&visor.Packet{TS: 1e9, Data: d, OrigLen: len(d), LinkType: 101})
	a.Advance(5e9)
	a.Finish()
	if s := a.Snapshot(); len(s.Buckets) != 0 {
		t.Fatalf("snapshot without EnableSnapshots has %d buckets", len(s.Buckets))
	}
}

// waitClosed waits for the merger to publish n buckets.
func waitClosed(t *testing.T, a *Analysis, n uint64) {
	t.Helper()
	for i := 0; i < 2000 && a.ClosedBuckets() < n; i++ {
		sleepMillis(1)
	}
	if got := a.ClosedBuckets(); got != n {
		t.Fatalf("%d buckets published, want %d", got, n)
	}
}

func sleepMillis(n int) { time.Sleep(time.Duration(n) * time.Millisecond) }
