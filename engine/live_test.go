package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	dto "github.com/prometheus/client_model/go"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/capture"
	"github.com/visor-dns/visor/internal/lab"
	"github.com/visor-dns/visor/report"
)

// fakeLive yields its packets stamped with the wall clock, then stays idle.
type fakeLive struct {
	mu   sync.Mutex
	pkts [][]byte
	info visor.InputInfo
}

func (f *fakeLive) Next(p *visor.Packet) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.pkts) == 0 {
		time.Sleep(5 * time.Millisecond)
		return capture.ErrIdle
	}
	d := f.pkts[0]
	f.pkts = f.pkts[1:]
	f.info.Packets++
	*p = visor.Packet{TS: time.Now().UnixNano(), Data: d, OrigLen: len(d), LinkType: 1, Number: f.info.Packets}
	return nil
}

func (f *fakeLive) Info() *visor.InputInfo { return &f.info }
func (f *fakeLive) Close() error           { return nil }
func (f *fakeLive) LinkType() uint16       { return 1 }
func (f *fakeLive) Dropped() uint64        { return 7 }

// dnsPair is a query for name and its NXDOMAIN or NOERROR response.
func dnsPair(t *testing.T, id uint16, name string, rcode int) [][]byte {
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeA)
	q.Id = id
	r := new(dns.Msg)
	r.SetRcode(q, rcode)
	qb, _ := q.Pack()
	rb, _ := r.Pack()
	return [][]byte{
		udpPacket(t, "198.51.100.10", "198.51.100.2", 40000+id, 53, qb),
		udpPacket(t, "198.51.100.2", "198.51.100.10", 53, 40000+id, rb),
	}
}

func liveTestConfig(t *testing.T, bucket time.Duration) *Config {
	t.Helper()
	c := &Config{Inputs: []string{"-"}, Top: 10, Bucket: bucket, DNSPorts: []uint16{53}, XactTimeout: 5 * time.Second,
		Slow: 500 * time.Millisecond, Version: "test"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := lab.Scrape(http.DefaultClient, url)
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	return fams
}

var value = lab.Value

func TestLiveRun(t *testing.T) {
	src := &fakeLive{info: visor.InputInfo{Path: "veth-test", Format: "afpacket"}}
	for i := 0; i < 30; i++ {
		rcode := dns.RcodeSuccess
		if i%3 == 0 {
			rcode = dns.RcodeNameError
		}
		src.pkts = append(src.pkts, dnsPair(t, uint16(i), "h.example.", rcode)...)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := liveTestConfig(t, time.Second)
	lo := &Live{Interface: "veth-test", Snaplen: MaxSnaplen, Listen: ln.Addr().String()}
	labels, err := report.ParseLabels([]string{"capture=unit"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		rep, _, err := runLive(ctx, cfg, lo, labels, src, nil, ln, nil, &out, &errOut)
		if err == nil {
			err = report.WriteJSON(&out, rep)
		}
		done <- err
	}()

	// The bucket closes on the wall clock about liveLateness after its end.
	var fams map[string]*dto.MetricFamily
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		fams = scrape(t, base+"/metrics")
		if value(fams, "visor_dns_queries_total") == 30 {
			break
		}
	}
	for _, c := range []struct {
		name string
		kv   []string
		want float64
	}{
		{"visor_dns_queries_total", nil, 30},
		{"visor_dns_responses_total", nil, 30},
		{"visor_net_packets_total", nil, 60},
		{"visor_dns_rcode_total", []string{"rcode", "NXDOMAIN"}, 10},
		{"visor_dns_rcode_total", []string{"rcode", "NOERROR"}, 20},
		{"visor_dns_qtype_total", []string{"qtype", "A", "capture", "unit"}, 30},
		{"visor_live_captured_packets_total", nil, 60},
		{"visor_live_kernel_dropped_total", nil, 7},
	} {
		if got := value(fams, c.name, c.kv...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.kv, got, c.want)
		}
	}
	resp, err := http.Get(base + "/report.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := report.Validate(doc); err != nil {
		t.Errorf("/report.json is not a valid report: %v", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v (stderr %s)", err, errOut.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("live run did not stop on cancel")
	}
	if err := report.Validate(out.Bytes()); err != nil {
		t.Fatalf("final report is not valid: %v\n%s", err, out.String())
	}
	var rep report.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	s := rep.Summary.DNS
	if s.Queries != 30 || s.Responses != 30 || s.Xacts.Total != 30 || rep.Integrity["kernel_dropped"] != 7 {
		t.Errorf("final: %d queries, %d responses, %d xacts, integrity %v", s.Queries, s.Responses, s.Xacts.Total, rep.Integrity)
	}
	if len(rep.Inputs) != 1 || rep.Inputs[0].Path != "veth-test" || rep.Inputs[0].Packets != 60 {
		t.Errorf("inputs: %+v", rep.Inputs)
	}
	for _, b := range rep.Buckets {
		if b.Net.Packets == 0 {
			t.Errorf("empty bucket %s listed", b.Start)
		}
	}
}

func TestLiveStream(t *testing.T) {
	src := &fakeLive{info: visor.InputInfo{Path: "veth-test"}}
	for i := 0; i < 5; i++ {
		src.pkts = append(src.pkts, dnsPair(t, uint16(i), "s.example.", dns.RcodeSuccess)...)
	}
	cfg := liveTestConfig(t, time.Second)
	lo := &Live{Interface: "veth-test", Snaplen: MaxSnaplen, Stream: true, Duration: 2500 * time.Millisecond}
	var out, errOut bytes.Buffer
	if _, _, err := runLive(context.Background(), cfg, lo, nil, src, nil, nil, nil, &out, &errOut); err != nil {
		t.Fatalf("run: %v (%s)", err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var queries uint64
	for _, l := range lines {
		var b report.Bucket
		if err := json.Unmarshal([]byte(l), &b); err != nil {
			t.Fatalf("stream line %q: %v", l, err)
		}
		queries += b.DNS.Queries
	}
	if queries != 5 {
		t.Errorf("streamed buckets count %d queries, want 5 (%d lines)", queries, len(lines))
	}
}

func TestBucketJSON(t *testing.T) {
	b := report.Bucket{Start: 1e9, End: 2e9}
	b.DNS.Queries = 3
	var buf bytes.Buffer
	if err := report.WriteBucketJSON(&buf, &b); err != nil {
		t.Fatal(err)
	}
	line := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if bytes.ContainsRune(line, '\n') || !bytes.Contains(line, []byte(`"qname":[]`)) {
		t.Errorf("bucket line %s: want one line with empty lists as []", line)
	}
}

// udpPacket is an Ethernet/IP/UDP packet carrying payload.
var udpPacket = lab.UDP
