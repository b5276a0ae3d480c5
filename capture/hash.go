package capture

import (
	"crypto/sha256"
	"hash"
	"sync"
)

// asyncHash computes an input's SHA-256 on its own goroutine, so hashing
// does not hold up the reader, which every packet waits on. Write copies
// the bytes; Sum waits for the hash to catch up.
type asyncHash struct {
	ch     chan []byte
	done   chan struct{}
	h      hash.Hash
	pool   sync.Pool
	closed bool
}

func newAsyncHash() *asyncHash {
	a := &asyncHash{ch: make(chan []byte, 4), done: make(chan struct{}), h: sha256.New()}
	go func() {
		defer close(a.done)
		for b := range a.ch {
			a.h.Write(b)
			a.pool.Put(&b)
		}
	}()
	return a
}

func (a *asyncHash) Write(p []byte) (int, error) {
	if a.closed || len(p) == 0 {
		return len(p), nil
	}
	var b []byte
	if v, ok := a.pool.Get().(*[]byte); ok && cap(*v) >= len(p) {
		b = (*v)[:len(p)]
	} else {
		b = make([]byte, len(p))
	}
	copy(b, p)
	a.ch <- b
	return len(p), nil
}

// Sum ends the hash and returns it.
func (a *asyncHash) Sum(in []byte) []byte {
	a.stop()
	<-a.done
	return a.h.Sum(in)
}

// stop ends the goroutine; later writes are ignored.
func (a *asyncHash) stop() {
	if !a.closed {
		a.closed = true
		close(a.ch)
	}
}
