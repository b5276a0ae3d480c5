package main

import (
	"strings"
	"testing"
)

func TestCLIConventions(t *testing.T) {
	version := runVisor("version")
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"--version is visor version", []string{"--version"}, 0, version.stdout, ""},
		{"analyse is analyze", []string{"analyse", "--top", "0", "x.pcap"}, 2, "", "--top must be at least 1"},
		{"misspelt flag", []string{"analyze", "--tpo", "3", "x.pcap"}, 2, "", "unknown flag: --tpo (did you mean --top?)"},
		{"misspelt flag with value", []string{"analyze", "--fromat=json", "x.pcap"}, 2, "", "did you mean --format?"},
		{"misspelt command", []string{"analize", "x.pcap"}, 2, "", "Did you mean this?\n\tanalyze"},
		{"format values", []string{"__complete", "analyze", "--format", ""}, 0, "table\njson\nopenmetrics\nhtml\nmarkdown\n:4\n", ""},
		{"check's format values", []string{"__complete", "check", "--format", ""}, 0, "table\njson\nhtml\nmarkdown\n:4\n", ""},
		{"progress values", []string{"__complete", "replay", "--progress", ""}, 0, "auto\nalways\nnever\n:4\n", ""},
		{"threshold names", []string{"__complete", "analyze", "--threshold", "nx"}, 0, "nx-min=", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runVisor(tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
					r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
	if version.code != 0 || !strings.HasPrefix(version.stdout, "visor ") {
		t.Errorf("visor version: exit %d, %q", version.code, version.stdout)
	}
}
