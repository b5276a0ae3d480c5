package export

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/bits"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// pqWriter writes the records' Parquet file itself, a column at a time
// from the batch's records, without parquet-go's per-value Values (which
// took most of an export's CPU): each row group's columns are gathered
// into typed slices (definition levels, int64 values, strings or their
// dictionary indices), then written as one data page a column chunk (a
// dictionary page before it for dictionary-encoded strings), zstd at its
// fastest level. The file is Parquet 1.0 with v1 data pages, as every
// engine reads: PLAIN values, RLE definition levels, RLE_DICTIONARY
// indices; INT64 columns carry min, max and null count statistics.
//
// Gathering runs on the caller's goroutine; a row group, once gathered,
// is encoded and compressed on another (its columns shared by two
// workers) and written there, while the caller gathers the next: the
// bytes are the same whatever the timing.
//
// A string column's dictionary is bounded (dictMaxBytes a column chunk):
// a column whose chunk outgrows it (a flood of distinct names) is written
// PLAIN from that chunk to the end of the file.
type pqWriter struct {
	inputs []string
	plain  []bool // the gatherer's: columns fallen back to PLAIN for good
	cur    *pqSet // being gathered
	todo   chan *pqSet
	free   chan *pqSet
	fin    chan struct{} // closed when the encoder has written its last group

	// The encoder goroutine's (read by others after fin, or after a set
	// comes back on free).
	out    *bufio.Writer
	off    int64 // bytes written so far
	total  int64
	groups []pqGroup
	enc    [pqWorkers]pqEncoder
	hdr    thrift
	err    error
}

// pqWorkers encode a row group's column chunks.
const pqWorkers = 2

// pqSet is a row group's columns, gathered or being encoded.
type pqSet struct {
	cols []pqColumn
	rows int
	err  error // the encoder's error, as it gives the set back
}

// pqEncoder is a worker's compressor and buffers.
type pqEncoder struct {
	z    *zstd.Encoder
	page []byte
	hdr  thrift
}

// pqGroup is a written row group's metadata.
type pqGroup struct {
	rows   int64
	offset int64
	chunks []pqChunk
}

// pqChunk is a written column chunk's metadata.
type pqChunk struct {
	dictOff, dataOff int64
	uncomp, comp     int64
	nulls            int64
	dict             bool
	hasStats         bool // min and max of an INT64 column with values
	min, max         int64
}

// pqColumn gathers one column's values of the open row group.
type pqColumn struct {
	c     *Column
	ptype int32 // Parquet physical type
	def   []byte
	ints  []int64
	nulls int64
	// Strings: text holds the values back to back, ends their ends; a
	// dictionary column also indexes them in dict (values in dtext/dends).
	text         []byte
	ends         []uint32
	useDict      bool // a dictionary column that has not fallen back to PLAIN
	dict         map[string]int32
	dtext        []byte
	dends        []uint32
	idx          []int32
	lastIdx      int32
	lastStart    uint32
	lastN        uint32
	hasLast      bool
	dictOverflow bool // this chunk outgrew its dictionary
	// The encoded chunk: its pages (headers included) and metadata, its
	// offsets relative to its start.
	out []byte
	ch  pqChunk
}

// Parquet's physical types, encodings and codecs (parquet.thrift).
const (
	pqBoolean   = 0
	pqInt64     = 2
	pqByteArray = 6

	encPlain         = 0
	encRLE           = 3
	encRLEDictionary = 8

	codecZstd = 6

	pageData = 0
	pageDict = 2
)

func newPQWriter(w io.Writer, inputs []string) *pqWriter {
	p := &pqWriter{out: bufio.NewWriterSize(w, 1<<20), inputs: inputs, plain: make([]bool, len(Columns)),
		todo: make(chan *pqSet, 1), free: make(chan *pqSet, 2), fin: make(chan struct{})}
	for i := range p.enc {
		z, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderCRC(false))
		if err != nil {
			panic(err) // only for invalid options
		}
		p.enc[i].z = z
	}
	for range 2 {
		x := &pqSet{cols: make([]pqColumn, len(Columns))}
		for i := range Columns {
			c := &x.cols[i]
			c.c = &Columns[i]
			c.ptype = pqType(c.c.Kind)
			if c.c.Kind == KindString && !c.c.Plain {
				c.dict = map[string]int32{}
			}
		}
		p.free <- x
	}
	p.write([]byte("PAR1"))
	go p.encode()
	return p
}

