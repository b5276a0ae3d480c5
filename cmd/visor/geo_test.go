package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	mdns "github.com/miekg/dns"

	"github.com/visor-dns/visor/geo/geotest"
	"github.com/visor-dns/visor/internal/lab"
	"github.com/visor-dns/visor/report"
)

// udpPacket builds an Ethernet/IP/UDP packet from src to dst (either
// family) carrying payload.
// udpPacket is an Ethernet/IP/UDP packet carrying payload.
var udpPacket = lab.UDP

// writePackets writes packets to a pcap file, one every 100 ms from t0.
func writePackets(t *testing.T, path string, t0 time.Time, packets [][]byte) {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i, p := range packets {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * 100 * time.Millisecond), CaptureLength: len(p), Length: len(p)}
		if err := w.WritePacket(ci, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// geoCapture is UDP traffic (not DNS) between addresses of geotest's networks:
//
//	3× 198.51.100.10 → 198.51.100.1       Amsterdam/64500 → Amsterdam/64500
//	2× 198.51.100.1 → 198.51.100.130      Amsterdam/64500 → Los Angeles/64501
//	1× 198.51.100.200 → 198.51.100.1      Unknown/64501 → Amsterdam/64500
//	2× 2001:db8:100::104 → 2001:db8:200::1 Berlin/64502 → OC/AU/Unknown
//	1× 2001:db8:300::1 → 2001:db8:100::104 Unknown/Unknown → Berlin/64502
func geoCapture(t *testing.T) string {
	t.Helper()
	var pkts [][]byte
	add := func(n int, src, dst string) {
		for i := 0; i < n; i++ {
			pkts = append(pkts, udpPacket(t, src, dst, 40000, 9999, []byte("visor")))
		}
	}
	add(3, "198.51.100.10", "198.51.100.1")
	add(2, "198.51.100.1", "198.51.100.130")
	add(1, "198.51.100.200", "198.51.100.1")
	add(2, "2001:db8:100::104", "2001:db8:200::1")
	add(1, "2001:db8:300::1", "2001:db8:100::104")
	path := filepath.Join(t.TempDir(), "geo.pcap")
	// Half a second in: --bucket 1s puts the first five in one bucket, the rest in the next.
	writePackets(t, path, time.Date(2026, 11, 27, 6, 0, 0, 500e6, time.UTC), pkts)
	return path
}

// tops renders a top list as "name=estimate" strings, for comparison.
func tops(items []report.TopItem) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.Name+"="+itoa(it.Estimate))
		if it.Error != 0 {
			out[len(out)-1] += "±" + itoa(it.Error)
		}
	}
	return out
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func sameTop(t *testing.T, what string, got []report.TopItem, want ...string) {
	t.Helper()
	if g := strings.Join(tops(got), ", "); g != strings.Join(want, ", ") {
		t.Errorf("%s:\n got %s\nwant %s", what, g, strings.Join(want, ", "))
	}
}

func TestGeoNetTops(t *testing.T) {
	city, asn := geotest.Write(t)
	capture := geoCapture(t)
	for _, c := range []struct {
		name     string
		args     []string
		geo, asn []string
	}{
		{"no host-spec: both ends", nil,
			[]string{"EU/NL/NH/Amsterdam=9", "EU/Germany/BE/Berlin=3", "NA/US/CA/Los Angeles=2", "OC/AU=2", "Unknown=2"},
			[]string{"64500/Example Org=9", "64501/Other Net=3", "64502/Example v6=3", "Unknown=3"}},
		// In: the source; out: the destination; the IPv6 packets are
		// neither, so both of their ends count.
		{"host-spec", []string{"--host-spec", "198.51.100.1/32"},
			[]string{"EU/Germany/BE/Berlin=3", "EU/NL/NH/Amsterdam=3", "NA/US/CA/Los Angeles=2", "OC/AU=2", "Unknown=2"},
			[]string{"64500/Example Org=3", "64501/Other Net=3", "64502/Example v6=3", "Unknown=3"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ref []byte
			for _, shards := range []string{"1", "3"} {
				args := append([]string{"--geoip-city", city, "--geoip-asn", asn, "--shards", shards}, c.args...)
				r := analyzeJSON(t, append(args, capture)...)
				sameTop(t, "net.top.geo", r.Summary.Net.Top.Geo, c.geo...)
				sameTop(t, "net.top.asn", r.Summary.Net.Top.ASN, c.asn...)
				if len(r.Buckets) != 1 {
					t.Fatalf("%d buckets", len(r.Buckets))
				}
				sameTop(t, "bucket net.top.geo", r.Buckets[0].Net.Top.Geo, c.geo...)
				b, _ := json.Marshal(r)
				if ref == nil {
					ref = b
				} else if !bytes.Equal(b, ref) {
					t.Errorf("--shards %s gives a different report than --shards 1", shards)
				}
			}
		})
	}
	t.Run("top cuts the lists", func(t *testing.T) {
		r := analyzeJSON(t, "--geoip-city", city, "--geoip-asn", asn, "--top", "2", capture)
		sameTop(t, "net.top.geo", r.Summary.Net.Top.Geo, "EU/NL/NH/Amsterdam=9", "EU/Germany/BE/Berlin=3")
		sameTop(t, "net.top.asn", r.Summary.Net.Top.ASN, "64500/Example Org=9", "64501/Other Net=3")
	})
	t.Run("one database", func(t *testing.T) {
		r := analyzeJSON(t, "--geoip-asn", asn, capture)
		if r.Summary.Net.Top.Geo != nil {
			t.Errorf("geo without --geoip-city: %v", r.Summary.Net.Top.Geo)
		}
		sameTop(t, "net.top.asn", r.Summary.Net.Top.ASN, "64500/Example Org=9", "64501/Other Net=3", "64502/Example v6=3", "Unknown=3")
	})
	t.Run("summary merges buckets", func(t *testing.T) {
		r := analyzeJSON(t, "--geoip-city", city, "--bucket", "1s", "--shards", "2", capture)
		if len(r.Buckets) != 2 {
			t.Fatalf("%d buckets", len(r.Buckets))
		}
		sameTop(t, "bucket 0 net.top.geo", r.Buckets[0].Net.Top.Geo, "EU/NL/NH/Amsterdam=8", "NA/US/CA/Los Angeles=2")
		sameTop(t, "bucket 1 net.top.geo", r.Buckets[1].Net.Top.Geo, "EU/Germany/BE/Berlin=3", "OC/AU=2", "Unknown=2", "EU/NL/NH/Amsterdam=1")
		sameTop(t, "net.top.geo", r.Summary.Net.Top.Geo, "EU/NL/NH/Amsterdam=9", "EU/Germany/BE/Berlin=3", "NA/US/CA/Los Angeles=2", "OC/AU=2", "Unknown=2")
	})
}

