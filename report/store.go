package report

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"sync"
)

// BucketStore holds a run's closed buckets in their report form, encoded
// compactly (a few hundred bytes for a quiet bucket instead of several KB of
// Go maps, slices and strings) and, past spillAt bytes, in a temporary file,
// so a run's memory does not grow with its number of buckets. Buckets are
// read back in order, as often as needed, with Each.
//
// The encoding is a plain walk of the Section struct (reflect, once per
// type): unsigned counts and whole floats as varints, other floats as their
// 8 bytes, strings through a bounded dictionary (a name repeated across
// buckets is written once), bucket times as deltas. Every value, nil-ness of
// maps and lists included, comes back exactly.
type BucketStore struct {
	buf     []byte   // encoded buckets not in the file yet
	file    *os.File // nil until the first spill
	path    string   // the file's name, while it could not be removed
	written int64    // bytes in the file
	n       int
	noSpill bool // a spill failed: everything stays in buf
	enc     codec
	lastOff int64 // stream offset of the last bucket, for DropLast
	lastEnc codec // the codec state before the last bucket
	// SpillAt is how many encoded bytes are kept in memory before they go
	// to the temporary file (0: DefaultSpillAt; < 0: never spill).
	SpillAt int
	// Dir is the directory of the temporary file ("": os.TempDir()).
	Dir string
}

// DefaultSpillAt is the memory a BucketStore uses before spilling.
const DefaultSpillAt = 4 << 20

// NewBucketStore returns an empty store.
func NewBucketStore() *BucketStore { return &BucketStore{} }

// Len returns the number of buckets stored.
func (s *BucketStore) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// Append stores b. A failure to spill to disk keeps the buckets in memory
// rather than losing any, so Append never fails.
func (s *BucketStore) Append(b *Bucket) {
	s.lastOff, s.lastEnc = s.written+int64(len(s.buf)), s.enc.snapshot()
	s.buf = s.enc.appendBucket(s.buf, b)
	s.n++
	limit := s.SpillAt
	if limit == 0 {
		limit = DefaultSpillAt
	}
	if limit > 0 && len(s.buf) >= limit && !s.noSpill {
		s.spill()
	}
}

// DropLast removes the last bucket appended.
func (s *BucketStore) DropLast() {
	if s.n == 0 {
		return
	}
	s.n--
	s.enc = s.lastEnc
	for k, i := range s.enc.dict {
		if i >= s.enc.dictN { // added by the bucket dropped
			delete(s.enc.dict, k)
		}
	}
	if s.lastOff >= s.written {
		s.buf = s.buf[:s.lastOff-s.written]
		return
	}
	// The bucket reached the file: cut it there.
	s.buf = s.buf[:0]
	if err := s.file.Truncate(s.lastOff); err != nil {
		s.written = -1
		return
	}
	s.written = s.lastOff
	if _, err := s.file.Seek(s.lastOff, io.SeekStart); err != nil {
		s.written = -1
	}
}

func (s *BucketStore) spill() {
	if s.file == nil {
		f, err := os.CreateTemp(s.Dir, "visor-buckets-*")
		if err != nil {
			s.noSpill = true
			return
		}
		s.file = f
		// Unlinked at once where the system allows it: nothing is left
		// behind, whatever happens to the process.
		if os.Remove(f.Name()) != nil {
			s.path = f.Name()
		}
	}
	if _, err := s.file.Write(s.buf); err != nil {
		// The file holds part of buf at most: keep it all in memory from here.
		s.noSpill = true
		if err := s.file.Truncate(s.written); err != nil {
			s.written = -1 // unusable: Each reports it
		}
		return
	}
	s.written += int64(len(s.buf))
	s.buf = s.buf[:0]
}

// Close releases the temporary file. The store is empty afterwards.
func (s *BucketStore) Close() error {
	if s == nil || s.file == nil {
		return nil
	}
	err := s.file.Close()
	if s.path != "" {
		err = errors.Join(err, os.Remove(s.path))
	}
	*s = BucketStore{}
	return err
}

