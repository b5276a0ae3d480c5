package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// interrupted is the cause of a run's context when a signal stopped it.
type interrupted struct{ sig syscall.Signal }

func (e *interrupted) Error() string { return "interrupted by " + signalName(e.sig) }

// code is the exit status shells expect of a process a signal stopped.
func (e *interrupted) code() int { return 128 + int(e.sig) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// interruptOf returns the signal that cancelled ctx, or nil.
func interruptOf(ctx context.Context) *interrupted {
	var in *interrupted
	if errors.As(context.Cause(ctx), &in) {
		return in
	}
	return nil
}

// interruptGrace is how long a run may take to stop reading its input
// after the first signal (it may be blocked in a system call, e.g. opening
// a FIFO nobody writes) before visor exits without a report.
const interruptGrace = 5 * time.Second

type graceKey struct{}

// inputDone tells the signal handler that the run has stopped reading: from
// now on it writes its report, however long that takes after a signal.
func inputDone(ctx context.Context) {
	if once, ok := ctx.Value(graceKey{}).(*sync.Once); ok {
		once.Do(func() {})
	}
}

// notifyInterrupt cancels the returned context with an *interrupted cause
// on the first SIGINT or SIGTERM. A second signal, or a run still going
// interruptGrace later, ends the process at once with 128+signal.
func notifyInterrupt(stderr io.Writer) (context.Context, func()) {
	base, cancel := context.WithCancelCause(context.Background())
	reading := new(sync.Once) // done once the run has stopped reading input
	ctx := context.WithValue(base, graceKey{}, reading)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		var first *interrupted
		var grace <-chan time.Time
		for {
			select {
			case <-done:
				return
			case s := <-ch:
				sig, _ := s.(syscall.Signal)
				if first != nil {
					fmt.Fprintf(stderr, "visor: %s again: exiting without a report\n", signalName(sig))
					os.Exit(128 + int(sig))
				}
				first = &interrupted{sig: sig}
				cancel(first)
				grace = time.After(interruptGrace)
			case <-grace:
				finished := true
				reading.Do(func() { finished = false })
				if finished {
					grace = nil // the report is being written: let it finish
					continue
				}
				fmt.Fprintf(stderr, "visor: %s: the run did not stop within %s (blocked on input?): exiting without a report\n", signalName(first.sig), interruptGrace)
				os.Exit(first.code())
			}
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			cancel(nil)
		})
	}
}

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
