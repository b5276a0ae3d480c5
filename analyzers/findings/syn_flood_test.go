package findings

import (
	"net/netip"
	"testing"
)

const synF, rstF, ackF, pshF = 0x02, 0x04, 0x10, 0x08

// A DNS-over-TCP load test: one client, every SYN answered, every
// handshake completed and used. No tcp_syn_flood.
func TestSYNLoadIsNoFlood(t *testing.T) {
	var evs traffic
	c, s := addr("198.51.100.10"), addr("198.51.100.2")
	for i := 0; i < 6000; i++ { // 300 connections a second for 20 s
		ts := t0 + int64(i)*1e9/300
		evs.segment(ts, c, s, synF)
		evs.segment(ts+1e5, s, c, synF|ackF)
		evs.segment(ts+2e5, c, s, ackF)
		evs.segment(ts+3e5, c, s, ackF|pshF)
		evs.segment(ts+4e5, s, c, ackF|pshF)
	}
	if fs := detect(t, evs.sorted(), 60e9, 2, nil); len(fs) != 0 {
		t.Errorf("findings %s, want none", kinds(fs))
	}
}

// SYNs from many spoofed sources, SYN-ACKs answered by RSTs: a flood, with
// the same counts and times at every bucket size.
func TestSYNFlood(t *testing.T) {
	var evs traffic
	s := addr("198.51.100.2")
	launch := t0 + 12e9 + 2e8
	for i := 0; i < 3000; i++ { // 600/s for 5 s
		ts := launch + int64(i)*1e9/600
		c := netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)})
		evs.segment(ts, c, s, synF)
		evs.segment(ts+1e5, s, c, synF|ackF)
		evs.segment(ts+2e5, c, s, rstF)
	}
	// ordinary TCP to the same server before and after
	for i := 0; i < 40; i++ {
		ts := t0 + int64(i)*5e8
		evs.segment(ts, addr("198.51.100.10"), s, synF)
		evs.segment(ts+1e5, s, addr("198.51.100.10"), synF|ackF)
		evs.segment(ts+2e5, addr("198.51.100.10"), s, ackF)
	}
	fs := sameAtEveryBucket(t, evs.sorted())
	f := one(t, fs, KindSYNFlood, "198.51.100.2", launch)
	if n := num(f, "syns"); n < 3000 || n > 3040 {
		t.Errorf("syns %v, want the flood's 3000 (and the few ordinary ones of its windows)", n)
	}
	if n := num(f, "peak_per_second"); n < 600 || n > 602 {
		t.Errorf("peak_per_second %v, want the flood's 600 (and 2 ordinary)", n)
	}
}
