package summary

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/analyzers"
	"github.com/visor-dns/visor/analyzers/dns"
	"github.com/visor-dns/visor/analyzers/findings"
	"github.com/visor-dns/visor/analyzers/net"
	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/sketch"
)

// The messages of visor_summary.proto past the sketches and the analyzer
// states, written and read with protowire.

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendInt(b []byte, num protowire.Number, v int64) []byte {
	return sketch.AppendUint(b, num, uint64(v))
}

func appendDouble(b []byte, num protowire.Number, v float64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(v))
}

func appendMsg(b []byte, num protowire.Number, fn func([]byte) []byte) []byte {
	return sketch.AppendMessage(b, num, fn)
}

// Bounds of the repeated fields of a Header or Trailer.
const (
	maxList   = 1 << 20 // inputs, findings, integrity keys, warnings, labels, params lists
	maxString = 1 << 16 // one string
)

type counter struct{ n int }

func (c *counter) next(what string) error {
	c.n++
	if c.n > maxList {
		return corrupt("more than %d %s", maxList, what)
	}
	return nil
}

func str(val []byte, what string) (string, error) {
	if len(val) > maxString {
		return "", corrupt("%s of %d bytes", what, len(val))
	}
	return string(val), nil
}

func (h *Header) append(b []byte) []byte {
	b = sketch.AppendUint(b, 1, uint64(h.FormatVersion))
	b = appendString(b, 2, h.Visor)
	b = appendMsg(b, 3, h.Params.append)
	for _, l := range h.Labels {
		b = appendMsg(b, 4, func(b []byte) []byte {
			b = appendString(b, 1, l.Key)
			return appendString(b, 2, l.Value)
		})
	}
	if h.FindingsStates {
		b = sketch.AppendUint(b, 5, 1)
	}
	return b
}

func (h *Header) parse(b []byte) error {
	var n counter
	return sketch.Fields(b, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) (err error) {
		switch {
		case num == 1 && typ == protowire.VarintType:
			h.FormatVersion = uint32(min(v, math.MaxUint32))
		case num == 2 && typ == protowire.BytesType:
			h.Visor, err = str(val, "visor version")
		case num == 3 && typ == protowire.BytesType:
			err = h.Params.parse(val)
		case num == 4 && typ == protowire.BytesType:
			if err = n.next("labels"); err != nil {
				return err
			}
			var l Label
			err = sketch.Fields(val, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) (err error) {
				switch {
				case num == 1 && typ == protowire.BytesType:
					l.Key, err = str(val, "label")
				case num == 2 && typ == protowire.BytesType:
					l.Value, err = str(val, "label")
				}
				return err
			})
			h.Labels = append(h.Labels, l)
		case num == 5 && typ == protowire.VarintType:
			h.FindingsStates = v != 0
		}
		return err
	})
}

func (p *Params) append(b []byte) []byte {
	b = appendInt(b, 1, p.BucketNS)
	b = sketch.AppendUint(b, 2, uint64(p.Top))
	b = sketch.AppendUint(b, 3, uint64(p.TopKCapacity))
	b = sketch.AppendUint(b, 4, uint64(p.HLLPrecision))
	b = appendDouble(b, 5, p.QuantilesAccuracy)
	b = sketch.AppendUint(b, 6, uint64(p.QuantilesMaxBins))
	b = appendInt(b, 7, p.XactTimeoutNS)
	b = appendInt(b, 8, p.SlowNS)
	ports := make([]uint64, len(p.DNSPorts))
	for i, x := range p.DNSPorts {
		ports[i] = uint64(x)
	}
	b = sketch.AppendPackedUints(b, 9, ports)
	for _, s := range p.HostSpec {
		b = appendString(b, 10, s)
	}
	for _, s := range p.QNameSuffixes {
		b = appendString(b, 11, s)
	}
	b = appendString(b, 12, p.QNameRegex)
	b = appendString(b, 13, p.QNameExclude)
	return appendString(b, 14, p.BPF)
}

