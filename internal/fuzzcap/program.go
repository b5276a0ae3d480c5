package fuzzcap

import (
	"encoding/binary"
	"slices"
)

// A Program is a fuzzer's bytes read as edits of a seed capture:
//
//	[seed] [start hi] [start lo] [count]   a window of count%64+1 packets
//	                                       of seeds[seed%len] from start
//	then ops, each [op] [operands...]      until the bytes run out
//
// Every operand byte is taken modulo what it selects from, so every
// program is valid. The first operand of most ops picks a packet among
// those the op applies to (TCP segments with a payload, IP datagrams,
// fragments, or any packet).
const (
	OpSeq      = iota // [pkt] [kind] (+4): a TCP segment's seq +2^31, -2^31, +1, -1, +len, -len, random, +2^31-1
	OpFlags           // [pkt] [mask]: TCP flags XOR mask&(FIN|SYN|RST|PSH|ACK)
	OpCut             // [pkt] [n]: the payload cut to n%(len+1) bytes, lengths fixed
	OpSnap            // [pkt] [n]: the record cut inside the payload, lengths kept (snaplen)
	OpSplit           // [pkt] [at]: a TCP segment split in two
	OpMerge           // [pkt]: a TCP segment joined with the next one of its direction
	OpDup             // [pkt] [to]: a packet copied to another place
	OpSwap            // [pkt] [to]: two packets' bytes swapped, times kept
	OpDrop            // [pkt]
	OpDNSLen          // [pkt] [msg] [kind] (+2): the length prefix of the msg-th DNS message in a segment set to 0, 1, 11, 12, len-1, len+1, 65535, random
	OpFragment        // [pkt] [at] [how]: an IP datagram cut in two fragments; how: reversed, first duplicated, overlapping, last piece kept open
	OpFragOff         // [pkt] [kind] (+2): a fragment's offset +8, -8, max, 0, random, or MF flipped
	OpTime            // [pkt] [kind]: a packet's time +1 s, -1 s, +60 s, +1 h, -1 µs, +2^31 s
	OpByte            // [pkt] [off] [xor]: one byte of a packet
	NumOps
)

// MaxOps bounds the edits of one program.
const MaxOps = 64

// reader hands out a program's bytes, zeros once they run out.
type reader struct {
	b []byte
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) u16() uint16 { return uint16(r.byte())<<8 | uint16(r.byte()) }
func (r *reader) u32() uint32 { return uint32(r.u16())<<16 | uint32(r.u16()) }

// Run applies prog to a window of one of the seeds and returns the result
// (the seeds are not changed).
func Run(seeds []*Capture, prog []byte) *Capture {
	r := &reader{b: prog}
	s := seeds[int(r.byte())%len(seeds)]
	start := int(r.u16())
	c := s.Window(start, int(r.byte()%64)+1)
	for i := 0; i < MaxOps && len(r.b) > 0; i++ {
		c.apply(r)
	}
	return c
}

// Apply applies ops (without the window header) to c in place.
func (c *Capture) Apply(ops []byte) {
	r := &reader{b: ops}
	for i := 0; i < MaxOps && len(r.b) > 0; i++ {
		c.apply(r)
	}
}

// pick returns the index of the n-th packet (mod their number) for which
// want is true, or -1.
func (c *Capture) pick(n byte, want func(layers, []byte) bool) (int, layers) {
	var idx []int
	var ls []layers
	for i, p := range c.Packets {
		l, ok := parse(c.LinkType, p.Data)
		if want == nil || (ok && want(l, p.Data)) {
			idx = append(idx, i)
			ls = append(ls, l)
		}
	}
	if len(idx) == 0 {
		return -1, layers{}
	}
	k := int(n) % len(idx)
	return idx[k], ls[k]
}

func tcpData(l layers, _ []byte) bool { return l.isTCP() && l.end > l.pay }
func tcpAny(l layers, _ []byte) bool  { return l.isTCP() }
func withData(l layers, _ []byte) bool {
	return !l.frag && (l.proto == protoTCP || l.proto == protoUDP) && l.end > l.pay
}
func whole(l layers, _ []byte) bool    { return !l.frag && (l.proto == protoTCP || l.proto == protoUDP) }
func fragment(l layers, _ []byte) bool { return l.frag }

func (c *Capture) insert(i int, p Packet) {
	c.Packets = slices.Insert(c.Packets, i, p)
}