// TestGeoAbsentWithoutDatabases: no database, no geo or asn key anywhere.
func TestGeoAbsentWithoutDatabases(t *testing.T) {
	r := runVisor("analyze", "--format", "json", geoCapture(t))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, k := range []string{`"geo"`, `"asn"`, `"ecs_geo"`, `"ecs_asn"`} {
		if strings.Contains(r.stdout, k) {
			t.Errorf("report has %s without databases", k)
		}
	}
}

// ecsQuery packs a query from client to 198.51.100.1, with a Client Subnet
// option when subnet is a CIDR; a response echoes it with a scope.
func ecsQuery(t *testing.T, id uint16, client, subnet string, response bool) []byte {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion("www.example.com.", mdns.TypeA)
	m.Id = id
	m.SetEdns0(1232, false)
	if subnet != "" {
		ip, n, err := net.ParseCIDR(subnet)
		if err != nil {
			t.Fatal(err)
		}
		ones, _ := n.Mask.Size()
		family := uint16(1)
		if ip.To4() == nil {
			family = 2
		}
		opt := &mdns.EDNS0_SUBNET{Code: mdns.EDNS0SUBNET, Family: family, SourceNetmask: uint8(ones), Address: ip}
		if response {
			opt.SourceScope = uint8(ones)
		}
		m.IsEdns0().Option = append(m.IsEdns0().Option, opt)
	}
	src, dst, sport, dport := client, "198.51.100.1", uint16(40000+id), uint16(53)
	if strings.Contains(client, ":") {
		dst = "2001:db8:100::1"
	}
	if response {
		m.Response = true
		src, dst, sport, dport = dst, src, dport, sport
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return udpPacket(t, src, dst, sport, dport, b)
}

func TestGeoECSTops(t *testing.T) {
	city, asn := geotest.Write(t)
	var pkts [][]byte
	id := uint16(0)
	q := func(n int, client, subnet string) {
		for i := 0; i < n; i++ {
			id++
			pkts = append(pkts, ecsQuery(t, id, client, subnet, false), ecsQuery(t, id, client, subnet, true))
		}
	}
	q(3, "198.51.100.10", "198.51.100.77/24")           // 198.51.100.0/24: Amsterdam, 64500
	q(2, "198.51.100.10", "198.51.100.200/26")          // 198.51.100.192/26: no location, 64501
	q(1, "2001:db8:100::104", "2001:db8:100:ab12::/56") // Berlin, 64502
	q(2, "198.51.100.10", "")                           // no Client Subnet
	path := filepath.Join(t.TempDir(), "ecs.pcap")
	writePackets(t, path, time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC), pkts)

	// Queries only: the responses' echoed options are not counted again.
	prefixes := []string{"198.51.100.0/24=3", "198.51.100.192/26=2", "2001:db8:100:ab00::/56=1"}
	r := analyzeJSON(t, "--geoip-city", city, "--geoip-asn", asn, "--shards", "3", path)
	d := r.Summary.DNS
	if d.Queries != 8 || d.ECS != 12 {
		t.Fatalf("queries %d, ecs %d", d.Queries, d.ECS)
	}
	sameTop(t, "dns.top.ecs", d.Top.ECS, prefixes...)
	sameTop(t, "dns.top.ecs_geo", d.Top.ECSGeo, "EU/NL/NH/Amsterdam=3", "Unknown=2", "EU/Germany/BE/Berlin=1")
	sameTop(t, "dns.top.ecs_asn", d.Top.ECSASN, "64500/Example Org=3", "64501/Other Net=2", "64502/Example v6=1")

	// Without databases the prefixes stay, their geo and asn go.
	r = analyzeJSON(t, path)
	sameTop(t, "dns.top.ecs", r.Summary.DNS.Top.ECS, prefixes...)
	if r.Summary.DNS.Top.ECSGeo != nil || r.Summary.DNS.Top.ECSASN != nil || r.Summary.Net.Top.Geo != nil {
		t.Errorf("geo tops without databases: %+v", r.Summary.DNS.Top)
	}

	om := runVisor("analyze", "--format", "openmetrics", "--geoip-city", city, "--geoip-asn", asn, path)
	for _, want := range []string{
		`visor_dns_top_ecs_queries{ecs="198.51.100.0/24"} 3.0 `,
		`visor_dns_top_ecs_geo_queries{geo="EU/Germany/BE/Berlin"} 1.0 `,
		`visor_dns_top_ecs_asn_queries{asn="64501/Other Net"} 2.0 `,
	} {
		if om.code != 0 || !strings.Contains(om.stdout, want) {
			t.Errorf("exit %d %s: no %q in\n%s", om.code, om.stderr, want, om.stdout)
		}
	}
}

