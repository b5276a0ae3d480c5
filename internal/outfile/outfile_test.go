package outfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWrite(t *testing.T) {
	boom := errors.New("disk full")
	tests := []struct {
		name    string
		path    func(dir string) string
		old     string // previous content, if any
		write   string
		fail    error
		wantErr string
		want    string // content after
	}{
		{name: "new file", path: func(d string) string { return filepath.Join(d, "r.json") }, write: "new", want: "new"},
		{name: "replaces", path: func(d string) string { return filepath.Join(d, "r.json") }, old: "old", write: "new", want: "new"},
		{name: "failed write keeps the old file", path: func(d string) string { return filepath.Join(d, "r.json") },
			old: "old", write: "partial", fail: boom, wantErr: "disk full", want: "old"},
		{name: "missing directory", path: func(d string) string { return filepath.Join(d, "missing", "r.json") },
			write: "x", wantErr: "cannot create"},
		{name: "long name", path: func(d string) string { return filepath.Join(d, strings.Repeat("n", 250)) }, write: "x", want: "x"},
		{name: "full device", path: func(string) string { return "/dev/full" }, write: "x", wantErr: "no space left"},
		{name: "null device", path: func(string) string { return "/dev/null" }, write: "x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.path(dir)
			if tc.old != "" {
				os.WriteFile(path, []byte(tc.old), 0o644)
			}
			err := Write(path, func(f *os.File) error {
				if _, err := f.WriteString(tc.write); err != nil {
					return err
				}
				return tc.fail
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(path, dir) {
				if tc.want != "" {
					b, err := os.ReadFile(path)
					if err != nil || string(b) != tc.want {
						t.Errorf("content %q (%v), want %q", b, err, tc.want)
					}
				}
				left, _ := filepath.Glob(filepath.Join(dir, ".*tmp-*"))
				if len(left) != 0 {
					t.Errorf("temporary files left: %v", left)
				}
			}
		})
	}
}

func TestModeFollowsUmask(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "r")
	if err := Write(path, func(f *os.File) error { return nil }); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, want 0640", st.Mode().Perm())
	}
}

func TestSymlinkKept(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "t"), filepath.Join(dir, "l")
	os.WriteFile(target, []byte("old"), 0o644)
	os.Symlink(target, link)
	if err := Write(link, func(f *os.File) error { _, err := f.WriteString("new"); return err }); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
		t.Error("the link became a file")
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("target holds %q", b)
	}
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		path string
		ok   bool
	}{{filepath.Join(dir, "x.json"), true}, {filepath.Join(dir, "no", "x.json"), false}, {dir, false}, {"/dev/null", true}} {
		err := CheckWritable(tc.path)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.path, err)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left %v", left)
	}
}
