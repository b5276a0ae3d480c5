package capture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/klauspost/compress/zstd"
)

// Why ExpandReport left a directory entry out (Skipped.Reason).
const (
	// SkipUnreadable: the entry cannot be opened or read (permission
	// denied, a dangling symlink, an I/O error).
	SkipUnreadable = "unreadable"
	// SkipSubdirectory: a directory, or a symlink to one; not descended.
	SkipSubdirectory = "subdirectory"
	// SkipNotAFile: a FIFO, socket or device, which could block or never
	// end; name it on the command line to read it.
	SkipNotAFile = "not_a_file"
	// SkipNotACapture: the first bytes are no format visor reads (an
	// empty file included).
	SkipNotACapture = "not_a_capture"
	// SkipDuplicate: the same file as an input before it (a symlink to it).
	SkipDuplicate = "duplicate"
	// SkipSidecar: by its name, a file that sits beside captures: .json,
	// .md, .txt, or a name starting with a dot.
	SkipSidecar = "sidecar"
)

// ReasonInputSkipped is the integrity reason under which a command counts
// the directory entries ExpandReport skipped that Counted says may have
// held input.
const ReasonInputSkipped = "input_skipped"

// Skipped is a directory entry ExpandReport did not make an input, and why.
type Skipped struct {
	Path   string
	Reason string // one of the Skip* reasons
	Err    error  // the cause, for unreadable and not_a_capture
}

// String is the entry for a warning, e.g. "dir/x.pcap: skipped
// (unreadable: permission denied)".
func (s Skipped) String() string {
	if s.Err != nil {
		return fmt.Sprintf("%s: skipped (%s: %v)", s.Path, s.Reason, s.Err)
	}
	return fmt.Sprintf("%s: skipped (%s)", s.Path, s.Reason)
}

// Counted reports whether the entry may have held input the run does not
// read, so that integrity counts it (input_skipped): every reason but a
// sidecar or a duplicate, which lose nothing.
func (s Skipped) Counted() bool {
	return s.Reason != SkipSidecar && s.Reason != SkipDuplicate
}

// Expand is ExpandReport for a caller that does not tell what it skipped:
// an unreadable entry or one that is no capture fails it, as a file named
// on the command line would. A command should call ExpandReport instead.
func Expand(args []string) ([]string, error) {
	paths, skipped, err := ExpandReport(args)
	if err != nil {
		return nil, err
	}
	for _, s := range skipped {
		if s.Reason == SkipUnreadable || s.Reason == SkipNotACapture {
			return nil, fmt.Errorf("%s: %s: %v", s.Path, s.Reason, s.Err)
		}
	}
	return paths, nil
}

// ExpandReport turns the command line's inputs into file paths: a
// directory stands for the captures in it (sorted by name; the merge
// orders their packets by time). Names given are kept as they are (an
// unreadable one fails at Open); of a directory's entries, regular files
// and symlinks to them are read, sidecars by name (.json, .md, .txt,
// dot files) left out, each opened to check it is readable and a capture,
// and subdirectories not descended. What was left out comes back in
// skipped, in directory order. An error is a name that does not exist, a
// directory that cannot be listed, or one with no capture in it.
func ExpandReport(args []string) (paths []string, skipped []Skipped, err error) {
	seen := map[fileID]bool{} // the regular files so far, to find duplicates
	for _, a := range args {
		if a == "-" {
			paths = append(paths, a)
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			return nil, skipped, fmt.Errorf("%w", err)
		}
		if !st.IsDir() {
			paths = append(paths, a)
			if id, ok := idOf(st); ok && st.Mode().IsRegular() {
				seen[id] = true
			}
			continue
		}
		ents, err := os.ReadDir(a) // sorted by name
		if err != nil {
			return nil, skipped, fmt.Errorf("%w", err)
		}
		captures := 0 // inputs and duplicates of inputs
		for _, e := range ents {
			p := filepath.Join(a, e.Name())
			reason, cause := entry(p, e, seen)
			if reason == "" || reason == SkipDuplicate {
				captures++
			}
			if reason != "" {
				skipped = append(skipped, Skipped{Path: p, Reason: reason, Err: cause})
				continue
			}
			paths = append(paths, p)
		}
		if captures == 0 {
			return nil, skipped, fmt.Errorf("%s: no capture in the directory (%d entries skipped)", a, len(ents))
		}
	}
	return paths, skipped, nil
}

// fileID identifies a file, whatever the name it is reached by.
type fileID struct{ dev, ino uint64 }

func idOf(st os.FileInfo) (fileID, bool) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return fileID{uint64(s.Dev), uint64(s.Ino)}, true
	}
	return fileID{}, false
}

// entry says why a directory entry is not an input, or "" when it is one
// (then adding it to seen).
func entry(p string, e fs.DirEntry, seen map[fileID]bool) (reason string, cause error) {
	if isSidecar(e.Name()) {
		return SkipSidecar, nil
	}
	st, err := os.Stat(p) // follows a symlink
	switch {
	case err != nil:
		return SkipUnreadable, pathCause(err)
	case st.IsDir():
		return SkipSubdirectory, nil
	case !st.Mode().IsRegular():
		return SkipNotAFile, nil
	}
	id, hasID := idOf(st)
	if hasID && seen[id] {
		return SkipDuplicate, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return SkipUnreadable, pathCause(err)
	}
	defer f.Close()
	head, broken, err := probe(f)
	switch {
	case err != nil:
		return SkipUnreadable, pathCause(err)
	case broken != nil:
		return SkipNotACapture, broken
	case formatOf(head) == "":
		if len(head) == 0 {
			return SkipNotACapture, errors.New("empty")
		}
		return SkipNotACapture, fmt.Errorf("unknown format (first bytes % x)", head[:min(4, len(head))])
	}
	if hasID {
		seen[id] = true
	}
	return "", nil
}

// probe reads the first 5 bytes of a file's capture stream, through gzip
// or zstd as Open does; fewer at its end. broken is a compressed stream
// that cannot be read that far; err a failure to read the file.
func probe(f io.Reader) (head []byte, broken, err error) {
	br := bufio.NewReaderSize(f, 64)
	head, err = br.Peek(5)
	if err != nil && err != io.EOF {
		return nil, nil, err
	}
	var r io.Reader
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", eofIsUnexpected(err)), nil
		}
		r = zr
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err), nil
		}
		defer zr.Close()
		r = zr
	default:
		return head, nil, nil
	}
	var buf [5]byte
	n, err := io.ReadFull(r, buf[:])
	if n < 4 && err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, err, nil // the decompressor's error, or the file's
	}
	return buf[:n], nil, nil
}

// pathCause is the cause in a *PathError (permission denied, no such
// file): the path is already said.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// isSidecar skips files that sit beside captures but are not captures.
func isSidecar(name string) bool {
	switch filepath.Ext(name) {
	case ".json", ".md", ".txt":
		return true
	}
	return len(name) > 0 && name[0] == '.'
}
