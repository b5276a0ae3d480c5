// Command sumbench writes, on stdout, a synthetic day of busy DNS traffic
// for measuring summaries (docs/summaries.md): every minute of 24 hours,
// Q queries (default 2000) from 4000 clients, for names drawn from a Zipf
// law over 100,000 names in 200 zones but RANDOM percent of them (default
// 50: a random-subdomain attack all day long, the worst case) for random
// names under 20 zones (NXDOMAIN), each answered 1 ms later. The top lists
// of every minute are full, as a busy server's are.
//
//	go run ./scripts/sumbench [Q [HOURS [SEED [RANDOM]]]] | visor analyze --format summary -o day.vsum -
//
// With copies, it writes N copies of a summary into DIR, each as if from
// another input (another sha256 and path), for timing a merge of many:
//
//	go run ./scripts/sumbench copies N day.vsum DIR
package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/visor-dns/visor/summary"
)

// copies writes n copies of the summary src into dir, each with its
// inputs renamed and their sha256 changed.
func copies(n, src, dir string) error {
	k, err := strconv.Atoi(n)
	if err != nil {
		return err
	}
	for i := 0; i < k; i++ {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("copy%03d.vsum", i)))
		if err != nil {
			return err
		}
		err = summary.Rewrite(f, src, func(t *summary.Trailer) {
			for j := range t.Inputs {
				t.Inputs[j].Path = fmt.Sprintf("server%03d/%s", i, t.Inputs[j].Path)
				t.Inputs[j].SHA256 = fmt.Sprintf("%064x", i*1000+j+1)
			}
		})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func main() {
	if len(os.Args) == 5 && os.Args[1] == "copies" {
		if err := copies(os.Args[2], os.Args[3], os.Args[4]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	q, hours, seed, random := 2000, 24, uint64(1), 50
	if len(os.Args) > 1 {
		q, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		hours, _ = strconv.Atoi(os.Args[2])
	}
	if len(os.Args) > 3 {
		seed, _ = strconv.ParseUint(os.Args[3], 10, 64)
	}
	if len(os.Args) > 4 {
		random, _ = strconv.Atoi(os.Args[4])
	}
	r := rand.New(rand.NewPCG(seed, 7))
	zipf := rand.NewZipf(r, 1.1, 1, 99999)
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	hdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}
	w.Write(hdr)
	start := int64(1_764_547_200) * 1e9 // 2025-12-01T00:00:00Z
	var buf []byte
	for m := 0; m < hours*60; m++ {
		for i := 0; i < q; i++ {
			ts := start + int64(m)*60e9 + int64(i)*(60e9/int64(q))
			client := uint32(0xc6336400) + uint32(r.IntN(4000)) // from 198.51.100.0 on
			var name string
			nx := r.IntN(100) < random
			if nx {
				name = fmt.Sprintf("r%08x.victim%d.example", r.Uint32(), r.IntN(20))
			} else {
				n := zipf.Uint64()
				name = fmt.Sprintf("w%d.zone%d.example", n, n%200)
			}
			id := uint16(r.Uint32())
			port := uint16(1024 + r.IntN(60000))
			buf = packet(buf[:0], ts, client, 0xc6336302, port, 53, id, name, false, false)
			w.Write(buf)
			buf = packet(buf[:0], ts+1e6, 0xc6336302, client, 53, port, id, name, true, nx)
			w.Write(buf)
		}
	}
}

// packet appends a pcap record of an Ethernet/IPv4/UDP DNS query or
// response for name (type A).
func packet(b []byte, ts int64, src, dst uint32, sport, dport, id uint16, name string, resp, nx bool) []byte {
	var dnsb []byte
	flags := uint16(0x0100)
	if resp {
		flags = 0x8180
		if nx {
			flags = 0x8183
		}
	}
	dnsb = binary.BigEndian.AppendUint16(dnsb, id)
	dnsb = binary.BigEndian.AppendUint16(dnsb, flags)
	dnsb = append(dnsb, 0, 1, 0, 0, 0, 0, 0, 0)
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			dnsb = append(dnsb, byte(i-start))
			dnsb = append(dnsb, name[start:i]...)
			start = i + 1
		}
	}
	dnsb = append(dnsb, 0, 0, 1, 0, 1)
	udpLen := 8 + len(dnsb)
	ipLen := 20 + udpLen
	frame := 14 + ipLen
	b = binary.LittleEndian.AppendUint32(b, uint32(ts/1e9))
	b = binary.LittleEndian.AppendUint32(b, uint32(ts%1e9/1e3))
	b = binary.LittleEndian.AppendUint32(b, uint32(frame))
	b = binary.LittleEndian.AppendUint32(b, uint32(frame))
	b = append(b, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 8, 0)
	ip := []byte{0x45, 0, byte(ipLen >> 8), byte(ipLen), 0, 0, 0x40, 0, 64, 17, 0, 0}
	ip = binary.BigEndian.AppendUint32(ip, src)
	ip = binary.BigEndian.AppendUint32(ip, dst)
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(ip[i])<<8 | uint32(ip[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	b = append(b, ip...)
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint16(b, uint16(udpLen))
	b = append(b, 0, 0)
	return append(b, dnsb...)
}
