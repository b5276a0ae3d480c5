package export

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// Formats are the record formats.
var Formats = []string{"ndjson", "csv", "parquet"}

// RowGroupRows is the rows of one Parquet row group: large enough for
// engines to skip by statistics, small enough to bound the writer's memory.
const RowGroupRows = 64 << 10

// Writer writes records in one format.
type Writer interface {
	// Write writes the batch's records; the batch is the caller's again
	// when it returns.
	Write(x *Batch) error
	// Close flushes what is buffered and ends the file (Parquet's footer);
	// it does not close the underlying io.Writer.
	Close() error
}

// NewWriter returns a writer of format to w. inputs name the inputs by
// index, for the input column.
func NewWriter(format string, w io.Writer, inputs []string) (Writer, error) {
	switch format {
	case "ndjson":
		return &textWriter{w: newAsyncOut(w), inputs: inputs, json: true}, nil
	case "csv":
		return &textWriter{w: newAsyncOut(w), inputs: inputs}, nil
	case "parquet":
		return newPQWriter(w, inputs), nil
	}
	return nil, checkFormat(format)
}

// checkFormat says whether format is one of Formats.
func checkFormat(format string) error {
	if slices.Contains(Formats, format) {
		return nil
	}
	return fmt.Errorf("unknown record format %q (ndjson, csv or parquet)", format)
}

// textWriter writes NDJSON or CSV.
type textWriter struct {
	w      *asyncOut
	inputs []string
	json   bool
	header bool
	line   []byte
	val    []byte
}

func (t *textWriter) Write(x *Batch) error {
	for i := range x.Rows {
		if err := t.write(&x.Rows[i], x); err != nil {
			return err
		}
	}
	return nil
}

func (t *textWriter) write(r *Record, x *Batch) error {
	b := t.line[:0]
	if !t.json && !t.header {
		for i, c := range Columns {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, c.Name...)
		}
		b = append(b, '\n')
		t.header = true
	}
	if t.json {
		b = append(b, '{')
	}
	for i := range Columns {
		c := &Columns[i]
		if i > 0 {
			b = append(b, ',')
		}
		if t.json {
			b = append(b, '"')
			b = append(b, c.Name...)
			b = append(b, '"', ':')
		}
		var ok bool
		switch c.Kind {
		case KindString:
			t.val, ok = c.Text(t.val[:0], r, x, t.inputs)
			switch {
			case !ok && t.json:
				b = append(b, "null"...)
			case !ok:
			case t.json:
				b = appendJSONString(b, t.val)
			default:
				b = appendCSVField(b, t.val)
			}
			continue
		}
		var v int64
		if v, ok = c.Num(r); !ok {
			if t.json {
				b = append(b, "null"...)
			}
			continue
		}
		switch c.Kind {
		case KindTime:
			if t.json {
				b = append(b, '"')
			}
			b = time.Unix(0, v).UTC().AppendFormat(b, time.RFC3339Nano)
			if t.json {
				b = append(b, '"')
			}
		case KindBool:
			b = strconv.AppendBool(b, v != 0)
		default:
			b = strconv.AppendInt(b, v, 10)
		}
	}
	if t.json {
		b = append(b, '}')
	}
	b = append(b, '\n')
	t.line = b
	_, err := t.w.Write(b)
	return err
}

func (t *textWriter) Close() error {
	if !t.json && !t.header {
		t.header = true
		b := t.line[:0]
		for i, c := range Columns {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, c.Name...)
		}
		t.w.Write(append(b, '\n'))
	}
	return t.w.Close()
}

// Abort ends the writing goroutine; what was not written is lost.
func (t *textWriter) Abort() { t.w.Abort() }

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as a JSON string (names are ASCII, escaped
// \DDD where not printable; paths may be any bytes).
func appendJSONString(b, s []byte) []byte {
	b = append(b, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendCSVField writes s as an RFC 4180 field: quoted when it holds a
// comma, a quote or a line break (an empty field is null).
func appendCSVField(b, s []byte) []byte {
	quote := len(s) == 0
	for _, c := range s {
		if c == ',' || c == '"' || c == '\n' || c == '\r' {
			quote = true
			break
		}
	}
	if !quote {
		return append(b, s...)
	}
	b = append(b, '"')
	for _, c := range s {
		if c == '"' {
			b = append(b, '"')
		}
		b = append(b, c)
	}
	return append(b, '"')
}