func (c *Capture) apply(r *reader) {
	op := int(r.byte()) % NumOps
	be := binary.BigEndian
	switch op {
	case OpSeq:
		i, l := c.pick(r.byte(), tcpData)
		kind := r.byte() % 8
		var rnd uint32
		if kind == 6 {
			rnd = r.u32()
		}
		if i < 0 {
			return
		}
		b := c.Packets[i].Data
		n := uint32(l.end - l.pay)
		d := [...]uint32{1 << 31, -(1 << 31) & 0xffffffff, 1, 0xffffffff, n, -n, rnd, 1<<31 - 1}[kind]
		be.PutUint32(b[l.l4+4:], be.Uint32(b[l.l4+4:])+d)
	case OpFlags:
		i, l := c.pick(r.byte(), tcpAny)
		m := r.byte() & (FIN | SYN | RST | PSH | ACK)
		if i >= 0 {
			c.Packets[i].Data[l.l4+13] ^= m
		}
	case OpCut:
		i, l := c.pick(r.byte(), withData)
		n := r.byte()
		if i >= 0 {
			b := c.Packets[i].Data
			pay := b[l.pay:l.end]
			c.Packets[i].Data = withPayload(b, l, pay[:int(n)%(len(pay)+1)])
		}
	case OpSnap:
		i, l := c.pick(r.byte(), withData)
		n := r.byte()
		if i >= 0 {
			c.Packets[i].Data = c.Packets[i].Data[:l.pay+int(n)%(l.end-l.pay)]
		}
	case OpSplit:
		i, l := c.pick(r.byte(), func(l layers, b []byte) bool { return tcpData(l, b) && l.end-l.pay >= 2 })
		at := r.byte()
		if i < 0 {
			return
		}
		p := c.Packets[i]
		pay := p.Data[l.pay:l.end]
		k := 1 + int(at)%(len(pay)-1)
		first := withPayload(p.Data, l, pay[:k])
		first[l.l4+13] &^= FIN | RST
		second := withPayload(p.Data, l, pay[k:])
		second[l.l4+13] &^= SYN
		be.PutUint32(second[l.l4+4:], be.Uint32(second[l.l4+4:])+uint32(k))
		c.Packets[i].Data = first
		c.insert(i+1, Packet{TS: p.TS, Data: second})
	case OpMerge:
		i, l := c.pick(r.byte(), tcpData)
		if i < 0 {
			return
		}
		b := c.Packets[i].Data
		for j := i + 1; j < len(c.Packets); j++ {
			o := c.Packets[j].Data
			lo, ok := parse(c.LinkType, o)
			if !ok || !lo.isTCP() || lo.v6 != l.v6 || !sameFlow(b, l, o, lo) {
				continue
			}
			pay := append(append([]byte(nil), b[l.pay:l.end]...), o[lo.pay:lo.end]...)
			if len(pay) > 65000 {
				return
			}
			m := withPayload(b, l, pay)
			m[l.l4+13] |= o[lo.l4+13] & (FIN | PSH)
			c.Packets[i].Data = m
			c.Packets = slices.Delete(c.Packets, j, j+1)
			return
		}
	case OpDup:
		i, _ := c.pick(r.byte(), nil)
		to := r.byte()
		if i < 0 {
			return
		}
		j := int(to) % (len(c.Packets) + 1)
		p := c.Packets[i]
		ts := p.TS
		if j > 0 {
			ts = max(ts, c.Packets[j-1].TS)
		}
		c.insert(j, Packet{TS: ts, Data: append([]byte(nil), p.Data...)})
	case OpSwap:
		i, _ := c.pick(r.byte(), nil)
		to := r.byte()
		if i < 0 {
			return
		}
		j := int(to) % len(c.Packets)
		c.Packets[i].Data, c.Packets[j].Data = c.Packets[j].Data, c.Packets[i].Data
	case OpDrop:
		i, _ := c.pick(r.byte(), nil)
		if i >= 0 && len(c.Packets) > 1 {
			c.Packets = slices.Delete(c.Packets, i, i+1)
		}
	case OpDNSLen:
		i, l := c.pick(r.byte(), func(l layers, b []byte) bool { return tcpData(l, b) && l.end-l.pay >= 2 })
		msg, kind := r.byte()%4, r.byte()%8
		var rnd uint16
		if kind == 7 {
			rnd = r.u16()
		}
		if i < 0 {
			return
		}
		pay := c.Packets[i].Data[l.pay:l.end]
		off := 0
		for k := byte(0); k < msg && off+2 <= len(pay); k++ {
			off += 2 + int(be.Uint16(pay[off:]))
		}
		if off+2 > len(pay) {
			off = 0
		}
		n := uint16(len(pay) - off - 2)
		v := [...]uint16{0, 1, 11, 12, n - 1, n + 1, 65535, rnd}[kind]
		be.PutUint16(pay[off:], v)
	case OpFragment:
		i, l := c.pick(r.byte(), func(l layers, b []byte) bool { return whole(l, b) && l.end-l.l4 > 8 })
		at, how := r.byte(), r.byte()
		if i >= 0 {
			c.fragment(i, l, at, how)
		}
	case OpFragOff:
		i, l := c.pick(r.byte(), fragment)
		kind := r.byte() % 6
		rnd := uint16(0)
		if kind == 4 {
			rnd = r.u16()
		}
		if i < 0 {
			return
		}
		b := c.Packets[i].Data
		w := b[l.ip+6:] // IPv4: flags and offset in 8-byte units
		off, more := int(be.Uint16(w)&0x1fff), be.Uint16(w)&0x2000 != 0
		if l.v6 {
			w = b[l.fragH+2:]
			off, more = int(be.Uint16(w)>>3), be.Uint16(w)&1 != 0
		}
		switch kind {
		case 0:
			off++
		case 1:
			off--
		case 2:
			off = 0x1fff
		case 3:
			more = !more
		case 4:
			off = int(rnd)
		case 5:
			off = 0
		}
		off &= 0x1fff
		if l.v6 {
			v := uint16(off << 3)
			if more {
				v |= 1
			}
			be.PutUint16(w, v)
		} else {
			v := be.Uint16(w)&0x4000 | uint16(off)
			if more {
				v |= 0x2000
			}
			be.PutUint16(w, v)
		}
	case OpTime:
		i, _ := c.pick(r.byte(), nil)
		kind := r.byte() % 6
		if i >= 0 {
			c.Packets[i].TS += [...]int64{1e9, -1e9, 60e9, 3600e9, -1e3, 1 << 31 * 1e9}[kind]
		}
	case OpByte:
		i, _ := c.pick(r.byte(), nil)
		off, x := r.byte(), r.byte()
		if i >= 0 && len(c.Packets[i].Data) > 0 {
			b := c.Packets[i].Data
			if x == 0 {
				x = 0xff
			}
			b[len(b)-1-int(off)%len(b)] ^= x // from the end: the headers stay, the payload changes
		}
	}
}

