package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestLiveDNSTapSummary: `visor live --dnstap-socket --format summary -o
// x.vsum` writes the run's summary when stopped; analysed, it gives what
// `visor analyze` of the two dnstap files gives. (The interface mode is
// tested as root by TestLiveLab, and in engine by TestLiveSummary.) Not
// the transactions: two writers at once interleave differently every run,
// as in TestLiveDNSTapSocket.
func TestLiveDNSTapSummary(t *testing.T) {
	files := []string{"../../testdata/unbound.dnstap", "../../testdata/knot.dnstap"}
	dir := t.TempDir()
	sock, sum := filepath.Join(dir, "dnstap.sock"), filepath.Join(dir, "live.vsum")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"live", "--dnstap-socket", sock, "--format", "summary", "-o", sum, "--label", "server=ns1"}, nil, &out, &errb)
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
	cancel() // as SIGINT does
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("visor live did not stop")
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q: the summary goes to -o", out.String())
	}
	got, want := analyzeJSON(t, sum), analyzeJSON(t, files...)
	g, w := got.Summary.DNS, want.Summary.DNS
	for _, c := range []struct {
		name string
		g, w uint64
	}{
		{"net.packets", got.Summary.Net.Packets, want.Summary.Net.Packets},
		{"queries", g.Queries, w.Queries}, {"responses", g.Responses, w.Responses},
		{"udp", g.UDP, w.UDP}, {"NOERROR", g.Rcodes["NOERROR"], w.Rcodes["NOERROR"]},
		{"A", g.Qtypes["A"], w.Qtypes["A"]}, {"qname cardinality", g.Cardinality.QName, w.Cardinality.QName},
	} {
		if c.g != c.w || c.w == 0 {
			t.Errorf("%s: the live summary says %d, analyze of the files %d", c.name, c.g, c.w)
		}
	}
	if len(got.Inputs) != 1 || got.Inputs[0].Format != "dnstap" {
		t.Errorf("inputs %+v, want the socket", got.Inputs)
	}
}
