package main

import (
	"path/filepath"
	"testing"
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
	out := liveDNSTap(t, sock, files, "--format", "summary", "-o", sum, "--label", "server=ns1")
	if len(out) != 0 {
		t.Errorf("stdout %q: the summary goes to -o", out)
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
