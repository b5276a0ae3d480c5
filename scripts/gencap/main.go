// Command gencap writes synthetic worst-case captures for visor's resource
// bound checks (the lab scenario TestWorstCase): traffic no real server would answer,
// made only to fill visor's tables.
//
//	go run ./scripts/gencap KIND N OUT.pcap
//
// KIND is halfopen (N TCP SYNs to port 53 from distinct sources), tcpbuf
// (N connections each leaving a large partial DNS message buffered),
// fragflood (N IPv4 and IPv6 fragment pairs that never complete, one piece
// far into the datagram), or names (N queries for distinct random names,
// half of them answered NXDOMAIN), or sparse (N queries for one name, each
// answered 1 ms later, one every INTERVAL of capture time: a long capture of
// many buckets, e.g. 525600 for a year of one a minute).
//
//	go run ./scripts/gencap sparse N OUT.pcap [INTERVAL]
package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) != 4 && (len(os.Args) != 5 || os.Args[1] != "sparse") {
		fmt.Fprintln(os.Stderr, "usage: gencap halfopen|tcpbuf|fragflood|names N OUT.pcap\n       gencap sparse N OUT.pcap [INTERVAL]")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	f, err := os.Create(os.Args[3])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	w := &writer{w: bufio.NewWriterSize(f, 1<<20), ts: 1_700_000_000_000_000_000}
	w.header()
	r := rand.New(rand.NewPCG(1, 2))
	switch os.Args[1] {
	case "halfopen":
		for i := 0; i < n; i++ {
			w.tcp(src4(i), [4]byte{198, 51, 100, 1}, uint16(1024+i%60000), 53, uint32(r.Uint32()), 0x02, nil)
		}
	case "tcpbuf":
		big := make([]byte, 1400)
		binary.BigEndian.PutUint16(big, 65000) // a message far longer than what follows
		copy(big[2:], []byte{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0})
		for i := 0; i < n; i++ {
			s := src4(i)
			seq := uint32(r.Uint32())
			sport := uint16(1024 + i%60000)
			w.tcp(s, [4]byte{198, 51, 100, 1}, sport, 53, seq, 0x02, nil)
			w.tcp(s, [4]byte{198, 51, 100, 1}, sport, 53, seq+1, 0x18, big)
		}
	case "fragflood":
		piece := make([]byte, 1400)
		for i := 0; i < n; i++ {
			w.frag4(src4(i), uint16(i), 0, true, piece)
			w.frag4(src4(i), uint16(i), 60000, true, piece[:8])
			w.frag6(uint32(i), 0, true, piece)
			w.frag6(uint32(i), 62000, true, piece[:8])
		}
	case "names":
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("%016x.victim.example", r.Uint64())
			q := query(uint16(i), name, false)
			w.udp(src4(i%5000), [4]byte{198, 51, 100, 1}, uint16(1024+i%60000), 53, q)
			if i%2 == 0 {
				w.udp([4]byte{198, 51, 100, 1}, src4(i%5000), 53, uint16(1024+i%60000), query(uint16(i), name, true))
			}
		}
	case "sparse":
		every := time.Minute
		if len(os.Args) == 5 {
			if every, err = time.ParseDuration(os.Args[4]); err != nil || every <= time.Millisecond {
				fmt.Fprintln(os.Stderr, "INTERVAL: want a duration over 1ms:", os.Args[4])
				os.Exit(2)
			}
		}
		start := w.ts
		client, server := [4]byte{198, 51, 100, 7}, [4]byte{198, 51, 100, 1}
		for i := 0; i < n; i++ {
			w.ts = start + int64(i)*int64(every)
			sport := uint16(1024 + i%60000)
			w.udp(client, server, sport, 53, query(uint16(i), "www.example.com", false))
			w.ts += 1_000_000 - 10_000 // the response 1 ms after the query
			r := query(uint16(i), "www.example.com", true)
			binary.BigEndian.PutUint16(r[2:], 0x8180) // NOERROR, no answer
			w.udp(server, client, 53, sport, r)
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown kind", os.Args[1])
		os.Exit(2)
	}
	if err := w.w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	f.Close()
}

