package capture

import (
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
	pending bool // the top's source is to advance on the next call
	// Warnings holds the partial-read errors of inputs that ended early.
	Warnings []*Error
}

type mergeItem struct {
	pkt visor.Packet
	src int
}

// mergeHeap is a min-heap of the sources' next packets, by time, then
// source index. Next replaces its top in place and sifts it down: one
// sift a packet, and none of container/heap's interface calls.
type mergeHeap []*mergeItem

func (h mergeHeap) less(i, j int) bool {
	if h[i].pkt.TS != h[j].pkt.TS {
		return h[i].pkt.TS < h[j].pkt.TS
	}
	return h[i].src < h[j].src
}

func (h mergeHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// NewMerge primes every source. An error that is not partial is returned.
func NewMerge(srcs []visor.Source) (*Merge, error) {
	m := &Merge{srcs: srcs}
	for i := range srcs {
		it := &mergeItem{src: i}
		ok, err := m.read(it)
		if err != nil {
			return nil, err
		}
		if ok {
			m.h = append(m.h, it)
		}
	}
	for i := len(m.h)/2 - 1; i >= 0; i-- {
		m.h.down(i)
	}
	return m, nil
}

// read reads the item's next packet; false when its source has ended
// (recording a partial read's error).
func (m *Merge) read(it *mergeItem) (bool, error) {
	err := m.srcs[it.src].Next(&it.pkt)
	if err == nil {
		return true, nil
	}
	return m.end(err)
}

// end sorts a source's read error: its end (false, nil), recording a
// partial read's error, or an error to return.
func (m *Merge) end(err error) (bool, error) {
	if err == io.EOF {
		return false, nil
	}
	var ce *Error
	if errors.As(err, &ce) && ce.Partial {
		m.Warnings = append(m.Warnings, ce)
		return false, nil
	}
	return false, err
}

// Next fills p with the earliest packet of all sources; io.EOF at the end.
func (m *Merge) Next(p *visor.Packet) error {
	if m.pending && len(m.srcs) == 1 {
		// One source: read straight into p (the first packet, primed,
		// went out through the heap below).
		if len(m.h) == 0 {
			return io.EOF
		}
		err := m.srcs[0].Next(p)
		if err == nil {
			return nil
		}
		m.h = m.h[:0]
		if _, err = m.end(err); err != nil {
			return err
		}
		return io.EOF
	}
	if m.pending {
		m.pending = false
		ok, err := m.read(m.h[0])
		if err != nil {
			return err
		}
		if !ok {
			last := len(m.h) - 1
			m.h[0] = m.h[last]
			m.h = m.h[:last]
		}
		m.h.down(0)
	}
	if len(m.h) == 0 {
		return io.EOF
	}
	*p = m.h[0].pkt
	m.pending = true
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