func (p *Params) parse(b []byte) error {
	var n counter
	return sketch.Fields(b, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) (err error) {
		u32 := uint32(min(v, math.MaxUint32))
		switch {
		case typ == protowire.VarintType:
			switch num {
			case 1:
				p.BucketNS = int64(v)
			case 2:
				p.Top = u32
			case 3:
				p.TopKCapacity = u32
			case 4:
				p.HLLPrecision = u32
			case 6:
				p.QuantilesMaxBins = u32
			case 7:
				p.XactTimeoutNS = int64(v)
			case 8:
				p.SlowNS = int64(v)
			}
		case typ == protowire.Fixed64Type && num == 5:
			p.QuantilesAccuracy = math.Float64frombits(v)
		case typ != protowire.BytesType:
		case num == 9:
			var ports []uint64
			if ports, err = sketch.PackedUints(nil, val, 1<<16); err == nil {
				for _, x := range ports {
					p.DNSPorts = append(p.DNSPorts, uint32(min(x, math.MaxUint32)))
				}
			}
		case num == 10 || num == 11:
			if err = n.next("params"); err != nil {
				return err
			}
			var s string
			if s, err = str(val, "param"); err == nil {
				if num == 10 {
					p.HostSpec = append(p.HostSpec, s)
				} else {
					p.QNameSuffixes = append(p.QNameSuffixes, s)
				}
			}
		case num == 12:
			p.QNameRegex, err = str(val, "param")
		case num == 13:
			p.QNameExclude, err = str(val, "param")
		case num == 14:
			p.BPF, err = str(val, "param")
		}
		return err
	})
}

// appendBucket writes a Bucket message.
func appendBucket(b []byte, bk *Bucket) ([]byte, error) {
	b, err := appendBucketHead(b, bk)
	if err != nil {
		return b, err
	}
	return appendBucketFind(b, bk.Find, nil)
}

// appendBucketFind ends a Bucket message with its findings state, pruned
// as p says (nil: whole).
func appendBucketFind(b []byte, f *findings.State, p *findings.Prune) ([]byte, error) {
	var err error
	if f != nil {
		b = appendMsg(b, 7, func(b []byte) []byte {
			b, err = f.AppendPruned(b, p)
			return b
		})
	}
	return b, err
}

// appendBucketHead writes a Bucket message but its findings state.
func appendBucketHead(b []byte, bk *Bucket) ([]byte, error) {
	b = appendInt(b, 1, bk.Start)
	b = appendInt(b, 2, bk.End)
	var err error
	b = appendMsg(b, 3, func(b []byte) []byte {
		b, err = bk.Net.AppendBinary(b)
		return b
	})
	if err != nil {
		return b, err
	}
	var err2 error
	b = appendMsg(b, 4, func(b []byte) []byte {
		b, err2 = bk.DNS.AppendBinary(b)
		return b
	})
	for i, p := range []*analyzers.PerSecond{bk.PPS, bk.QPS} {
		if p != nil && err2 == nil {
			b = appendMsg(b, protowire.Number(5+i), func(b []byte) []byte {
				b, err2 = p.AppendBinary(b)
				return b
			})
		}
	}
	return b, err2
}

func parseBucket(b []byte) (*Bucket, error) {
	return parseBucketInto(b, getDNS, getNet)
}

