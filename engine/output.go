package engine

import (
	"io"
	"os"

	"github.com/visor-dns/visor/internal/outfile"
)

// WriteFile writes path atomically with what write produces: a failed or
// interrupted write leaves the previous file whole (see internal/outfile).
func WriteFile(path string, write func(io.Writer) error) error {
	return outfile.Write(path, func(f *os.File) error { return write(f) })
}

// CheckWritable tells, before a long run, whether path can be written.
func CheckWritable(path string) error { return outfile.CheckWritable(path) }
