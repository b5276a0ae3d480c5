package export

import "sync/atomic"

// asyncBatch is the records handed to the writing goroutine at once.
const asyncBatch = 1024

// async writes records through w on a goroutine of its own, so that
// encoding and compressing the rows run beside decoding and matching.
type async struct {
	w      Writer
	cur    []Record
	full   chan []Record
	free   chan []Record
	done   chan error
	failed atomic.Pointer[error] // w's first error, as soon as it happens
	err    error
	closed bool
}

// Async returns a Writer that hands records in batches to w on another
// goroutine. Its Write returns the first error of w, a batch or two late;
// Close waits for w and closes it.
func Async(w Writer) Writer {
	a := &async{w: w, full: make(chan []Record, 2), free: make(chan []Record, 3), done: make(chan error, 1)}
	for range 3 {
		a.free <- make([]Record, 0, asyncBatch)
	}
	a.cur = <-a.free
	go a.run(a.full)
	return a
}

func (a *async) run(full <-chan []Record) {
	var err error
	for b := range full {
		for i := range b {
			if err == nil {
				if err = a.w.Write(&b[i]); err != nil {
					a.failed.Store(&err)
				}
			}
		}
		clear(b) // drop the strings it holds
		a.free <- b[:0]
	}
	if err == nil {
		err = a.w.Close()
	}
	a.done <- err
}

func (a *async) Write(r *Record) error {
	if a.err != nil {
		return a.err
	}
	a.cur = append(a.cur, *r)
	if len(a.cur) == cap(a.cur) {
		a.full <- a.cur
		a.cur = <-a.free
	}
	if e := a.failed.Load(); e != nil {
		a.err = *e
	}
	return a.err
}

func (a *async) Close() error {
	if a.closed {
		return a.err
	}
	a.closed = true
	if len(a.cur) > 0 && a.err == nil {
		a.full <- a.cur
	}
	close(a.full)
	if err := <-a.done; a.err == nil {
		a.err = err
	}
	return a.err
}