// parseBucketInto is parseBucket with the DNS and net states to read into
// from dnsState and netState.
func parseBucketInto(b []byte, dnsState func() *dns.State, netState func() *net.State) (*Bucket, error) {
	// The states are made by UnmarshalBinary (which makes its own), or
	// empty when the message has none.
	bk := &Bucket{}
	err := sketch.Fields(b, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			bk.Start = int64(v)
		case num == 2 && typ == protowire.VarintType:
			bk.End = int64(v)
		case num == 3 && typ == protowire.BytesType:
			bk.Net = netState()
			return bk.Net.UnmarshalBinary(val)
		case num == 4 && typ == protowire.BytesType:
			bk.DNS = dnsState()
			return bk.DNS.UnmarshalBinary(val)
		case (num == 5 || num == 6) && typ == protowire.BytesType:
			p := &analyzers.PerSecond{}
			if num == 5 {
				bk.PPS = p
			} else {
				bk.QPS = p
			}
			return p.UnmarshalBinary(val)
		case num == 7 && typ == protowire.BytesType:
			if bk.Find == nil {
				bk.Find = getFind()
			}
			return bk.Find.UnmarshalBinary(val)
		}
		return nil
	})
	if err != nil {
		putFind(bk.Find)
		return nil, err
	}
	if bk.Net == nil {
		bk.Net = net.NewState()
	}
	if bk.DNS == nil {
		bk.DNS = dns.NewState()
	}
	if bk.End <= bk.Start {
		putFind(bk.Find)
		return nil, corrupt("bucket [%d, %d) is empty", bk.Start, bk.End)
	}
	if bk.Find != nil {
		if err := bk.Find.ValidateSpan(bk.Start, bk.End); err != nil {
			putFind(bk.Find)
			return nil, err
		}
	}
	return bk, nil
}

// lazyBucket is a bucket not decoded yet: its start (for ordering) and
// its message, which stays the reader's (valid until the reader reads the
// next record: decode it before asking for the next bucket); where names
// it in errors.
func lazyBucket(msg []byte, where string) (*Bucket, error) {
	bk := &Bucket{raw: msg, where: where}
	err := sketch.Fields(msg, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
		if num == 1 && typ == protowire.VarintType {
			bk.Start = int64(v)
		}
		return nil
	})
	return bk, err
}

// decode decodes a lazy bucket in place (nothing for another).
func (bk *Bucket) decode() error {
	if bk.raw == nil {
		return nil
	}
	d, err := parseBucket(bk.raw)
	if err != nil {
		return fmt.Errorf("%s: %w", bk.where, err)
	}
	if d.Start != bk.Start {
		return fmt.Errorf("%s: %w: two start times", bk.where, ErrCorrupt)
	}
	*bk = *d
	return nil
}

// findPool recycles the findings states of the buckets a merge or a
// report is done with: a state's windows, tables and sketches are reused
// by the next bucket read, instead of being made and collected again for
// every bucket of every part.
var findPool = sync.Pool{New: func() any { return findings.NewState() }}

func getFind() *findings.State { return findPool.Get().(*findings.State) }

// dnsPool recycles the DNS states of the parts a merge merged into
// another: the next bucket's part is read into one, its top lists' tables
// and names' memory reused.
var dnsPool = sync.Pool{New: func() any { return new(dns.State) }}

func getDNS() *dns.State { return dnsPool.Get().(*dns.State) }

// putDNS gives s back for reuse; nothing may use it after.
func putDNS(s *dns.State) {
	if s != nil {
		dnsPool.Put(s)
	}
}

// netPool is dnsPool for the net states.
var netPool = sync.Pool{New: func() any { return new(net.State) }}

func getNet() *net.State { return netPool.Get().(*net.State) }

func putNet(s *net.State) {
	if s != nil {
		netPool.Put(s)
	}
}

// putFind gives f back for reuse; nothing may use it after.
func putFind(f *findings.State) {
	if f != nil {
		f.Reset()
		findPool.Put(f)
	}
}

func appendCounts(b []byte, num protowire.Number, m map[string]uint64) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = appendMsg(b, num, func(b []byte) []byte {
			b = appendString(b, 1, k)
			return sketch.AppendUint(b, 2, m[k])
		})
	}
	return b
}

func parseCount(val []byte, m map[string]uint64) error {
	var k string
	var n uint64
	err := sketch.Fields(val, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) (err error) {
		switch {
		case num == 1 && typ == protowire.BytesType:
			k, err = str(val, "key")
		case num == 2 && typ == protowire.VarintType:
			n = v
		}
		return err
	})
	m[k] += n
	return err
}