// Each calls fn with every bucket in order; fn may keep the bucket. It stops
// at fn's first error and returns it.
func (s *BucketStore) Each(fn func(b *Bucket) error) error {
	if s == nil || s.n == 0 {
		return nil
	}
	if s.written < 0 {
		return errors.New("report: bucket store: the temporary file is unusable")
	}
	var r io.Reader = bytes.NewReader(s.buf)
	if s.written > 0 {
		r = io.MultiReader(io.NewSectionReader(s.file, 0, s.written), r)
	}
	d := decoder{r: bufio.NewReaderSize(r, 64<<10)}
	for i := 0; i < s.n; i++ {
		b := new(Bucket)
		if err := d.bucket(b); err != nil {
			return fmt.Errorf("report: bucket store: bucket %d: %w", i, err)
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

// Dictionary bounds: a run of attacker-chosen names fills it once and then
// writes names in full.
const (
	dictMax    = 1 << 15
	dictMaxLen = 128
)

// codec is the encoder's state.
type codec struct {
	dict    map[string]uint32
	dictN   uint32
	prevEnd int64
}

// snapshot copies the state for DropLast, which forgets the dictionary
// entries at or past the size it had.
func (c codec) snapshot() codec { return c }

func (c *codec) appendBucket(b []byte, bk *Bucket) []byte {
	b = c.appendTime(b, bk.Start)
	b = c.appendTime(b, bk.End)
	return c.appendValue(b, sectionPlan(), reflect.ValueOf(&bk.Section).Elem())
}

// appendTime writes a time as a delta from the previous one.
func (c *codec) appendTime(b []byte, t Timestamp) []byte {
	b = binary.AppendVarint(b, int64(t)-c.prevEnd)
	c.prevEnd = int64(t)
	return b
}

func (c *codec) appendString(b []byte, s string) []byte {
	if i, ok := c.dict[s]; ok && c.dictN > i {
		return binary.AppendUvarint(b, uint64(i)<<1|1)
	}
	b = binary.AppendUvarint(b, uint64(len(s))<<1)
	b = append(b, s...)
	if c.dictN < dictMax && len(s) <= dictMaxLen {
		if c.dict == nil {
			c.dict = map[string]uint32{}
		}
		c.dict[s] = c.dictN
		c.dictN++
	}
	return b
}

func (c *codec) appendValue(b []byte, p *plan, v reflect.Value) []byte {
	switch p.kind {
	case reflect.Uint64:
		return binary.AppendUvarint(b, v.Uint())
	case reflect.Float64:
		f := v.Float()
		if f >= 0 && f < 1<<53 && f == math.Trunc(f) && !math.Signbit(f) {
			return binary.AppendUvarint(b, uint64(f)<<1)
		}
		b = binary.AppendUvarint(b, 1)
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	case reflect.String:
		return c.appendString(b, v.String())
	case reflect.Map: // map[string]uint64
		if v.IsNil() {
			return binary.AppendUvarint(b, 0)
		}
		b = binary.AppendUvarint(b, uint64(v.Len())+1)
		it := v.MapRange()
		for it.Next() {
			b = c.appendString(b, it.Key().String())
			b = binary.AppendUvarint(b, it.Value().Uint())
		}
		return b
	case reflect.Slice:
		if v.IsNil() {
			return binary.AppendUvarint(b, 0)
		}
		b = binary.AppendUvarint(b, uint64(v.Len())+1)
		for i := 0; i < v.Len(); i++ {
			b = c.appendValue(b, p.elem, v.Index(i))
		}
		return b
	case reflect.Struct:
		for i, f := range p.fields {
			b = c.appendValue(b, f, v.Field(i))
		}
		return b
	}
	panic("report: bucket store: unexpected kind " + p.kind.String())
}

// decoder mirrors codec over a byte stream.
type decoder struct {
	r       *bufio.Reader
	dict    []string
	prevEnd int64
	scratch []byte
}

func (d *decoder) bucket(b *Bucket) error {
	var err error
	if b.Start, err = d.time(); err != nil {
		return err
	}
	if b.End, err = d.time(); err != nil {
		return err
	}
	return d.value(sectionPlan(), reflect.ValueOf(&b.Section).Elem())
}

func (d *decoder) time() (Timestamp, error) {
	delta, err := binary.ReadVarint(d.r)
	if err != nil {
		return 0, err
	}
	d.prevEnd += delta
	return Timestamp(d.prevEnd), nil
}

func (d *decoder) string() (string, error) {
	tag, err := binary.ReadUvarint(d.r)
	if err != nil {
		return "", err
	}
	if tag&1 == 1 {
		i := tag >> 1
		if i >= uint64(len(d.dict)) {
			return "", fmt.Errorf("string %d not in the dictionary", i)
		}
		return d.dict[i], nil
	}
	n := tag >> 1
	if n > 1<<24 {
		return "", fmt.Errorf("string of %d bytes", n)
	}
	if cap(d.scratch) < int(n) {
		d.scratch = make([]byte, n)
	}
	buf := d.scratch[:n]
	if _, err := io.ReadFull(d.r, buf); err != nil {
		return "", err
	}
	s := string(buf)
	if len(d.dict) < dictMax && len(s) <= dictMaxLen {
		d.dict = append(d.dict, s)
	}
	return s, nil
}

func (d *decoder) value(p *plan, v reflect.Value) error {
	switch p.kind {
	case reflect.Uint64:
		n, err := binary.ReadUvarint(d.r)
		v.SetUint(n)
		return err
	case reflect.Float64:
		n, err := binary.ReadUvarint(d.r)
		if err != nil {
			return err
		}
		if n&1 == 0 {
			v.SetFloat(float64(n >> 1))
			return nil
		}
		var b [8]byte
		if _, err := io.ReadFull(d.r, b[:]); err != nil {
			return err
		}
		v.SetFloat(math.Float64frombits(binary.LittleEndian.Uint64(b[:])))
		return nil
	case reflect.String:
		s, err := d.string()
		v.SetString(s)
		return err
	case reflect.Map:
		n, err := binary.ReadUvarint(d.r)
		if err != nil || n == 0 {
			return err
		}
		m := reflect.MakeMapWithSize(v.Type(), int(min(n-1, 1024)))
		for i := uint64(1); i < n; i++ {
			k, err := d.string()
			if err != nil {
				return err
			}
			c, err := binary.ReadUvarint(d.r)
			if err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k), reflect.ValueOf(c))
		}
		v.Set(m)
		return nil
	case reflect.Slice:
		n, err := binary.ReadUvarint(d.r)
		if err != nil || n == 0 {
			return err
		}
		if n > 1<<24 {
			return fmt.Errorf("list of %d items", n-1)
		}
		l := reflect.MakeSlice(v.Type(), int(n-1), int(n-1))
		for i := 0; i < int(n-1); i++ {
			if err := d.value(p.elem, l.Index(i)); err != nil {
				return err
			}
		}
		v.Set(l)
		return nil
	case reflect.Struct:
		for i, f := range p.fields {
			if err := d.value(f, v.Field(i)); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unexpected kind %s", p.kind)
}

// plan is the shape of a type the codec walks.
type plan struct {
	kind   reflect.Kind
	elem   *plan   // a slice's element
	fields []*plan // a struct's fields, in order
}

var sectionPlan = sync.OnceValue(func() *plan { return planOf(reflect.TypeFor[Section]()) })

// planOf describes t; it panics on a kind the codec does not know, which
// any test that stores a bucket shows at once.
func planOf(t reflect.Type) *plan {
	p := &plan{kind: t.Kind()}
	switch t.Kind() {
	case reflect.Uint64, reflect.Float64, reflect.String:
	case reflect.Map:
		if t.Key().Kind() != reflect.String || t.Elem().Kind() != reflect.Uint64 {
			panic("report: bucket store: cannot encode " + t.String())
		}
	case reflect.Slice:
		p.elem = planOf(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			p.fields = append(p.fields, planOf(t.Field(i).Type))
		}
	default:
		panic("report: bucket store: cannot encode " + t.String())
	}
	return p
}