func src4(i int) [4]byte { return [4]byte{198, 51, byte(100 + i>>16&1), byte(i >> 8)} }

// query builds a DNS query, or its NXDOMAIN response, for name (type A).
func query(id uint16, name string, response bool) []byte {
	b := make([]byte, 12, 64)
	binary.BigEndian.PutUint16(b, id)
	if response {
		binary.BigEndian.PutUint16(b[2:], 0x8183)
	} else {
		binary.BigEndian.PutUint16(b[2:], 0x0100)
	}
	binary.BigEndian.PutUint16(b[4:], 1)
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			b = append(b, byte(i-start))
			b = append(b, name[start:i]...)
			start = i + 1
		}
	}
	return append(b, 0, 0, 1, 0, 1)
}

type writer struct {
	w  *bufio.Writer
	ts int64
}

func (w *writer) header() {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b23c4d) // nanosecond pcap
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 262144)
	binary.LittleEndian.PutUint32(h[20:], 1)
	w.w.Write(h[:])
}

func (w *writer) packet(ether uint16, l3 []byte) {
	w.ts += 10_000 // 100k packets per second of capture time
	frame := make([]byte, 14, 14+len(l3))
	frame[0], frame[6] = 2, 2
	binary.BigEndian.PutUint16(frame[12:], ether)
	frame = append(frame, l3...)
	var h [16]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(w.ts/1e9))
	binary.LittleEndian.PutUint32(h[4:], uint32(w.ts%1e9))
	binary.LittleEndian.PutUint32(h[8:], uint32(len(frame)))
	binary.LittleEndian.PutUint32(h[12:], uint32(len(frame)))
	w.w.Write(h[:])
	w.w.Write(frame)
}

func ip4(src, dst [4]byte, proto byte, id uint16, fragOff int, more bool, payload []byte) []byte {
	b := make([]byte, 20, 20+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(b[4:], id)
	fl := uint16(fragOff / 8)
	if more {
		fl |= 0x2000
	}
	binary.BigEndian.PutUint16(b[6:], fl)
	b[8], b[9] = 64, proto
	copy(b[12:], src[:])
	copy(b[16:], dst[:])
	return append(b, payload...)
}

func (w *writer) udp(src, dst [4]byte, sport, dport uint16, payload []byte) {
	u := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	w.packet(0x0800, ip4(src, dst, 17, 0, 0, false, append(u, payload...)))
}

func (w *writer) tcp(src, dst [4]byte, sport, dport uint16, seq uint32, flags byte, payload []byte) {
	t := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(t[0:], sport)
	binary.BigEndian.PutUint16(t[2:], dport)
	binary.BigEndian.PutUint32(t[4:], seq)
	t[12], t[13] = 5<<4, flags
	w.packet(0x0800, ip4(src, dst, 6, 0, 0, false, append(t, payload...)))
}

func (w *writer) frag4(src [4]byte, id uint16, off int, more bool, payload []byte) {
	w.packet(0x0800, ip4(src, [4]byte{198, 51, 100, 1}, 17, id, off, more, payload))
}

func (w *writer) frag6(id uint32, off int, more bool, payload []byte) {
	b := make([]byte, 48, 48+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(payload)))
	b[6], b[7] = 44, 64
	b[8], b[9], b[10], b[11] = 0x20, 0x01, 0x0d, 0xb8
	binary.BigEndian.PutUint32(b[20:], id)
	b[24], b[25], b[26], b[27], b[39] = 0x20, 0x01, 0x0d, 0xb8, 1
	b[40] = 17
	fo := uint16(off/8) << 3
	if more {
		fo |= 1
	}
	binary.BigEndian.PutUint16(b[42:], fo)
	binary.BigEndian.PutUint32(b[44:], id)
	w.packet(0x86dd, append(b, payload...))
}