var errAborted = errors.New("parquet writer aborted")

// pqType is the Parquet physical type of a column kind.
func pqType(k Kind) int32 {
	switch k {
	case KindBool:
		return pqBoolean
	case KindString:
		return pqByteArray
	}
	return pqInt64
}

func (p *pqWriter) write(b []byte) {
	if p.err != nil {
		return
	}
	n, err := p.out.Write(b)
	p.off += int64(n)
	p.err = err
}

// Write gathers x's rows, handing each full row group to the encoder.
func (p *pqWriter) Write(x *Batch) error {
	rows := x.Rows
	for len(rows) > 0 {
		if p.cur == nil {
			p.cur = <-p.free
			if err := p.cur.err; err != nil {
				p.free <- p.cur
				p.cur = nil
				return err
			}
			for i := range p.cur.cols {
				c := &p.cur.cols[i]
				c.useDict = c.dict != nil && !p.plain[i]
			}
		}
		n := min(len(rows), RowGroupRows-p.cur.rows)
		for i := range p.cur.cols {
			c := &p.cur.cols[i]
			c.add(x, rows[:n], p.inputs)
			if c.dictOverflow {
				p.plain[i] = true
			}
		}
		p.cur.rows += n
		rows = rows[n:]
		if p.cur.rows == RowGroupRows {
			p.todo <- p.cur
			p.cur = nil
		}
	}
	return nil
}

// add gathers the column's values of rows.
func (c *pqColumn) add(x *Batch, rows []Record, inputs []string) {
	col := c.c
	if col.Kind != KindString {
		for i := range rows {
			v, ok := col.Num(&rows[i])
			if !col.Required {
				c.def = append(c.def, b2u8(ok))
			}
			if ok {
				c.ints = append(c.ints, v)
			} else {
				c.nulls++
			}
		}
		return
	}
	for i := range rows {
		start := len(c.text)
		var ok bool
		c.text, ok = col.Text(c.text, &rows[i], x, inputs)
		if !col.Required {
			c.def = append(c.def, b2u8(ok))
		}
		if !ok {
			c.text = c.text[:start]
			c.nulls++
			continue
		}
		c.ends = append(c.ends, uint32(len(c.text)))
		if c.useDict && !c.dictOverflow {
			c.index(uint32(start))
		}
	}
}

// index adds the value at text[start:] to the chunk's dictionary.
func (c *pqColumn) index(start uint32) {
	v := c.text[start:]
	if c.hasLast && int(c.lastN) == len(v) && bytes.Equal(c.text[c.lastStart:c.lastStart+c.lastN], v) {
		c.idx = append(c.idx, c.lastIdx)
		c.lastStart = start
		return
	}
	i, ok := c.dict[string(v)]
	if !ok {
		if len(c.dtext)+len(v) > dictMaxBytes {
			c.dictOverflow = true
			return
		}
		i = int32(len(c.dends))
		c.dtext = append(c.dtext, v...)
		c.dends = append(c.dends, uint32(len(c.dtext)))
		c.dict[string(v)] = i
	}
	c.idx = append(c.idx, i)
	c.hasLast, c.lastIdx, c.lastStart, c.lastN = true, i, start, uint32(len(v))
}

