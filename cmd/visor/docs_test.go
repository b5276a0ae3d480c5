package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const docsDir = "../../docs"

// TestDocsUpToDate regenerates the reference into a temporary directory and
// fails when the committed docs/cli, docs/man, docs/metrics.md or the
// thresholds table of docs/findings.md differ: run `make docs`.
func TestDocsUpToDate(t *testing.T) {
	dir := t.TempDir()
	page, err := os.ReadFile(filepath.Join(docsDir, "findings.md"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "findings.md"), page, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"write-documentation", dir}, nil, io.Discard, &stderr); code != 0 {
		t.Fatalf("write-documentation: exit %d: %s", code, stderr.String())
	}
	for _, name := range []string{"metrics.md", "findings.md"} {
		compareDocFile(t, filepath.Join(dir, name), filepath.Join(docsDir, name))
	}
	for _, sub := range []string{"cli", "man"} {
		got, want := listDir(t, filepath.Join(dir, sub)), listDir(t, filepath.Join(docsDir, sub))
		if !slices.Equal(got, want) {
			t.Errorf("docs/%s holds %q, the commands make %q: run make docs", sub, want, got)
		}
		for _, name := range got {
			if slices.Contains(want, name) {
				compareDocFile(t, filepath.Join(dir, sub, name), filepath.Join(docsDir, sub, name))
			}
		}
	}
}

func compareDocFile(t *testing.T, generated, committed string) {
	t.Helper()
	got, err := os.ReadFile(generated)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(committed)
	if err != nil {
		t.Errorf("%v: run make docs", err)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with the code: run make docs and review the diff", committed)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestDocsMetricsEveryFamily: the sample report makes every family the
// builder knows, so none is missing from docs/metrics.md.
func TestDocsMetricsEveryFamily(t *testing.T) {
	md, err := metricsMarkdown()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"visor_net_packets_total", "visor_dns_queries_total", "visor_dns_responses_total",
		"visor_dns_rcode_total", "visor_dns_qtype_total", "visor_net_top_geo_packets", "visor_dns_top_ecs_asn_queries"} {
		if !bytes.Contains(md, []byte("`"+name+"`")) {
			t.Errorf("metrics.md lacks %s", name)
		}
	}
}

// TestDocsREADMESize: the README is a front page; reference lives in docs/.
func TestDocsREADMESize(t *testing.T) {
	fi, err := os.Stat("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 10<<10 {
		t.Errorf("README.md is %d bytes, more than 10 KB: move reference into docs/", fi.Size())
	}
}