func appendEdge(b []byte, e *dns.Edge) []byte {
	var buf [16]byte
	b = sketch.AppendBytes(b, 1, visor.AddrKey(e.Client, &buf))
	b = sketch.AppendBytes(b, 2, visor.AddrKey(e.Server, &buf))
	b = sketch.AppendUint(b, 3, uint64(e.ClientPort))
	b = sketch.AppendUint(b, 4, uint64(e.ServerPort))
	b = sketch.AppendUint(b, 5, uint64(e.ID))
	b = sketch.AppendUint(b, 6, uint64(e.QType))
	b = protowire.AppendTag(b, 7, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, e.QHash)
	b = appendInt(b, 8, e.TS)
	return sketch.AppendUint(b, 9, uint64(e.Dir))
}

func parseAddr(val []byte) (netip.Addr, error) {
	switch len(val) {
	case 0:
		return netip.Addr{}, nil
	case 4:
		return netip.AddrFrom4([4]byte(val)), nil
	case 16:
		return netip.AddrFrom16([16]byte(val)), nil
	}
	return netip.Addr{}, corrupt("address of %d bytes", len(val))
}

func parseEdge(val []byte, e *dns.Edge) error {
	return sketch.Fields(val, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) (err error) {
		u16 := uint16(min(v, math.MaxUint16))
		switch {
		case num == 1 && typ == protowire.BytesType:
			e.Client, err = parseAddr(val)
		case num == 2 && typ == protowire.BytesType:
			e.Server, err = parseAddr(val)
		case typ == protowire.Fixed64Type && num == 7:
			e.QHash = v
		case typ != protowire.VarintType:
		case num == 3:
			e.ClientPort = u16
		case num == 4:
			e.ServerPort = u16
		case num == 5:
			e.ID = u16
		case num == 6:
			e.QType = u16
		case num == 8:
			e.TS = int64(v)
		case num == 9:
			if v > uint64(visor.DirOut) {
				return corrupt("direction %d", v)
			}
			e.Dir = visor.Direction(v)
		}
		return err
	})
}

func (t *Trailer) append(b []byte) []byte {
	for i := range t.Inputs {
		in := &t.Inputs[i]
		b = appendMsg(b, 1, func(b []byte) []byte {
			b = appendString(b, 1, in.Path)
			b = appendString(b, 2, in.Format)
			b = appendString(b, 3, in.SHA256)
			b = sketch.AppendUint(b, 4, in.Packets)
			b = sketch.AppendUint(b, 5, in.Bytes)
			b = appendInt(b, 6, int64(in.FirstTS))
			b = appendInt(b, 7, int64(in.LastTS))
			b = appendCounts(b, 8, in.LinkTypes)
			b = appendString(b, 9, in.Identity)
			return appendString(b, 10, in.Version)
		})
	}
	b = appendCounts(b, 2, t.Integrity)
	for i := range t.Findings {
		f := &t.Findings[i]
		b = appendMsg(b, 3, func(b []byte) []byte {
			b = appendString(b, 1, f.Kind)
			b = appendString(b, 2, f.Severity)
			b = appendString(b, 3, f.Summary)
			b = appendInt(b, 4, int64(f.Start))
			b = appendInt(b, 5, int64(f.Peak))
			b = appendInt(b, 6, int64(f.End))
			ev, _ := json.Marshal(f.Evidence)
			b = sketch.AppendBytes(b, 7, ev)
			// The verdict's other fields (confidence, why, next, explains).
			more, _ := json.Marshal(findingMore{f.Confidence, f.Why, f.Next, f.Explains})
			return sketch.AppendBytes(b, 8, more)
		})
	}
	for i := range t.Open {
		b = appendMsg(b, 4, func(b []byte) []byte { return appendEdge(b, &t.Open[i]) })
	}
	for i := range t.Orphans {
		e := &t.Orphans[i]
		b = appendMsg(b, 5, func(b []byte) []byte {
			b = appendMsg(b, 1, func(b []byte) []byte { return appendEdge(b, e) })
			if e.HasQuestion {
				b = protowire.AppendTag(b, 2, protowire.BytesType)
				b = protowire.AppendString(b, e.QName)
			}
			return b
		})
	}
	for _, w := range t.Warnings {
		b = appendString(b, 6, w)
	}
	return sketch.AppendUint(b, 7, t.Buckets)
}

