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

	"github.com/visor-dns/visor/engine"
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

// notifyInterrupt cancels the returned context with an *interrupted cause
// on the first SIGINT or SIGTERM. A second signal (a second or more later), or a run still going
// interruptGrace later, ends the process at once with 128+signal.
func notifyInterrupt(stderr io.Writer) (context.Context, func()) {
	base, cancel := context.WithCancelCause(context.Background())
	reading := new(sync.Once) // done once the run has stopped reading input
	// Once the run has stopped reading, it writes its report, however long
	// that takes after a signal.
	ctx := engine.WithReadDone(base, func() { reading.Do(func() {}) })
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		var first *interrupted
		var firstAt time.Time
		var grace <-chan time.Time
		for {
			select {
			case <-done:
				return
			case s := <-ch:
				sig, _ := s.(syscall.Signal)
				if first != nil {
					if time.Since(firstAt) < time.Second {
						continue // one stop sent twice (to the process and its group, as timeout(1) does)
					}
					fmt.Fprintf(stderr, "visor: %s again: exiting without a report\n", signalName(sig))
					os.Exit(128 + int(sig))
				}
				first, firstAt = &interrupted{sig: sig}, time.Now()
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
