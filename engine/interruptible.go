package engine

import (
	"context"
	"io"
	"os"
	"sync"
)

// ctxReader reads r on its own goroutine, so that a Read blocked on a
// pipe, a terminal or a FIFO returns as soon as ctx is cancelled.
type ctxReader struct {
	ctx    context.Context
	full   chan chunk
	free   chan []byte
	closed chan struct{}
	once   sync.Once
	cur    chunk
	r      io.Reader
}

type chunk struct {
	b   []byte
	off int
	err error
}

// chunkSize is the size of the two buffers an interruptible reader fills in
// turn; they are pooled, as a run over a small input would otherwise spend
// more on clearing them than on its packets.
const chunkSize = 64 << 10

var chunks = sync.Pool{New: func() any { return new([chunkSize]byte) }}

// interruptible wraps r so that its reads end with ctx's cause. Its Close
// stops the reading goroutine (and closes r when r is a Closer).
func interruptible(ctx context.Context, r io.Reader) io.ReadCloser {
	c := &ctxReader{ctx: ctx, full: make(chan chunk), free: make(chan []byte, 2), closed: make(chan struct{}), r: r}
	c.free <- chunks.Get().(*[chunkSize]byte)[:]
	c.free <- chunks.Get().(*[chunkSize]byte)[:]
	go c.pump()
	return c
}

func (c *ctxReader) pump() {
	defer c.recycle()
	for {
		var b []byte
		select {
		case b = <-c.free:
		case <-c.ctx.Done():
			return
		case <-c.closed:
			return
		}
		n, err := c.r.Read(b)
		select {
		case c.full <- chunk{b: b[:n], err: err}:
		case <-c.ctx.Done():
			return
		case <-c.closed:
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

// recycle gives the free buffers back to the pool when the pump ends; one
// the reader holds, or one in flight, is left to the collector.
func (c *ctxReader) recycle() {
	for {
		select {
		case b := <-c.free:
			chunks.Put((*[chunkSize]byte)(b[:chunkSize]))
		default:
			return
		}
	}
}

func (c *ctxReader) Close() error {
	var err error
	c.once.Do(func() {
		close(c.closed)
		if cl, ok := c.r.(io.Closer); ok {
			err = cl.Close()
		}
	})
	return err
}

// openInterruptible opens a FIFO or a device, whose open and reads may
// block until a writer comes, so that a cancelled ctx ends both.
func openInterruptible(ctx context.Context, path string) (io.ReadCloser, error) {
	type opened struct {
		f   *os.File
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		ch <- opened{f, err}
	}()
	select {
	case o := <-ch:
		if o.err != nil {
			return nil, o.err
		}
		return interruptible(ctx, o.f), nil
	case <-ctx.Done():
		go func() { // close it if the open ever completes
			if o := <-ch; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, context.Cause(ctx)
	}
}
