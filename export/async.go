package export

import (
	"io"
	"sync/atomic"
)

// asyncOut writes to w on a goroutine of its own, in buffers of
// asyncBuf bytes, so that the kernel's copy of a large text export
// overlaps its formatting. Close (or Abort) ends the goroutine.
type asyncOut struct {
	buf  []byte
	full chan []byte
	free chan []byte
	done chan struct{}
	err  atomic.Pointer[error] // the goroutine's first error
}

const asyncBuf = 1 << 20

func newAsyncOut(w io.Writer) *asyncOut {
	a := &asyncOut{buf: make([]byte, 0, asyncBuf), full: make(chan []byte, 1), free: make(chan []byte, 2), done: make(chan struct{})}
	a.free <- make([]byte, 0, asyncBuf)
	full := a.full // Close sets the field nil
	go func() {
		defer close(a.done)
		for b := range full {
			if a.err.Load() == nil {
				if _, err := w.Write(b); err != nil {
					a.err.Store(&err)
				}
			}
			a.free <- b[:0]
		}
	}()
	return a
}

func (a *asyncOut) failed() error {
	if p := a.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Write buffers p; it returns the error of an earlier write, if any.
func (a *asyncOut) Write(p []byte) (int, error) {
	if err := a.failed(); err != nil {
		return 0, err
	}
	a.buf = append(a.buf, p...)
	if len(a.buf) >= asyncBuf {
		a.full <- a.buf
		a.buf = <-a.free
	}
	return len(p), nil
}

// Close writes what is buffered and waits for the goroutine's end.
func (a *asyncOut) Close() error {
	if a.full == nil {
		return a.failed()
	}
	if len(a.buf) > 0 {
		a.full <- a.buf
	}
	a.buf = nil
	close(a.full)
	a.full = nil
	<-a.done
	return a.failed()
}

// Abort ends the goroutine without writing what is buffered.
func (a *asyncOut) Abort() {
	if a.full != nil {
		a.buf = a.buf[:0]
		close(a.full)
		a.full = nil
		<-a.done
	}
}