func b2u8(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// encode encodes and writes the gathered row groups, in order, until
// todo is closed; after an error it only gives the sets back.
func (p *pqWriter) encode() {
	defer close(p.fin)
	for x := range p.todo {
		if p.err == nil {
			p.writeGroup(x)
		}
		x.err = p.err
		p.free <- x
	}
}

// writeGroup encodes x's column chunks on the workers and writes them.
func (p *pqWriter) writeGroup(x *pqSet) {
	var wg sync.WaitGroup
	for w := 1; w < pqWorkers; w++ {
		wg.Go(func() { p.enc[w].chunks(x, w) })
	}
	p.enc[0].chunks(x, 0)
	wg.Wait()
	g := pqGroup{rows: int64(x.rows), offset: p.off, chunks: make([]pqChunk, len(x.cols))}
	for i := range x.cols {
		c := &x.cols[i]
		ch := c.ch
		ch.dataOff += p.off
		ch.dictOff += p.off
		g.chunks[i] = ch
		p.write(c.out)
	}
	p.groups = append(p.groups, g)
	p.total += int64(x.rows)
	x.rows = 0
}

// chunks encodes every pqWorkers-th column chunk of x from the w-th.
func (e *pqEncoder) chunks(x *pqSet, w int) {
	for i := w; i < len(x.cols); i += pqWorkers {
		e.chunk(&x.cols[i], x.rows)
	}
}

// chunk encodes c's gathered values as a column chunk into c.out and
// c.ch, and empties the values.
func (e *pqEncoder) chunk(c *pqColumn, rows int) {
	ch := pqChunk{nulls: c.nulls}
	c.out = c.out[:0]
	dict := c.useDict && !c.dictOverflow && len(c.dends) > 0
	if dict {
		ch.dict = true
		b := e.page[:0]
		s := uint32(0)
		for _, e := range c.dends {
			b = binary.LittleEndian.AppendUint32(b, e-s)
			b = append(b, c.dtext[s:e]...)
			s = e
		}
		e.page = b
		ch.uncomp += e.pageTo(c, pageDict, len(c.dends), encPlain)
	}
	ch.dataOff = int64(len(c.out))
	b := e.page[:0]
	if !c.c.Required {
		b = append(b, 0, 0, 0, 0)
		b = appendRLE(b, c.def, 1)
		binary.LittleEndian.PutUint32(b, uint32(len(b)-4)) // the levels come first
	}
	enc := int32(encPlain)
	switch {
	case dict:
		enc = encRLEDictionary
		w := max(bits.Len32(uint32(len(c.dends)-1)), 1)
		b = append(b, byte(w))
		b = appendRLE(b, c.idx, w)
	case c.ptype == pqByteArray:
		s := uint32(0)
		for _, e := range c.ends {
			b = binary.LittleEndian.AppendUint32(b, e-s)
			b = append(b, c.text[s:e]...)
			s = e
		}
	case c.ptype == pqBoolean:
		n := len(b)
		b = append(b, make([]byte, (len(c.ints)+7)/8)...)
		for i, v := range c.ints {
			b[n+i/8] |= byte(v&1) << (i % 8)
		}
	default:
		if len(c.ints) > 0 {
			ch.hasStats, ch.min, ch.max = true, math.MaxInt64, math.MinInt64
		}
		for _, v := range c.ints {
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
			ch.min, ch.max = min(ch.min, v), max(ch.max, v)
		}
	}
	e.page = b
	ch.uncomp += e.pageTo(c, pageData, rows, enc)
	ch.comp = int64(len(c.out))
	c.ch = ch
	c.def, c.ints, c.text, c.ends, c.idx, c.dtext, c.dends = c.def[:0], c.ints[:0], c.text[:0], c.ends[:0], c.idx[:0], c.dtext[:0], c.dends[:0]
	c.nulls, c.hasLast, c.dictOverflow = 0, false, false
	if c.dict != nil {
		clear(c.dict)
	}
}

// pageTo compresses e.page and appends it with its header to c.out; it
// returns the page's uncompressed size, header included.
func (e *pqEncoder) pageTo(c *pqColumn, typ int32, n int, enc int32) int64 {
	t := &e.hdr
	t.reset()
	// The header's compressed size is known after compressing: compress
	// behind a gap, then move the page up behind its header.
	const gap = 64
	start := len(c.out)
	c.out = append(c.out, make([]byte, gap)...)
	c.out = e.z.EncodeAll(e.page, c.out)
	comp := len(c.out) - start - gap
	t.i32(1, typ)
	t.i32(2, int32(len(e.page)))
	t.i32(3, int32(comp))
	if typ == pageDict {
		t.begin(7)
		t.i32(1, int32(n))
		t.i32(2, enc)
		t.end()
	} else {
		t.begin(5)
		t.i32(1, int32(n))
		t.i32(2, enc)
		t.i32(3, encRLE)
		t.i32(4, encRLE)
		t.end()
	}
	t.stop()
	copy(c.out[start:], t.b)
	copy(c.out[start+len(t.b):], c.out[start+gap:])
	c.out = c.out[:start+len(t.b)+comp]
	return int64(len(t.b) + len(e.page))
}

// Abort ends the encoder without writing the rest: the file is left
// unfinished (the caller throws it away).
func (p *pqWriter) Abort() {
	if p.todo != nil {
		close(p.todo)
		<-p.fin
		p.todo = nil
	}
}

// Close writes the last row group and the footer.
func (p *pqWriter) Close() error {
	if p.cur != nil && p.cur.rows > 0 {
		p.todo <- p.cur
	}
	p.cur = nil
	if p.todo == nil {
		return errAborted
	}
	close(p.todo)
	<-p.fin
	p.todo = nil
	t := &p.hdr
	t.reset()
	t.i32(1, 1) // version
	t.list(2, tStruct, len(Columns)+1)
	t.elem()
	t.bin(4, []byte("schema"))
	t.i32(5, int32(len(Columns)))
	t.end()
	for i := range Columns {
		col := &Columns[i]
		t.elem()
		t.i32(1, pqType(col.Kind))
		if col.Required {
			t.i32(3, 0)
		} else {
			t.i32(3, 1)
		}
		t.bin(4, []byte(col.Name))
		switch col.Kind {
		case KindString:
			t.i32(6, 0) // UTF8
			t.begin(10)
			t.begin(1) // STRING
			t.end()
			t.end()
		case KindTime:
			t.begin(10)
			t.begin(8) // TIMESTAMP
			t.boolean(1, true)
			t.begin(2)
			t.begin(3) // NANOS
			t.end()
			t.end()
			t.end()
			t.end()
		}
		t.end()
	}
	t.i64(3, p.total)
	t.list(4, tStruct, len(p.groups))
	for gi, g := range p.groups {
		t.elem()
		t.list(1, tStruct, len(g.chunks))
		var uncomp, comp int64
		for i, ch := range g.chunks {
			col := &Columns[i]
			uncomp += ch.uncomp
			comp += ch.comp
			t.elem()
			first := ch.dataOff
			if ch.dict {
				first = ch.dictOff
			}
			t.i64(2, first)
			t.begin(3)
			t.i32(1, pqType(col.Kind))
			if ch.dict {
				t.list(2, tI32, 3)
				t.varint(encPlain)
				t.varint(encRLE)
				t.varint(encRLEDictionary)
			} else {
				t.list(2, tI32, 2)
				t.varint(encPlain)
				t.varint(encRLE)
			}
			t.list(3, tBinary, 1)
			t.str([]byte(col.Name))
			t.i32(4, codecZstd)
			t.i64(5, g.rows)
			t.i64(6, ch.uncomp)
			t.i64(7, ch.comp)
			t.i64(9, ch.dataOff)
			if ch.dict {
				t.i64(11, ch.dictOff)
			}
			t.begin(12)
			t.i64(3, ch.nulls)
			if ch.hasStats {
				t.bin(5, binary.LittleEndian.AppendUint64(nil, uint64(ch.max)))
				t.bin(6, binary.LittleEndian.AppendUint64(nil, uint64(ch.min)))
			}
			t.end()
			t.end() // ColumnMetaData
			t.end() // ColumnChunk
		}
		t.i64(2, uncomp)
		t.i64(3, g.rows)
		t.i64(5, g.offset)
		t.i64(6, comp)
		t.i16(7, int16(gi))
		t.end()
	}
	t.bin(6, []byte("visor"))
	t.list(7, tStruct, len(Columns))
	for range Columns {
		t.elem()
		t.begin(1) // TYPE_ORDER
		t.end()
		t.end()
	}
	t.stop()
	p.write(t.b)
	p.write(binary.LittleEndian.AppendUint32(nil, uint32(len(t.b))))
	p.write([]byte("PAR1"))
	if p.err == nil {
		p.err = p.out.Flush()
	}
	for i := range p.enc {
		p.enc[i].z.Close()
	}
	return p.err
}

// appendRLE appends values (each < 2^w, w <= 32: definition levels,
// dictionary indices) in Parquet's RLE / bit-packing hybrid: runs of 8 or
// more equal values as RLE runs, the rest bit-packed in groups of 8.
func appendRLE[T byte | int32](b []byte, v []T, w int) []byte {
	vw := (w + 7) / 8 // bytes of an RLE run's value
	for i := 0; i < len(v); {
		if r := runLen(v, i, len(v)); r >= 8 {
			b = binary.AppendUvarint(b, uint64(r)<<1)
			for k := range vw {
				b = append(b, byte(uint32(v[i])>>(8*k)))
			}
			i += r
			continue
		}
		start := i
		for i < len(v) && (i == start || runLen(v, i, 8) < 8) {
			i += 8
		}
		end := min(i, len(v))
		groups := (i - start) / 8
		b = binary.AppendUvarint(b, uint64(groups)<<1|1)
		var acc uint64
		nb := 0
		for j := start; j < start+groups*8; j++ {
			var x uint64
			if j < end {
				x = uint64(uint32(v[j]))
			}
			acc |= x << nb
			nb += w
			for nb >= 8 {
				b = append(b, byte(acc))
				acc >>= 8
				nb -= 8
			}
		}
		i = end
	}
	return b
}

// runLen is the length of the run of equal values at v[i], counted up to
// most.
func runLen[T byte | int32](v []T, i, most int) int {
	j := i + 1
	for j < len(v) && j-i < most && v[j] == v[i] {
		j++
	}
	return j - i
}

// thrift writes Thrift's compact protocol: the page headers and the footer.
type thrift struct {
	b     []byte
	id    int16
	stack []int16
}

// Compact protocol types.
const (
	tTrue   = 1
	tFalse  = 2
	tI16    = 4
	tI32    = 5
	tI64    = 6
	tBinary = 8
	tList   = 9
	tStruct = 12
)

func (t *thrift) reset() { t.b, t.id, t.stack = t.b[:0], 0, t.stack[:0] }

func (t *thrift) field(id int16, typ byte) {
	if d := id - t.id; d > 0 && d <= 15 {
		t.b = append(t.b, byte(d)<<4|typ)
	} else {
		t.b = append(t.b, typ)
		t.b = binary.AppendUvarint(t.b, zigzag(int64(id)))
	}
	t.id = id
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func (t *thrift) varint(v int64)        { t.b = binary.AppendUvarint(t.b, zigzag(v)) }
func (t *thrift) i16(id int16, v int16) { t.field(id, tI16); t.varint(int64(v)) }
func (t *thrift) i32(id int16, v int32) { t.field(id, tI32); t.varint(int64(v)) }
func (t *thrift) i64(id int16, v int64) { t.field(id, tI64); t.varint(v) }
func (t *thrift) str(v []byte) {
	t.b = binary.AppendUvarint(t.b, uint64(len(v)))
	t.b = append(t.b, v...)
}
func (t *thrift) bin(id int16, v []byte) { t.field(id, tBinary); t.str(v) }
func (t *thrift) boolean(id int16, v bool) {
	if v {
		t.field(id, tTrue)
	} else {
		t.field(id, tFalse)
	}
}

// begin starts a struct field; end ends it (or a list's struct element).
func (t *thrift) begin(id int16) {
	t.field(id, tStruct)
	t.elem()
}

// elem starts a struct element of a list.
func (t *thrift) elem() {
	t.stack = append(t.stack, t.id)
	t.id = 0
}

func (t *thrift) end() {
	t.b = append(t.b, 0)
	t.id = t.stack[len(t.stack)-1]
	t.stack = t.stack[:len(t.stack)-1]
}

// stop ends the top-level struct.
func (t *thrift) stop() { t.b = append(t.b, 0) }

// list starts a list field of n elements of type typ.
func (t *thrift) list(id int16, typ byte, n int) {
	t.field(id, tList)
	if n < 15 {
		t.b = append(t.b, byte(n)<<4|typ)
	} else {
		t.b = append(t.b, 0xf0|typ)
		t.b = binary.AppendUvarint(t.b, uint64(n))
	}
}

// dictMaxBytes bounds a column chunk's dictionary: a column of mostly
// distinct values (a random-subdomain flood's names) goes on in PLAIN
// encoding past it.
const dictMaxBytes = 256 << 10
