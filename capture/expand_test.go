package capture

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func zstded(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := zstd.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// Issue 16, defect 9: one unreadable file aborted a directory run while
// symlinks and subdirectories were skipped without a word. Every entry of
// a directory is now read or skipped with its reason.
func TestExpandReport(t *testing.T) {
	root := os.Geteuid() == 0 // root reads a file of mode 0
	dir, out := t.TempDir(), t.TempDir()
	pcap := pcapRecords(false, [2]uint32{1, 0})
	write := func(name string, b []byte) func() error {
		return func() error { return os.WriteFile(filepath.Join(dir, name), b, 0o644) }
	}
	link := func(name, target string) func() error {
		return func() error { return os.Symlink(target, filepath.Join(dir, name)) }
	}
	if err := os.WriteFile(filepath.Join(out, "elsewhere.pcap"), pcap, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		make   func() error
		reason string // "" for an input
		cause  string // in the warning
	}{
		{"a.pcap", write("a.pcap", pcap), "", ""},
		{"b.pcapng.gz", write("b.pcapng.gz", gzipped(cat(le.shb(1, 0), le.idb(1, 0)))), "", ""},
		{"c.dnstap.zst", write("c.dnstap.zst", zstded(cq.frame("", ""))), "", ""},
		{"d.dnstap", write("d.dnstap", tapJoin(tapStart, cq.frame("", ""))), "", ""},
		{"outside.pcap", link("outside.pcap", filepath.Join(out, "elsewhere.pcap")), "", ""},
		{"link-to-a", link("link-to-a", "a.pcap"), SkipDuplicate, ""},
		{"dangling", link("dangling", "nowhere.pcap"), SkipUnreadable, "no such file or directory"},
		{"loop", link("loop", "loop"), SkipUnreadable, "too many levels of symbolic links"},
		{"locked.pcap", func() error {
			if root {
				return nil
			}
			return os.WriteFile(filepath.Join(dir, "locked.pcap"), pcap, 0)
		}, SkipUnreadable, "permission denied"},
		{"sub", func() error { return os.Mkdir(filepath.Join(dir, "sub"), 0o755) }, SkipSubdirectory, ""},
		{"link-to-sub", link("link-to-sub", "sub"), SkipSubdirectory, ""},
		{"fifo", func() error { return syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644) }, SkipNotAFile, ""},
		{"notes.txt", write("notes.txt", []byte("notes")), SkipSidecar, ""},
		{"a.pcap.truth.json", write("a.pcap.truth.json", []byte("{}")), SkipSidecar, ""},
		{".hidden.pcap", write(".hidden.pcap", pcap), SkipSidecar, ""},
		{"junk.bin", write("junk.bin", []byte("hello world")), SkipNotACapture, "unknown format (first bytes 68 65 6c 6c)"},
		{"empty", write("empty", nil), SkipNotACapture, "not_a_capture: empty"},
		{"text.gz", write("text.gz", gzipped([]byte("hello world"))), SkipNotACapture, "unknown format"},
		{"broken.gz", write("broken.gz", []byte{0x1f, 0x8b, 0, 0, 0}), SkipNotACapture, "gzip: unexpected EOF"},
		{"bad.gz", write("bad.gz", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff}), SkipNotACapture, "flate: corrupt input"},
		{"short.zst", write("short.zst", zstded([]byte{0xa1, 0xb2})), SkipNotACapture, "unknown format (first bytes a1 b2)"},
	}
	for _, tc := range tests {
		if err := tc.make(); err != nil {
			t.Fatal(err)
		}
	}
	paths, skipped, err := ExpandReport([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var wantPaths []string
	var wantSkipped []Skipped
	for _, tc := range tests {
		p := filepath.Join(dir, tc.name)
		switch {
		case tc.name == "locked.pcap" && root:
			t.Log("running as root: a file of mode 0 is readable; run as a user to test permission denied")
		case tc.reason == "":
			wantPaths = append(wantPaths, p)
		default:
			wantSkipped = append(wantSkipped, Skipped{Path: p, Reason: tc.reason})
		}
	}
	slices.Sort(wantPaths)
	slices.SortFunc(wantSkipped, func(a, b Skipped) int { return strings.Compare(a.Path, b.Path) })
	if !slices.Equal(paths, wantPaths) {
		t.Errorf("paths\n%q\nwant\n%q", paths, wantPaths)
	}
	if len(skipped) != len(wantSkipped) {
		t.Fatalf("skipped %v\nwant %v", skipped, wantSkipped)
	}
	for i, s := range skipped {
		w := wantSkipped[i]
		if s.Path != w.Path || s.Reason != w.Reason {
			t.Errorf("skipped %d: %v, want %s (%s)", i, s, w.Path, w.Reason)
			continue
		}
		for _, tc := range tests {
			if filepath.Join(dir, tc.name) == s.Path && !strings.Contains(s.String(), tc.cause) {
				t.Errorf("%v: want %q in it", s, tc.cause)
			}
		}
		if counted := w.Reason != SkipSidecar && w.Reason != SkipDuplicate; s.Counted() != counted {
			t.Errorf("%v: counted %v", s, s.Counted())
		}
	}
	// every path found opens
	for i, p := range paths {
		src, err := Open(p, i, nil)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		src.Close()
	}
}

// Expand, for callers that do not tell what was skipped, fails on an
// entry that may be a capture visor cannot read, as before ExpandReport.
func TestExpand(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.pcap"), pcapRecords(false, [2]uint32{1, 0}), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	paths, err := Expand([]string{dir})
	if err != nil || !slices.Equal(paths, []string{filepath.Join(dir, "a.pcap")}) {
		t.Fatalf("%q, %v", paths, err)
	}
	os.Symlink("nowhere", filepath.Join(dir, "b.pcap"))
	if _, err := Expand([]string{dir}); err == nil || !strings.Contains(err.Error(), "b.pcap: unreadable: no such file or directory") {
		t.Errorf("error %v", err)
	}
}

func TestExpandReportArgs(t *testing.T) {
	dir := t.TempDir()
	pcap := pcapRecords(false, [2]uint32{1, 0})
	a, junk := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "junk")
	os.WriteFile(a, pcap, 0o644)
	os.WriteFile(junk, []byte("junk junk"), 0o644)
	only := filepath.Join(dir, "only")
	os.Mkdir(only, 0o755)
	os.WriteFile(filepath.Join(only, "README.md"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(only, "x.bin"), []byte("xxxxx"), 0o644)
	tests := []struct {
		name    string
		args    []string
		paths   []string
		skipped []string // reasons
		err     string
	}{
		{"a file named twice and in its directory", []string{"-", a, a, dir}, []string{"-", a, a}, []string{SkipDuplicate, SkipNotACapture, SkipSubdirectory}, ""},
		{"a file that is no capture, named, stays an input", []string{junk}, []string{junk}, nil, ""},
		{"a missing name", []string{a, filepath.Join(dir, "missing")}, nil, nil, "no such file or directory"},
		{"a directory of no capture", []string{a, only}, nil, []string{SkipSidecar, SkipNotACapture}, "no capture in the directory (2 entries skipped)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			paths, skipped, err := ExpandReport(tc.args)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
			var reasons []string
			for _, s := range skipped {
				reasons = append(reasons, s.Reason)
			}
			if !slices.Equal(paths, tc.paths) || !slices.Equal(reasons, tc.skipped) {
				t.Errorf("paths %q skipped %v, want %q %v", paths, skipped, tc.paths, tc.skipped)
			}
		})
	}
}