func TestGeoDatabaseErrors(t *testing.T) {
	city, asn := geotest.Write(t)
	dir := t.TempDir()
	capture := geoCapture(t)
	notDB := filepath.Join(dir, "not.mmdb")
	if err := os.WriteFile(notDB, []byte("not a MaxMind database\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.mmdb")
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"missing city", []string{"analyze", "--geoip-city", missing}, []string{"--geoip-city", missing, "no such file"}},
		{"missing asn", []string{"analyze", "--geoip-city", city, "--geoip-asn", missing}, []string{"--geoip-asn", missing}},
		{"not a database", []string{"analyze", "--geoip-asn", notDB}, []string{"--geoip-asn", notDB}},
		{"a directory", []string{"analyze", "--geoip-city", dir}, []string{"--geoip-city", dir}},
		{"ASN database as city", []string{"analyze", "--geoip-city", asn}, []string{"--geoip-city", asn, "GeoLite2-ASN"}},
		{"check command", []string{"check", "--assert", "net.packets > 0", "--geoip-city", missing}, []string{"--geoip-city", missing}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runVisor(append(c.args, capture)...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2; stderr %s", r.code, r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q does not say %q", r.stderr, w)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout: %s", r.stdout)
			}
		})
	}
}

// TestGeoCheck: the new tops are fields of check expressions.
func TestGeoCheck(t *testing.T) {
	city, asn := geotest.Write(t)
	capture := geoCapture(t)
	r := runVisor("check", "--geoip-city", city, "--geoip-asn", asn,
		"--assert", `net.top.geo[0].name == "EU/NL/NH/Amsterdam" && net.top.asn[0].estimate == 9`, capture)
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
}

// TestGeoOpenMetrics: the geo and asn tops are gauges, one series per name;
// without databases the families are not written.
func TestGeoOpenMetrics(t *testing.T) {
	city, asn := geotest.Write(t)
	capture := geoCapture(t)
	r := runVisor("analyze", "--format", "openmetrics", "--geoip-city", city, "--geoip-asn", asn, capture)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"# TYPE visor_net_top_geo_packets gauge\n",
		`visor_net_top_geo_packets{geo="EU/NL/NH/Amsterdam"} 9.0 `,
		`visor_net_top_geo_packets{geo="Unknown"} 2.0 `,
		"# TYPE visor_net_top_asn_packets gauge\n",
		`visor_net_top_asn_packets{asn="64500/Example Org"} 9.0 `,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("no %q in\n%s", want, r.stdout)
		}
	}
	r = runVisor("analyze", "--format", "openmetrics", capture)
	if r.code != 0 || strings.Contains(r.stdout, "_geo_") || strings.Contains(r.stdout, "_asn_") {
		t.Errorf("exit %d; geo or asn series without databases:\n%s", r.code, r.stdout)
	}
}

func TestGeoTable(t *testing.T) {
	city, asn := geotest.Write(t)
	r := runVisor("analyze", "--geoip-city", city, "--geoip-asn", asn, geoCapture(t))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, re := range []string{`TOP GEO +COUNT +TOP ASN +COUNT`, `EU/NL/NH/Amsterdam +9 +64500/Example Org +9`} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("no %s in\n%s", re, r.stdout)
		}
	}
	if r = runVisor("analyze", geoCapture(t)); strings.Contains(r.stdout, "TOP GEO") || strings.Contains(r.stdout, "TOP ECS") {
		t.Errorf("geo tables without databases:\n%s", r.stdout)
	}
}
