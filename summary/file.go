package summary

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Magic opens every summary file.
const Magic = "VISORSUM"

// FormatVersion is the version of the format this package writes and the
// newest it reads. Version 2 added the findings states of the buckets;
// version 3 writes a findings state's sets besides what the reader has
// from the same message, and each window's distinct query sources (a
// version 2 state reads back with those as its address table's); version
// 4 writes inner windows pruned, with the baseline sums and address-lookup
// NXDOMAIN answers of what it left out. Version 1 files are still read
// (their findings as their runs judged them).
const FormatVersion = 4

// oldestVersion is the oldest format version this package reads.
const oldestVersion = 1

// Record kinds.
const (
	kindHeader  = 1
	kindBucket  = 2
	kindTrailer = 3
)

// MaxRecord bounds one record's message (uncompressed) and its frame.
const MaxRecord = 64 << 20

// ErrCorrupt wraps every error about a summary's bytes (not about its
// reading).
var ErrCorrupt = errors.New("corrupt summary")

// ErrVersion is a summary written by a newer format version.
var ErrVersion = errors.New("summary format version not supported")

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

var (
	encOnce sync.Once
	enc     [2]*zstd.Encoder // fast, small
	decOnce sync.Once
	dec     *zstd.Decoder
)

// encoder returns the fast encoder (zstd's default level: the temporary
// summaries of -j) or the small one (its "better" level: 2-3 % smaller and
// a quarter faster to read back, for summaries a user keeps; the "best"
// level, 7-9 % smaller, writes 5 times slower, as long as analysing a
// busy day).
func encoder(small bool) *zstd.Encoder {
	encOnce.Do(func() {
		for i, l := range []zstd.EncoderLevel{zstd.SpeedDefault, zstd.SpeedBetterCompression} {
			enc[i], _ = zstd.NewWriter(nil, zstd.WithEncoderCRC(true), zstd.WithEncoderConcurrency(1),
				zstd.WithEncoderLevel(l), zstd.WithWindowSize(1<<22))
		}
	})
	if small {
		return enc[1]
	}
	return enc[0]
}

func decoder() *zstd.Decoder {
	decOnce.Do(func() {
		dec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(MaxRecord),
			zstd.WithDecoderMaxWindow(MaxRecord))
	})
	return dec
}

// recordWriter writes the framing: magic, version, records.
type recordWriter struct {
	w     *bufio.Writer
	err   error
	buf   []byte
	small bool // compress at the smaller level
}

func newRecordWriter(w io.Writer, version uint16) *recordWriter {
	rw := &recordWriter{w: bufio.NewWriterSize(w, 1<<16), small: true}
	var v [2]byte
	binary.BigEndian.PutUint16(v[:], version)
	rw.write([]byte(Magic))
	rw.write(v[:])
	return rw
}

func (rw *recordWriter) write(b []byte) {
	if rw.err == nil {
		_, rw.err = rw.w.Write(b)
	}
}

func (rw *recordWriter) record(kind byte, msg []byte) error {
	if len(msg) > MaxRecord {
		return fmt.Errorf("summary record of %d bytes is over the %d bytes bound", len(msg), MaxRecord)
	}
	rw.buf = encoder(rw.small).EncodeAll(msg, rw.buf[:0])
	var h [9]byte
	h[0] = kind
	binary.BigEndian.PutUint32(h[1:], uint32(len(msg)))
	binary.BigEndian.PutUint32(h[5:], uint32(len(rw.buf)))
	rw.write(h[:])
	rw.write(rw.buf)
	return rw.err
}

func (rw *recordWriter) flush() error {
	if rw.err == nil {
		rw.err = rw.w.Flush()
	}
	return rw.err
}

// recordReader reads the framing from r, counting the offset for errors.
type recordReader struct {
	r       *bufio.Reader
	name    string
	version uint16
	off     int64
	comp    []byte
	msg     []byte
}

// openRecords checks the magic and version.
func openRecords(r io.Reader, name string) (*recordReader, error) {
	rr := &recordReader{r: bufio.NewReaderSize(r, 1<<16), name: name}
	var h [10]byte
	if _, err := io.ReadFull(rr.r, h[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%s: %w: shorter than its magic and version", name, ErrCorrupt)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if string(h[:8]) != Magic {
		return nil, fmt.Errorf("%s: %w: not a visor summary (no %q magic at byte 0)", name, ErrCorrupt, Magic)
	}
	v := binary.BigEndian.Uint16(h[8:])
	if v > FormatVersion {
		return nil, fmt.Errorf("%s: %w: the file is format version %d, this visor reads versions %d to %d (a newer visor wrote it: upgrade visor to read it)", name, ErrVersion, v, oldestVersion, FormatVersion)
	}
	if v < oldestVersion {
		return nil, fmt.Errorf("%s: %w: format version %d", name, ErrCorrupt, v)
	}
	rr.version = v
	rr.off = 10
	return rr, nil
}

// next reads one record: its kind and message (valid until the next call).
// At the end of the input it returns io.EOF.
func (rr *recordReader) next() (byte, []byte, error) {
	return rr.read(true)
}

// read is next; without buckets, a bucket record's frame is skipped, not
// decompressed (its message is nil): its framing is checked, its content
// when it is read again.
func (rr *recordReader) read(buckets bool) (byte, []byte, error) {
	var h [9]byte
	at := rr.off
	n, err := io.ReadFull(rr.r, h[:])
	rr.off += int64(n)
	if err == io.EOF {
		return 0, nil, io.EOF
	}
	if err != nil {
		return 0, nil, rr.fail(at, err)
	}
	kind := h[0]
	size, csize := binary.BigEndian.Uint32(h[1:]), binary.BigEndian.Uint32(h[5:])
	if kind < kindHeader || kind > kindTrailer {
		return 0, nil, rr.fail(at, corrupt("unknown record kind %d", kind))
	}
	if size > MaxRecord || csize > MaxRecord {
		return 0, nil, rr.fail(at, corrupt("record of %d bytes (%d compressed) is over the %d bytes bound", size, csize, MaxRecord))
	}
	if !buckets && kind == kindBucket {
		n, err := rr.r.Discard(int(csize))
		rr.off += int64(n)
		if err != nil {
			return 0, nil, rr.fail(at, err)
		}
		return kind, nil, nil
	}
	if cap(rr.comp) < int(csize) {
		rr.comp = make([]byte, 0, csize)
	}
	rr.comp = rr.comp[:csize]
	n, err = io.ReadFull(rr.r, rr.comp)
	rr.off += int64(n)
	if err != nil {
		return 0, nil, rr.fail(at, err)
	}
	if cap(rr.msg) < int(size) {
		rr.msg = make([]byte, 0, size)
	}
	msg, err := decoder().DecodeAll(rr.comp, rr.msg[:0])
	if err != nil {
		return 0, nil, rr.fail(at, corrupt("record does not decompress: %v", err))
	}
	if len(msg) != int(size) {
		return 0, nil, rr.fail(at, corrupt("record of %d bytes declared %d", len(msg), size))
	}
	rr.msg = msg
	return kind, msg, nil
}

func (rr *recordReader) fail(at int64, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = corrupt("truncated record")
	}
	return fmt.Errorf("%s: record at byte %d: %w", rr.name, at, err)
}
