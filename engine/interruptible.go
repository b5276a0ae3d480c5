package engine

import (
	"context"
	"io"
)

// ctxReader reads r on its own goroutine, so that a Read blocked on a
// pipe, a terminal or a FIFO returns as soon as ctx is cancelled.
type ctxReader struct {
	ctx  context.Context
	full chan chunk
	free chan []byte
	cur  chunk
}

type chunk struct {
	b   []byte
	off int
	err error
}

// interruptible wraps r so that its reads end with ctx's cause.
func interruptible(ctx context.Context, r io.Reader) io.Reader {
	c := &ctxReader{ctx: ctx, full: make(chan chunk), free: make(chan []byte, 2)}
	c.free <- make([]byte, 64<<10)
	c.free <- make([]byte, 64<<10)
	go c.pump(r)
	return c
}

func (c *ctxReader) pump(r io.Reader) {
	for {
		var b []byte
		select {
		case b = <-c.free:
		case <-c.ctx.Done():
			return
		}
		n, err := r.Read(b)
		select {
		case c.full <- chunk{b: b[:n], err: err}:
		case <-c.ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

func (c *ctxReader) Read(p []byte) (int, error) {
	for c.cur.off == len(c.cur.b) {
		if c.cur.err != nil {
			return 0, c.cur.err
		}
		if c.cur.b != nil {
			c.free <- c.cur.b[:cap(c.cur.b)]
			c.cur.b = nil
		}
		select {
		case c.cur = <-c.full:
		case <-c.ctx.Done():
			return 0, context.Cause(c.ctx)
		}
	}
	n := copy(p, c.cur.b[c.cur.off:])
	c.cur.off += n
	return n, nil
}
