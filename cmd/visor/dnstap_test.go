package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dnstap "github.com/dnstap/golang-dnstap"
	framestream "github.com/farsightsec/golang-framestream"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/capture"
	"github.com/visor-dns/visor/internal/truth"
	"github.com/visor-dns/visor/report"
)

// tapTruthFiles are testdata's dnstap truths (the lab tier checks fresh ones).
func tapTruthFiles(t *testing.T) []string {
	dirs := []string{"../../testdata"}
	var out []string
	for _, d := range dirs {
		m, _ := filepath.Glob(filepath.Join(d, "*.dnstap.dnstap-read.json"))
		out = append(out, m...)
	}
	if len(out) == 0 {
		t.Fatal("no *.dnstap.dnstap-read.json in testdata/ (internal/lab/scenarios TestDnstapFiles makes them: docs/labs.md)")
	}
	return out
}

// tapTypeCounts reads a dnstap file with visor's reader and counts its
// messages by dnstap type.
func tapTypeCounts(t *testing.T, path string) map[string]uint64 {
	t.Helper()
	src, err := capture.Open(path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	n := map[string]uint64{}
	var p visor.Packet
	for {
		err := src.Next(&p)
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		n[p.Tap.Type]++
	}
}

// TestDNSTapCountsEqualDnstapRead: on real unbound and knotd files, the
// counts per message type, queries and responses equal dnstap-read's.
func TestDNSTapCountsEqualDnstapRead(t *testing.T) {
	for _, tf := range tapTruthFiles(t) {
		path := strings.TrimSuffix(tf, ".dnstap-read.json")
		t.Run(filepath.Base(path), func(t *testing.T) {
			var want truth.Tap
			readJSON(t, tf, &want)
			if want.Messages == 0 {
				t.Fatal("the truth counts no message")
			}
			sameMap(t, "types", tapTypeCounts(t, path), want.Types)
			for _, d := range want.Diff(analyzeJSON(t, path)) {
				t.Error(d)
			}
		})
	}
}

// TestDNSTapClientSideEqualsPcap: tcpdump on unbound's client-facing
// interface and unbound's CLIENT_* messages saw the same traffic, so the
// client-side DNS counts agree. The dnstap side is restricted to CLIENT_*
// with --bpf: unbound's RESOLVER_* messages all go to knotd
// (198.51.100.2, 2001:db8:100::2), which no client queried through unbound's
// interface; the pcap holds only traffic to and from unbound's addresses.
func TestDNSTapClientSideEqualsPcap(t *testing.T) {
	pcap := analyzeJSON(t, "../../testdata/unbound-client.pcap")
	tap := analyzeJSON(t, "--bpf", "not host 198.51.100.2 and not host 2001:db8:100::2", "../../testdata/unbound.dnstap")
	if pcap.Summary.DNS.Queries == 0 {
		t.Fatal("no queries in the pcap")
	}
	for _, d := range truth.ClientSideDiff(pcap, tap) {
		t.Error(d)
	}
}

// TestLiveDNSTapSocket runs `visor live --dnstap-socket` in process and has
// two Frame Streams writers (golang-framestream, bidirectional, as unbound
// and knotd speak it) send the lab files at once; the report after the
// stop equals `visor analyze` of the two files. The lab scenario
// TestDnstapLive does the same with a running unbound.
func TestLiveDNSTapSocket(t *testing.T) {
	files := []string{"../../testdata/unbound.dnstap", "../../testdata/knot.dnstap"}
	sock := filepath.Join(t.TempDir(), "dnstap.sock")
	out := liveDNSTap(t, sock, files, "--format", "json")
	if err := report.Validate(out); err != nil {
		t.Fatalf("report does not validate: %v", err)
	}
	var live report.Report
	if err := json.Unmarshal(out, &live); err != nil {
		t.Fatal(err)
	}
	want := analyzeJSON(t, files...)
	g, w := live.Summary.DNS, want.Summary.DNS
	for _, c := range []struct {
		name string
		g, w uint64
	}{
		{"net.packets", live.Summary.Net.Packets, want.Summary.Net.Packets},
		{"net.in", live.Summary.Net.In, want.Summary.Net.In},
		{"net.out", live.Summary.Net.Out, want.Summary.Net.Out},
		{"queries", g.Queries, w.Queries}, {"responses", g.Responses, w.Responses},
		{"udp", g.UDP, w.UDP}, {"tcp", g.TCP, w.TCP}, {"ipv6", g.IPv6, w.IPv6}, {"nodata", g.Nodata, w.Nodata},
	} {
		if c.g != c.w || c.w == 0 {
			t.Errorf("%s: live %d, analyze %d", c.name, c.g, c.w)
		}
	}
	sameMap(t, "rcodes", g.Rcodes, w.Rcodes)
	sameMap(t, "qtypes", g.Qtypes, w.Qtypes)
	if len(live.Inputs) != 1 || live.Inputs[0].Format != "dnstap" || live.Inputs[0].Identity == "" {
		t.Errorf("inputs %+v", live.Inputs)
	}
}

// sendDNSTap streams a dnstap file's frames to a socket as a bidirectional
// Frame Streams writer, and closes with STOP and the server's FINISH.
func sendDNSTap(sock, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := framestream.NewReader(f, &framestream.ReaderOptions{ContentTypes: [][]byte{dnstap.FSContentType}})
	if err != nil {
		return err
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		return err
	}
	defer c.Close()
	w, err := framestream.NewWriter(c, &framestream.WriterOptions{ContentTypes: [][]byte{dnstap.FSContentType},
		Bidirectional: true, Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	buf := make([]byte, capture.MaxFrameLen)
	for {
		n, err := r.ReadFrame(buf)
		if err == framestream.EOF || err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if _, err := w.WriteFrame(buf[:n]); err != nil {
			return err
		}
	}
	return w.Close()
}

func TestLiveUsage(t *testing.T) {
	for _, args := range [][]string{
		{"live"},
		{"live", "-i", "eth0", "--snaplen", "10"}, // -i works now (live_iface.go): a bad flag of its own
		{"live", "-i", "eth0", "--dnstap-socket", "/tmp/x.sock"},
		{"live", "--dnstap-socket", "/tmp/x.sock", "--duration", "-1s"},
		{"live", "--dnstap-socket", "/tmp/x.sock", "extra"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, nil, &out, &errb); code != exitUsage || errb.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}

func TestLiveDNSTapDuration(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "dnstap.sock")
	var out, errb bytes.Buffer
	start := time.Now()
	code := run(context.Background(), []string{"live", "--dnstap-socket", sock, "--duration", "300ms", "--format", "json"}, nil, &out, &errb)
	if code != 0 || time.Since(start) > 5*time.Second {
		t.Fatalf("exit %d after %s: %s", code, time.Since(start), errb.String())
	}
	// Not report.Validate: an input with no packet has empty first_ts and
	// last_ts, which the schema refuses (the same for an empty pcap).
	var r report.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || len(r.Inputs) != 1 || r.Inputs[0].Packets != 0 {
		t.Fatalf("report %v: %s", err, out.String())
	}
}

// liveDNSTap runs `visor live --dnstap-socket sock` with args, sends it the
// dnstap files at once (one writer each), stops it as SIGINT does, and
// returns its standard output; a failed run fails the test.
func liveDNSTap(t *testing.T, sock string, files []string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, append([]string{"live", "--dnstap-socket", sock}, args...), nil, &out, &errb)
	}()
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i == 500 {
			t.Fatalf("no socket: %s", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var wg sync.WaitGroup
	for _, f := range files {
		wg.Add(1)
		go func(f string) {
			defer wg.Done()
			if err := sendDNSTap(sock, f); err != nil {
				t.Error(err)
			}
		}(f)
	}
	wg.Wait()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("visor live did not stop")
	}
	return out.Bytes()
}
