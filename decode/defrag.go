package decode

import (
	"net/netip"

	"github.com/visor-dns/visor"
)

// Defragmentation bounds. What they drop is counted in DefragStats.
const (
	DefaultMaxDatagrams = 4096
	// DefaultMaxBytes bounds the buffer room held by all pending datagrams.
	DefaultMaxBytes    = 32 << 20
	maxDatagram        = 65535 + 40 // IPv6 payload plus slack; IPv4 total is 65535
	DefaultFragTimeout = 30_000_000_000
)

// DefragStats counts fragments that did not become whole datagrams.
type DefragStats struct {
	Reassembled uint64 // datagrams completed
	Incomplete  uint64 // datagrams expired or evicted before completion
	Evicted     uint64 // of those, dropped because the table was full
	Overlaps    uint64 // fragments overlapping bytes already held
	TooBig      uint64 // fragments reaching past the largest datagram
}

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
}

type span struct{ from, to int }

type datagram struct {
	key   fragKey
	buf   []byte
	have  []span // received byte ranges, sorted and merged
	total int    // datagram length once the last piece arrived, else -1
	first int64
	lruLinks[datagram]
}

func (dg *datagram) links() *lruLinks[datagram] { return &dg.lruLinks }

// Defrag reassembles IPv4 and IPv6 fragments on capture time.
type Defrag struct {
	pending                      map[fragKey]*datagram
	lruList[datagram, *datagram] // in order of their first fragment
	MaxDatagrams                 int
	MaxBytes                     int
	held                         int // buffer room held by pending datagrams
	Timeout                      int64
	Stats                        DefragStats
	out                          []byte
}

// NewDefrag returns an empty reassembler with the default bounds.
func NewDefrag() *Defrag {
	return &Defrag{pending: map[fragKey]*datagram{}, MaxDatagrams: DefaultMaxDatagrams, MaxBytes: DefaultMaxBytes, Timeout: DefaultFragTimeout}
}

// Add takes one fragment frame. When it completes a datagram, Add decodes
// the datagram's transport header into f (clearing f.Fragment) and returns
// true; f.Payload then aliases the reassembler's buffer until the next Add.
func (d *Defrag) Add(f *visor.Frame) bool {
	d.expire(f.TS)
	from, to := f.FragOffset, f.FragOffset+len(f.Payload)
	if to > maxDatagram {
		d.Stats.TooBig++ // before the lookup: an oversize piece takes no slot
		return false
	}
	k := fragKey{f.Src, f.Dst, f.FragID, f.Proto}
	dg := d.pending[k]
	if dg == nil {
		if len(d.pending) >= d.MaxDatagrams && d.head != nil {
			d.Stats.Incomplete++
			d.Stats.Evicted++
			d.drop(d.head)
		}
		dg = &datagram{key: k, total: -1, first: f.TS}
		d.pending[k] = dg
		d.push(dg)
	}
	if !f.FragMore {
		dg.total = to
	}
	if to > len(dg.buf) {
		if to > cap(dg.buf) {
			nb := make([]byte, to, max(to, 2*cap(dg.buf)))
			copy(nb, dg.buf)
			d.held += cap(nb) - cap(dg.buf)
			dg.buf = nb
			for d.held > d.MaxBytes && d.head != nil && d.head != dg {
				d.Stats.Incomplete++
				d.Stats.Evicted++
				d.drop(d.head)
			}
		} else {
			dg.buf = dg.buf[:to]
		}
	}
	if dg.covers(from, to) {
		d.Stats.Overlaps++
	}
	copy(dg.buf[from:to], f.Payload)
	dg.insert(from, to)
	if dg.total < 0 || len(dg.have) != 1 || dg.have[0].from != 0 || dg.have[0].to < dg.total {
		return false
	}
	d.Stats.Reassembled++
	d.out = append(d.out[:0], dg.buf[:dg.total]...)
	d.drop(dg)
	f.Fragment, f.FragOffset, f.FragMore = false, 0, false
	if transport(d.out, f) != OK {
		f.Payload = nil
	}
	return true
}

// covers reports whether [from,to) overlaps bytes already held.
func (dg *datagram) covers(from, to int) bool {
	for _, s := range dg.have {
		if from < s.to && s.from < to {
			return true
		}
	}
	return false
}

// insert adds [from,to) to the held ranges, merging neighbours.
func (dg *datagram) insert(from, to int) {
	out := dg.have[:0:0]
	placed := false
	for _, s := range dg.have {
		switch {
		case s.to < from:
			out = append(out, s)
		case to < s.from:
			if !placed {
				out = append(out, span{from, to})
				placed = true
			}
			out = append(out, s)
		default:
			from, to = min(from, s.from), max(to, s.to)
		}
	}
	if !placed {
		out = append(out, span{from, to})
	}
	dg.have = out
}

func (d *Defrag) drop(dg *datagram) {
	d.held -= cap(dg.buf)
	d.remove(dg)
	delete(d.pending, dg.key)
}

// expire drops datagrams older than the timeout (datagrams are linked in
// order of their first fragment).
func (d *Defrag) expire(now int64) {
	for d.head != nil && now-d.head.first > d.Timeout {
		d.Stats.Incomplete++
		d.drop(d.head)
	}
}

// Close counts every datagram still waiting for pieces as incomplete.
func (d *Defrag) Close() {
	for d.head != nil {
		d.Stats.Incomplete++
		d.drop(d.head)
	}
}
