package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// check --baseline: expressions read the baseline's values beside the
// run's, whatever the baseline is (JSON report or capture).
func TestCheckBaseline(t *testing.T) {
	rep := filepath.Join(t.TempDir(), "lab.json")
	if r := runVisor("analyze", "--format", "json", "-o", rep, labEth); r.code != 0 {
		t.Fatalf("analyze: exit %d: %s", r.code, r.stderr)
	}
	ordinary, attack := "../../testdata/attack-ordinary.pcap", "../../testdata/attack-random-subdomain.pcap"
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string // substrings stdout must hold
		stderr string
	}{
		{name: "report baseline, same run", code: 0, args: []string{"--baseline", rep,
			"--assert", "dns.rcodes.SERVFAIL <= 2 * baseline.dns.rcodes.SERVFAIL + 10",
			"--assert", "dns.queries == baseline.dns.queries && len(findings) == len(baseline.findings)",
			labEth},
			stdout: []string{"PASS  dns.rcodes.SERVFAIL <= 2 * baseline.dns.rcodes.SERVFAIL + 10   (dns.rcodes.SERVFAIL=9, baseline.dns.rcodes.SERVFAIL=9 → 28)",
				"2 assertions: 2 passed, 0 failed"}},
		{name: "capture baseline, attack", code: 1, args: []string{"--baseline", ordinary,
			"--assert", "dns.rcodes.NXDOMAIN <= 2 * baseline.dns.rcodes.NXDOMAIN + 10",
			"--assert", "baseline.dns.rcodes.REFUSED == 4",
			attack},
			stdout: []string{"FAIL  dns.rcodes.NXDOMAIN <= 2 * baseline.dns.rcodes.NXDOMAIN + 10   (dns.rcodes.NXDOMAIN=2448, baseline.dns.rcodes.NXDOMAIN=46 → 102)",
				"PASS  baseline.dns.rcodes.REFUSED == 4"},
			stderr: "1 of 2 assertions failed"},
		{name: "summary baseline", code: 0, args: []string{"--baseline", writeSummary(t, labEth),
			"--assert", "dns.queries == baseline.dns.queries && dns.rcodes.NXDOMAIN == baseline.dns.rcodes.NXDOMAIN",
			"--assert", "len(baseline.inputs) == 1", labEth},
			stdout: []string{"2 assertions: 2 passed, 0 failed"}},
		{name: "per bucket against the whole baseline", code: 0, args: []string{"--baseline", rep, "--bucket", "1s", "--per-bucket",
			"--assert", "dns.queries <= baseline.dns.queries", labEth},
			stdout: []string{"per bucket: true in all"}},
		{name: "no baseline", code: 2, args: []string{"--assert", "baseline.dns.queries > 0", labEth},
			stderr: "no baseline was given"},
		{name: "unknown baseline field", code: 2, args: []string{"--baseline", rep, "--assert", "baseline.dns.respones > 0", labEth},
			stderr: "unknown field baseline.dns.respones"},
		{name: "missing baseline", code: 2, args: []string{"--baseline", "nope.vsum", "--assert", "dns.queries > 0", labEth},
			stderr: "--baseline: stat nope.vsum: no such file"},
		{name: "stdin baseline", code: 2, args: []string{"--baseline", "-", "--assert", "dns.queries > 0", labEth},
			stderr: "--baseline needs a file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runVisor(append([]string{"check"}, tt.args...)...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", r.code, tt.code, r.stderr)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout does not say %q:\n%s", want, r.stdout)
				}
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q does not say %q", r.stderr, tt.stderr)
			}
		})
	}
}