// findingMore is a finding's verdict beyond kind, severity, summary, times
// and evidence, kept as JSON in field 8.
type findingMore struct {
	Confidence float64            `json:"confidence"`
	Why        string             `json:"why,omitempty"`
	Next       []string           `json:"next,omitempty"`
	Explains   []report.Explained `json:"explains,omitempty"`
}

func (t *Trailer) parse(b []byte) error {
	var n counter
	t.Integrity = map[string]uint64{}
	return sketch.Fields(b, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) (err error) {
		if num == 7 && typ == protowire.VarintType {
			t.Buckets = v
			return nil
		}
		if typ != protowire.BytesType {
			return nil
		}
		if err := n.next("trailer entries"); err != nil {
			return err
		}
		switch num {
		case 1:
			in := report.Input{LinkTypes: map[string]uint64{}}
			err = sketch.Fields(val, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) (err error) {
				switch {
				case typ == protowire.VarintType:
					switch num {
					case 4:
						in.Packets = v
					case 5:
						in.Bytes = v
					case 6:
						in.FirstTS = report.Timestamp(int64(v))
					case 7:
						in.LastTS = report.Timestamp(int64(v))
					}
				case typ != protowire.BytesType:
				case num == 8:
					err = parseCount(val, in.LinkTypes)
				default:
					var s string
					if s, err = str(val, "input field"); err != nil {
						return err
					}
					switch num {
					case 1:
						in.Path = s
					case 2:
						in.Format = s
					case 3:
						in.SHA256 = s
					case 9:
						in.Identity = s
					case 10:
						in.Version = s
					}
				}
				return err
			})
			t.Inputs = append(t.Inputs, in)
		case 2:
			err = parseCount(val, t.Integrity)
		case 3:
			var f report.Finding
			err = sketch.Fields(val, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) (err error) {
				switch {
				case typ == protowire.VarintType:
					switch num {
					case 4:
						f.Start = report.Timestamp(int64(v))
					case 5:
						f.Peak = report.Timestamp(int64(v))
					case 6:
						f.End = report.Timestamp(int64(v))
					}
				case typ != protowire.BytesType:
				case num == 7:
					if len(val) > maxString*16 {
						return corrupt("finding evidence of %d bytes", len(val))
					}
					if err := json.Unmarshal(val, &f.Evidence); err != nil {
						return corrupt("finding evidence: %v", err)
					}
				case num == 8:
					if len(val) > maxString*16 {
						return corrupt("finding verdict of %d bytes", len(val))
					}
					var m findingMore
					if err := json.Unmarshal(val, &m); err != nil {
						return corrupt("finding verdict: %v", err)
					}
					f.Confidence, f.Why, f.Next, f.Explains = m.Confidence, m.Why, m.Next, m.Explains
				default:
					var s string
					if s, err = str(val, "finding field"); err != nil {
						return err
					}
					switch num {
					case 1:
						f.Kind = s
					case 2:
						f.Severity = s
					case 3:
						f.Summary = s
					}
				}
				return err
			})
			t.Findings = append(t.Findings, f)
		case 4:
			var e dns.Edge
			err = parseEdge(val, &e)
			t.Open = append(t.Open, e)
		case 5:
			var e dns.Edge
			err = sketch.Fields(val, func(num protowire.Number, typ protowire.Type, v uint64, val []byte) (err error) {
				switch {
				case num == 1 && typ == protowire.BytesType:
					ts := e.QName
					err = parseEdge(val, &e)
					e.QName = ts
				case num == 2 && typ == protowire.BytesType:
					e.QName, err = str(val, "name")
					e.HasQuestion = true
				}
				return err
			})
			t.Orphans = append(t.Orphans, e)
		case 6:
			var s string
			s, err = str(val, "warning")
			t.Warnings = append(t.Warnings, s)
		}
		return err
	})
}
