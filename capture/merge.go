package capture

import (
	"container/heap"
	"errors"
	"io"

	"github.com/visor-dns/visor"
)

// Merge reads several sources as one stream in capture-time order. A
// source's packet stays valid until Merge advances that source, which it
// does on the call after returning the packet.
type Merge struct {
	srcs    []visor.Source
	h       mergeHeap
	pending int // index in srcs to advance on the next call, or -1
	// Warnings holds the partial-read errors of inputs that ended early.
	Warnings []*Error
}

type mergeItem struct {
	pkt visor.Packet
	src int
}

type mergeHeap []*mergeItem

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	if h[i].pkt.TS != h[j].pkt.TS {
		return h[i].pkt.TS < h[j].pkt.TS
	}
	return h[i].src < h[j].src
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(*mergeItem)) }
func (h *mergeHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// NewMerge primes every source. An error that is not partial is returned.
func NewMerge(srcs []visor.Source) (*Merge, error) {
	m := &Merge{srcs: srcs, pending: -1}
	for i := range srcs {
		it := &mergeItem{src: i}
		if err := m.fill(it); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// fill reads the item's next packet and pushes it, or records its end.
func (m *Merge) fill(it *mergeItem) error {
	err := m.srcs[it.src].Next(&it.pkt)
	if err == nil {
		heap.Push(&m.h, it)
		return nil
	}
	if err == io.EOF {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) && ce.Partial {
		m.Warnings = append(m.Warnings, ce)
		return nil
	}
	return err
}

// Next fills p with the earliest packet of all sources; io.EOF at the end.
func (m *Merge) Next(p *visor.Packet) error {
	if m.pending >= 0 {
		it := m.h[0]
		heap.Pop(&m.h)
		m.pending = -1
		if err := m.fill(it); err != nil {
			return err
		}
	}
	if len(m.h) == 0 {
		return io.EOF
	}
	*p = m.h[0].pkt
	m.pending = m.h[0].src
	return nil
}

// Close closes every source.
func (m *Merge) Close() error {
	var first error
	for _, s := range m.srcs {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
