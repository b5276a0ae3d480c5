// Package capture opens visor's inputs. The format is sniffed from the
// bytes (pcap in either byte order and resolution, pcapng, dnstap Frame
// Streams), through an optional gzip or zstd wrapper; the name never counts.
package capture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/visor-dns/visor"
)

// MaxCapLen is the longest packet record visor reads; longer records are
// treated as corruption (no link layer carries more than 256 KiB).
const MaxCapLen = 262144

// maxZstdWindow bounds the memory a zstd stream may ask for.
const maxZstdWindow = 64 << 20

// Error is a failure to read an input. Offset is a byte offset in the
// (decompressed) stream, or -1; Packet the number of packets read before.
type Error struct {
	Path   string
	Offset int64
	Packet uint64
	Err    error
	// Partial is true when packets were read before the failure: the
	// report covers them and integrity counts the rest.
	Partial bool
}

func (e *Error) Error() string {
	where := ""
	if e.Offset >= 0 {
		where = fmt.Sprintf(" at byte offset %d", e.Offset)
	}
	return fmt.Sprintf("%s%s (after packet %d): %v", e.Path, where, e.Packet, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Reason is a short integrity key for the failure.
func (e *Error) Reason() string {
	if errors.Is(e.Err, io.ErrUnexpectedEOF) {
		return "input_truncated"
	}
	return "input_corrupt"
}

// counter counts the bytes read through it and hashes them.
type counter struct {
	r io.Reader
	n int64
	h *asyncHash
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.h != nil {
		c.h.Write(p[:n])
	}
	return n, err
}

// Open opens one input: a file path, or "-" for stdin (read from stdin,
// os.Stdin when nil). index is the input's position, stamped on every packet.
func Open(path string, index int, stdin io.Reader) (visor.Source, error) {
	if path == "-" {
		if stdin == nil {
			stdin = os.Stdin
		}
		return OpenReader(path, io.NopCloser(stdin), index)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err == nil && st.IsDir() {
		fh.Close()
		return nil, fmt.Errorf("%s is a directory", path)
	}
	return OpenReader(path, fh, index)
}

// OpenReader reads one input from r, named name in the report and in
// errors. The source's Close closes r.
func OpenReader(name string, r io.ReadCloser, index int) (visor.Source, error) {
	raw := &counter{r: r, h: newAsyncHash()}
	info := &visor.InputInfo{Path: name, LinkTypes: map[string]uint64{}}
	src, err := sniff(raw, info, index)
	if err != nil {
		raw.h.stop()
		r.Close()
		return nil, err
	}
	src.raw, src.closer = raw, r
	return src, nil
}

// stream is the byte stream under a format reader, with what Source needs.
type stream struct {
	raw    *counter // the file's bytes, hashed
	closer io.Closer
	dec    io.Closer // decompressor, if any
	c      *counter  // the (decompressed) bytes the format reader sees
	info   *visor.InputInfo
	br     *bufio.Reader // from readers, back there on Close
}

// readBuffer is the size of the buffers capture files are read through. It
// holds a whole record of MaxCapLen; beyond that, smaller stays in the
// core's cache between the read and the parse.
const readBuffer = 1 << 20

// readers keeps the read buffers of closed sources: a run over a small
// input would otherwise allocate (and clear) a whole buffer.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBuffer) }}

// sniff looks at the first bytes, unwraps compression, and picks the format.
func sniff(raw *counter, info *visor.InputInfo, index int) (*source, error) {
	br := readers.Get().(*bufio.Reader)
	br.Reset(raw)
	kept := false
	defer func() {
		if !kept {
			br.Reset(nil)
			readers.Put(br)
		}
	}()
	head, _ := br.Peek(4)
	if len(head) == 0 {
		return nil, &Error{Path: info.Path, Offset: 0, Err: errors.New("empty input")}
	}
	var r io.Reader = br
	var dec io.Closer
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &Error{Path: info.Path, Offset: 0, Err: fmt.Errorf("gzip: %w", err)}
		}
		r, dec, info.Format = zr, zr, "+gzip"
	case bytes.Equal(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			return nil, &Error{Path: info.Path, Offset: 0, Err: fmt.Errorf("zstd: %w", err)}
		}
		r, dec, info.Format = zr, zr.IOReadCloser(), "+zstd"
	}
	// The format reader reads through one buffer: the sniffing one when
	// the input is not compressed (a second would copy every byte again).
	c, inner := raw, br
	if dec != nil {
		c = &counter{r: r}
		inner = bufio.NewReaderSize(c, readBuffer)
	}
	magic, err := inner.Peek(4)
	if len(magic) < 4 {
		if err == nil || err == io.EOF {
			err = errors.New("too short to be a capture")
		}
		return nil, &Error{Path: info.Path, Offset: 0, Err: err}
	}
	st := &stream{dec: dec, c: c, info: info}
	var s *source
	first, _ := inner.Peek(5)
	switch formatOf(first) {
	case "pcap":
		s, err = newPcap(inner, st, index)
	case "pcapng":
		s, err = newPcapng(inner, st, index)
	case "dnstap":
		s, err = newDNSTap(inner, st, index)
	default:
		return nil, &Error{Path: info.Path, Offset: 0, Err: fmt.Errorf("unknown format (first bytes % x): not pcap, pcapng or dnstap", magic)}
	}
	if err != nil {
		return nil, err
	}
	s.br, kept = br, true
	return s, nil
}

// formatOf names the format whose first bytes (of the decompressed
// stream; 5 tell a bare dnstap frame) head holds: pcap, pcapng, dnstap, or
// "" for none visor reads.
func formatOf(head []byte) string {
	if len(head) < 4 {
		return ""
	}
	switch m := binary.BigEndian.Uint32(head); {
	case m == 0xa1b2c3d4, m == 0xd4c3b2a1, m == 0xa1b23c4d, m == 0x4d3cb2a1:
		return "pcap"
	case m == 0x0a0d0d0a:
		return "pcapng"
	case m == 0, bareDNSTap(head) != 0:
		return "dnstap"
	}
	return ""
}

// source is a Source over one stream; read is the format's packet reader.
type source struct {
	*stream
	read  func(p *visor.Packet) error
	index int
	links map[uint16]uint64 // packets by link type, but for the run of lastLink
	// The current run of packets of one link type, counted without the
	// map (captures rarely change link type).
	lastLink uint16
	run      uint64
	done     bool
}

func newSource(st *stream, index int, read func(p *visor.Packet) error) *source {
	return &source{stream: st, read: read, index: index, links: map[uint16]uint64{}}
}

func (s *source) Next(p *visor.Packet) error {
	if s.done {
		return io.EOF
	}
	err := s.read(p)
	if err != nil {
		s.done = true
		if err == io.EOF {
			s.finish()
		}
		return err
	}
	s.info.Packets++
	p.Input, p.Number = s.index, s.info.Packets
	s.info.Bytes += uint64(len(p.Data))
	if s.info.Packets == 1 {
		s.info.FirstTS = p.TS
	}
	s.info.LastTS = p.TS
	if p.LinkType != s.lastLink {
		s.flushLinks()
		s.lastLink = p.LinkType
	}
	s.run++
	return nil
}

// SkipHash stops hashing the input (its InputInfo then has no SHA256):
// for a caller that does not report it, such as visor export, the input's
// SHA-256 is a tenth of the CPU it would spend. Call it before reading.
func (s *source) SkipHash() {
	if s.raw != nil && s.raw.h != nil {
		s.raw.h.stop()
		s.raw.h = nil
	}
}

// finish reads what is left of the file so the hash covers all of it.
func (s *source) finish() {
	if s.raw != nil && s.raw.h != nil {
		io.Copy(io.Discard, s.raw)
		s.info.SHA256 = hex.EncodeToString(s.raw.h.Sum(nil))
	}
}

func (s *source) flushLinks() {
	if s.run > 0 {
		s.links[s.lastLink] += s.run
		s.run = 0
	}
}

func (s *source) Info() *visor.InputInfo {
	s.flushLinks()
	s.info.LinkTypes = map[string]uint64{}
	for lt, n := range s.links {
		s.info.LinkTypes[LinkTypeName(lt)] = n
	}
	return s.info
}

func (s *source) Close() error {
	if s.br != nil {
		s.br.Reset(nil)
		readers.Put(s.br)
		s.br = nil
	}
	if s.raw != nil && s.raw.h != nil {
		s.raw.h.stop()
	}
	if s.dec != nil {
		s.dec.Close()
	}
	if s.closer != nil {
		return s.closer.Close()
	}
	return nil
}

// Consumed is the number of bytes of the input read so far.
func (s *source) Consumed() int64 {
	if s.raw == nil {
		return 0
	}
	return s.raw.n
}
