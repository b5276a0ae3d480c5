package export

import (
	"fmt"
	"io"
)

// Part is one file of a rotated export: Close ends it (it is whole
// then), Abort throws it away.
type Part interface {
	io.Writer
	Close() error
	Abort()
}

// rotating writes at most rows records a file, opening the next part
// (create(1), create(2), ...) as one fills; every part is a whole file of
// its format (a Parquet footer, a CSV header).
type rotating struct {
	format string
	inputs []string
	rows   int64
	create func(n int) (Part, error)
	n      int
	part   Part
	w      Writer
	in     int64 // rows in the open part
}

// NewRotating returns a Writer of format that starts a new part every
// rows records (rows > 0). Parts are made by create as they are needed:
// an export without a row makes one empty part, so the output says so.
func NewRotating(format string, inputs []string, rows int64, create func(n int) (Part, error)) (Writer, error) {
	if rows <= 0 {
		return nil, fmt.Errorf("rows per file must be positive, not %d", rows)
	}
	if err := checkFormat(format); err != nil {
		return nil, err
	}
	return &rotating{format: format, inputs: inputs, rows: rows, create: create}, nil
}

func (r *rotating) open() error {
	r.n++
	p, err := r.create(r.n)
	if err != nil {
		return err
	}
	w, err := NewWriter(r.format, p, r.inputs)
	if err != nil {
		p.Abort()
		return err
	}
	r.part, r.w, r.in = p, w, 0
	return nil
}

func (r *rotating) end() error {
	if r.part == nil {
		return nil
	}
	err := r.w.Close()
	if err != nil {
		r.part.Abort()
	} else {
		err = r.part.Close()
	}
	r.part, r.w = nil, nil
	return err
}

func (r *rotating) Write(x *Batch) error {
	rows := x.Rows
	for len(rows) > 0 {
		if r.part == nil {
			if err := r.open(); err != nil {
				return err
			}
		}
		n := min(int64(len(rows)), r.rows-r.in)
		if err := r.w.Write(&Batch{Rows: rows[:n], Text: x.Text, FindingIDs: x.FindingIDs}); err != nil {
			return err
		}
		r.in += n
		rows = rows[n:]
		if r.in == r.rows {
			if err := r.end(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close ends the open part (or makes the one empty part of an export
// without rows).
func (r *rotating) Close() error {
	if r.n == 0 {
		if err := r.open(); err != nil {
			return err
		}
	}
	return r.end()
}

// Abort throws away the open part (the finished ones stay).
func (r *rotating) Abort() {
	if r.part != nil {
		if a, ok := r.w.(interface{ Abort() }); ok {
			a.Abort()
		}
		r.part.Abort()
		r.part, r.w = nil, nil
	}
}
