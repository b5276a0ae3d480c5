package main

import (
	"strings"
	"testing"
)

// TestPostMortemFormats: analyze and check write the HTML and Markdown
// reports of a capture with a finding, with the command line as typed.
func TestPostMortemFormats(t *testing.T) {
	const capture = "../../testdata/attack-random-subdomain.pcap"
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"analyze html", []string{"analyze", "--bucket", "1s", "--format", "html", capture}, []string{
			"<!DOCTYPE html>", `data-kind="random_subdomain"`, `data-chart="packets"`, `data-points="8"`, `class="band sev-high"`,
			"<code>visor analyze --bucket 1s --format html " + capture + "</code>"}},
		{"analyze markdown", []string{"analyze", "--bucket", "1s", "--format", "markdown", capture}, []string{
			"## Findings (1)", "### HIGH random\\_subdomain ` victim.example `", "**Command:** ` visor analyze --bucket 1s --format markdown " + capture + " `"}},
		{"check html", []string{"check", "--bucket", "1s", "--format", "html", "--assert", "dns.queries > 0", capture}, []string{
			`<h2>Assertions (1 of 1 passed)</h2>`, "<code>dns.queries &gt; 0</code>", `data-kind="random_subdomain"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runVisor(tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q", w)
				}
			}
		})
	}
}
