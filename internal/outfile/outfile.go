// Package outfile writes output files atomically: the bytes go to a
// temporary file in the target's directory, which is synced and renamed
// over the target only when everything was written and closed. A failed
// run (a full disk, an interrupted write) leaves the previous file whole.
package outfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// File is an output being written; nothing is visible at its path before
// Commit.
type File struct {
	*os.File
	path   string
	done   bool
	direct bool // path is a device or FIFO, written in place
}

// Create starts writing path. The directory must exist and be writable.
func Create(path string) (*File, error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real // replace the file a link points to, not the link
	}
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() && !st.IsDir() {
		// /dev/null, /dev/stdout, a FIFO: never replace one with a file.
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("cannot open %s: %w", path, unwrapPath(err))
		}
		return &File{File: f, path: path, direct: true}, nil
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if len(base) > 200 {
		base = base[:200] // the temporary name stays within NAME_MAX
	}
	// Not os.CreateTemp: its 0600 would not be an ordinary output's mode
	// (0666 less the umask, as the kernel applies it here).
	var f *os.File
	var err error
	for try := 0; try < 100; try++ {
		name := filepath.Join(dir, fmt.Sprintf(".%s.tmp-%d", base, rand.Uint32()))
		f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", path, unwrapPath(err))
	}
	return &File{File: f, path: path}, nil
}

// Path is the file's final path.
func (f *File) Path() string { return f.path }

// Commit syncs, closes and renames the file into place. Every error of
// these steps is returned, and the target is then left as it was.
func (f *File) Commit() error {
	if f.done {
		return nil
	}
	f.done = true
	if f.direct {
		if err := f.Close(); err != nil {
			return fmt.Errorf("cannot write %s: %w", f.path, unwrapPath(err))
		}
		return nil
	}
	tmp := f.Name()
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, f.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cannot write %s: %w", f.path, unwrapPath(err))
	}
	if d, derr := os.Open(filepath.Dir(f.path)); derr == nil {
		d.Sync() // the rename itself survives a crash; best effort
		d.Close()
	}
	return nil
}

// Abort removes the temporary file; the target is untouched. It is safe
// after Commit (it does nothing then), so `defer f.Abort()` is the idiom.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	if !f.direct {
		os.Remove(f.Name())
	}
}

// Write writes path atomically with the bytes write produces.
func Write(path string, write func(*os.File) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(f.File); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	return f.Commit()
}

// CheckWritable tells early whether path can be written later: its
// directory exists and takes a new file, and path is not a directory. Run
// it before a long capture, so that a typo fails at once.
func CheckWritable(path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("cannot write %s: it is a directory", path)
	}
	f, err := Create(path)
	if err != nil {
		return err
	}
	f.Abort()
	return nil
}

// unwrapPath drops a *PathError's temporary name, which means nothing to
// a user; the caller names the target.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