// sameFlow tells whether two TCP segments are the same direction of a flow.
func sameFlow(a []byte, la layers, b []byte, lb layers) bool {
	n := 8 // IPv4 addresses, at 12
	at := 12
	if la.v6 {
		n, at = 32, 8
	}
	return string(a[la.ip+at:la.ip+at+n]) == string(b[lb.ip+at:lb.ip+at+n]) &&
		string(a[la.l4:la.l4+4]) == string(b[lb.l4:lb.l4+4])
}

// fragment cuts packet i's datagram into two IP fragments at an 8-byte
// boundary. how: bit 0 sends them in reverse order, bit 1 duplicates the
// first, bit 2 makes the second overlap the first by 8 bytes of other
// content, bit 3 leaves MF set on the last.
func (c *Capture) fragment(i int, l layers, at, how byte) {
	p := c.Packets[i]
	b := p.Data
	data := b[l.l4:l.end] // transport header and payload
	k := 8 * (1 + int(at)%((len(data)-1)/8))
	frag := func(from, to int, more bool, content []byte) []byte {
		var out []byte
		be := binary.BigEndian
		if l.v6 {
			out = append(out, b[:l.ip+40]...)
			out[l.ip+6] = protoFrag
			fw := uint16(from/8) << 3
			if more {
				fw |= 1
			}
			out = append(out, l.proto, 0, byte(fw>>8), byte(fw))
			out = be.AppendUint32(out, 0x5a5a0000|uint32(be.Uint16(b[l.l4:]))) // id from the source port
		} else {
			out = append(out, b[:l.l4]...)
			fw := uint16(from / 8)
			if more {
				fw |= 0x2000
			}
			be.PutUint16(out[l.ip+6:], fw)
		}
		out = append(out, content[from:to]...)
		n := len(out) - l.ip
		if l.v6 {
			be.PutUint16(out[l.ip+4:], uint16(n-40))
		} else {
			be.PutUint16(out[l.ip+2:], uint16(n))
		}
		return out
	}
	last := how&8 != 0
	first := frag(0, k, true, data)
	var second []byte
	if how&4 != 0 && k >= 8 {
		other := append([]byte(nil), data...)
		for j := k - 8; j < k; j++ {
			other[j] ^= 0xa5
		}
		second = frag(k-8, len(data), last, other)
	} else {
		second = frag(k, len(data), last, data)
	}
	pieces := []Packet{{TS: p.TS, Data: first}, {TS: p.TS, Data: second}}
	if how&1 != 0 {
		pieces[0], pieces[1] = pieces[1], pieces[0]
	}
	if how&2 != 0 {
		pieces = append(pieces, Packet{TS: p.TS, Data: append([]byte(nil), first...)})
	}
	c.Packets = slices.Replace(c.Packets, i, i+1, pieces...)
}

// Starts lists the packets of c where a TCP connection opens (a SYN
// alone) or a fragmented datagram begins: windows worth starting at.
func (c *Capture) Starts() []int {
	var out []int
	for i, p := range c.Packets {
		l, ok := parse(c.LinkType, p.Data)
		if !ok {
			continue
		}
		if l.isTCP() && p.Data[l.l4+13] == SYN || l.frag && l.pay != l.l4 {
			out = append(out, i)
		}
	}
	return out
}

// Seeds are seed programs for a target over captures: windows of 16
// packets at up to per starts spread over each capture, each alone and
// with one mild edit of every kind (the fuzzer makes them wild).
func Seeds(captures []*Capture, per int) [][]byte {
	var out [][]byte
	for ci, c := range captures {
		starts := c.Starts()
		for k := 0; k < len(starts); k += max(len(starts)/per, 1) {
			head := []byte{byte(ci), byte(starts[k] >> 8), byte(starts[k]), 15}
			out = append(out, head)
			for op := byte(0); op < NumOps; op++ {
				out = append(out, append(append([]byte(nil), head...), op, 2, 2, 2))
			}
		}
	}
	return out
}
