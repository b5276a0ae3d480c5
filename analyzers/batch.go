package analyzers

import (
	"github.com/visor-dns/visor"
)

// batchFrames and batchBytes bound one batch handed from the reader to a
// shard.
const (
	batchFrames = 512
	batchBytes  = 256 << 10
)

// item is one decoded packet as a shard sees it. Its frame's Payload points
// into the batch's arena.
type item struct {
	f         visor.Frame
	queryTime int64  // for tap responses that carry it
	number    uint64 // the packet's number within its input (for Options.Transactions)
	input     int32  // and its input's index
	dir       visor.Direction
	tap       bool  // a dnstap message: Payload is the DNS message
	transport uint8 // for tap items
}

// batch carries frames, or a control mark, from the reader to one shard.
type batch struct {
	items []item
	arena []byte
	// mark, when not markNone, asks the shard to close its bucket.
	mark   mark
	bucket int64 // the bucket being closed
	end    int64 // its end, for transaction timeouts
}

type mark uint8

const (
	markNone   mark = iota
	markBucket      // close the bucket and hand its state to the merger
	markFinish      // the input ended: close everything
)

func newBatch() *batch {
	return &batch{} // grown by use: a small input allocates little
}

// add copies the frame (and its payload) into the batch.
func (b *batch) add(f *visor.Frame, dir visor.Direction) *item {
	b.items = append(b.items, item{f: *f, dir: dir})
	it := &b.items[len(b.items)-1]
	if len(f.Payload) > 0 {
		start := len(b.arena)
		b.arena = append(b.arena, f.Payload...)
		it.f.Payload = b.arena[start:len(b.arena):len(b.arena)]
	}
	return it
}

// full reports whether the batch should be sent before it takes more.
func (b *batch) full() bool {
	return len(b.items) >= batchFrames || len(b.arena) >= batchBytes-2048
}

func (b *batch) reset() {
	b.items = b.items[:0]
	b.arena = b.arena[:0]
	b.mark = markNone
}
