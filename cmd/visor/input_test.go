package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/zstd"
	mdns "github.com/miekg/dns"

	"github.com/visor-dns/visor/report"
)

// dnsPacket builds an Ethernet/IPv4/UDP packet carrying a DNS query (or its
// NOERROR response) for name.
func dnsPacket(t *testing.T, id uint16, name string, response bool) []byte {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), mdns.TypeA)
	m.Id = id
	client, server := net.IPv4(198, 51, 100, 10), net.IPv4(198, 51, 100, 1)
	sport, dport := layers.UDPPort(40000+id%1000), layers.UDPPort(53)
	if response {
		r := new(mdns.Msg)
		r.SetReply(m)
		rr, _ := mdns.NewRR(mdns.Fqdn(name) + " 60 IN A 198.51.100.7")
		r.Answer = append(r.Answer, rr)
		m = r
		client, server = server, client
		sport, dport = dport, sport
	}
	payload, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: client, DstIP: server}
	udp := &layers.UDP{SrcPort: sport, DstPort: dport}
	udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writePcap writes n query/response pairs, one pair every 100 ms from t0.
func writePcap(t *testing.T, path string, pairs int, t0 time.Time) {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < pairs; i++ {
		ts := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		name := "host" + string(rune('a'+i%26)) + ".example.com"
		for j, resp := range []bool{false, true} {
			data := dnsPacket(t, uint16(i), name, resp)
			ci := gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(j) * time.Millisecond), CaptureLength: len(data), Length: len(data)}
			if err := w.WritePacket(ci, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

type runResult struct {
	code   int
	stdout string
	stderr string
}

func runVisor(args ...string) runResult {
	return runVisorStdin(nil, args...)
}

func runVisorStdin(stdin []byte, args ...string) runResult {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, bytes.NewReader(stdin), &out, &errb)
	return runResult{code, out.String(), errb.String()}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.pcap")
	writePcap(t, good, 20, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	goodBytes, _ := os.ReadFile(good)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	random := make([]byte, 4096)
	rand.New(rand.NewSource(1)).Read(random)
	// First record declares a 2 GiB caplen.
	absurd := append([]byte(nil), goodBytes[:24+16]...)
	binary.LittleEndian.PutUint32(absurd[24+8:], 0x7fffffff)
	absurd = append(absurd, goodBytes[40:]...)
	// The 11th record declares a 2 GiB caplen: ten packets are readable.
	off := 24
	for i := 0; i < 10; i++ {
		off += 16 + int(binary.LittleEndian.Uint32(goodBytes[off+8:]))
	}
	absurdLater := append([]byte(nil), goodBytes...)
	binary.LittleEndian.PutUint32(absurdLater[off+8:], 0x7fffffff)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(goodBytes)
	zw.Close()
	gzGarbage := append([]byte(nil), gz.Bytes()[:10]...)
	gzGarbage = append(gzGarbage, random[:200]...)
	gzCut := gz.Bytes()[:gz.Len()/2]
	// A pcapng section header whose block length is absurd.
	ng := []byte{0x0a, 0x0d, 0x0d, 0x0a, 0xff, 0xff, 0xff, 0x7f, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0}
	ng = append(ng, random[:64]...)

	tests := []struct {
		name      string
		path      string
		wantCode  int
		wantErr   []string // substrings of stderr
		integrity string   // key that must be counted (exit 0 cases)
		packets   uint64
	}{
		{"empty file", write("empty.pcap", nil), 2, []string{"empty.pcap", "byte offset 0", "empty input"}, "", 0},
		{"random bytes", write("random.bin", random), 2, []string{"random.bin", "byte offset 0", "unknown format"}, "", 0},
		{"cut in mid-packet", write("cut.pcap", goodBytes[:len(goodBytes)-30]), 0, []string{"cut.pcap", "byte offset", "unexpected EOF"}, "input_truncated", 39},
		{"absurd caplen first", write("absurd.pcap", absurd), 2, []string{"absurd.pcap", "byte offset 24"}, "", 0},
		{"absurd caplen later", write("absurd2.pcap", absurdLater), 0, []string{"absurd2.pcap", "byte offset"}, "input_corrupt", 10},
		{"bogus pcapng block length", write("bogus.pcapng", ng), 2, []string{"bogus.pcapng"}, "", 0},
		{"garbage inside gzip", write("garbage.pcap.gz", gzGarbage), 2, []string{"garbage.pcap.gz"}, "", 0},
		{"gzip cut short", write("cut.pcap.gz", gzCut), 0, []string{"cut.pcap.gz"}, "input_truncated", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runVisor("analyze", "--format", "json", tc.path)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", r.code, tc.wantCode, r.stderr)
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr %q lacks %q", r.stderr, s)
				}
			}
			if strings.Contains(r.stderr, "panic") {
				t.Fatalf("panic: %s", r.stderr)
			}
			if tc.wantCode != 0 {
				return
			}
			if err := report.Validate([]byte(r.stdout)); err != nil {
				t.Fatal(err)
			}
			var rep report.Report
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Integrity[tc.integrity] == 0 {
				t.Errorf("integrity %v lacks %s", rep.Integrity, tc.integrity)
			}
			if tc.packets > 0 && rep.Summary.Net.Packets != tc.packets {
				t.Errorf("read %d packets, want %d", rep.Summary.Net.Packets, tc.packets)
			}
			if s := runVisor("analyze", "--strict", "--format", "json", tc.path); s.code != 1 {
				t.Errorf("--strict: exit %d, want 1", s.code)
			}
		})
	}
}

func TestFormatsFromBytes(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "a.pcap")
	writePcap(t, plain, 30, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	b, _ := os.ReadFile(plain)
	var gz, zs bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(b)
	zw.Close()
	ze, _ := zstd.NewWriter(&zs)
	ze.Write(b)
	ze.Close()
	// Names say nothing true about the format: the bytes decide.
	gzPath := filepath.Join(dir, "x.txt.bin")
	zsPath := filepath.Join(dir, "y.pcapng")
	os.WriteFile(gzPath, gz.Bytes(), 0o644)
	os.WriteFile(zsPath, zs.Bytes(), 0o644)
	for _, tc := range []struct{ path, format string }{{plain, "pcap"}, {gzPath, "pcap+gzip"}, {zsPath, "pcap+zstd"}} {
		t.Run(tc.format, func(t *testing.T) {
			r := analyzeJSON(t, tc.path)
			if r.Inputs[0].Format != tc.format {
				t.Errorf("format %q, want %q", r.Inputs[0].Format, tc.format)
			}
			if r.Summary.DNS.Queries != 30 || r.Summary.DNS.Responses != 30 || r.Summary.DNS.Xacts.Total != 30 {
				t.Errorf("queries %d responses %d xacts %d, want 30 each", r.Summary.DNS.Queries, r.Summary.DNS.Responses, r.Summary.DNS.Xacts.Total)
			}
		})
	}
}
