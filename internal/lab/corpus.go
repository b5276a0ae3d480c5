package lab

import (
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/visor-dns/visor/internal/truth"
)

// CorpusTruth is what the findings corpus (docs/findings-scorecard.md)
// launched while capturing one scenario: what ran, from which addresses,
// when (the capture's clock), and which findings visor must report.
// It is written as truth.json beside the scenario's capture.pcap.
type CorpusTruth struct {
	Scenario    string `json:"scenario"`
	Description string `json:"description"`
	// Capture is the capture's file name, beside truth.json.
	Capture string `json:"capture"`
	// First and Last are the capture's first and last packet times, Packets
	// how many it holds.
	First   string `json:"first"`
	Last    string `json:"last"`
	Packets int    `json:"packets"`
	// Expect lists the findings visor must report, and no others: empty for
	// an ordinary mix or a legitimate load.
	Expect []Expected `json:"expect"`
	// Launched is every program or generator that made traffic, the
	// ordinary background included.
	Launched []Launch `json:"launched"`
	// Built says how the capture was assembled when it is not one
	// real-time capture (time-shifted pieces).
	Built string `json:"built,omitempty"`
}

// Expected is one finding visor must report (its kind and what it is
// about) and when the attack was launched.
type Expected struct {
	truth.Expect
	// Launch is when the attack's first packet was sent (RFC 3339, the
	// capture's clock: the lab's host stamps packets with the clock the
	// test reads).
	Launch string `json:"launch"`
}

// Launch is one program the scenario ran.
type Launch struct {
	Role    string   `json:"role"` // attack, tunnel, background, load
	Tool    string   `json:"tool"`
	Args    []string `json:"args,omitempty"`
	Sources []string `json:"sources,omitempty"`
	Servers []string `json:"servers,omitempty"`
	Start   string   `json:"start"`
	End     string   `json:"end"`
	// Sent is how many queries (or packets, or bytes for a transfer) it
	// says it sent, when it says.
	Sent uint64 `json:"sent,omitempty"`
	Note string `json:"note,omitempty"`
}

// TimeString formats t as the corpus does (RFC 3339 UTC, nanoseconds).
func TimeString(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// ReadCorpusTruth reads dir/truth.json.
func ReadCorpusTruth(dir string) (*CorpusTruth, error) {
	b, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		return nil, err
	}
	var c CorpusTruth
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "truth.json"), err)
	}
	return &c, nil
}

// WriteCorpus writes the truth and copies the capture into dir/capture.pcap
// and dir/truth.json (the temporary files first, then renames: a reader of
// dir never sees half a scenario).
func WriteCorpus(dir, capture string, c *CorpusTruth) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	c.Capture = "capture.pcap"
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".capture.pcap.tmp")
	if err := copyFile(capture, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "capture.pcap")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ".truth.json.tmp"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(filepath.Join(dir, ".truth.json.tmp"), filepath.Join(dir, "truth.json"))
}

// Span returns a pcap's first and last packet times and its packet count.
func Span(path string) (first, last time.Time, packets int, err error) {
	err = eachPacket(path, func(ci gopacket.CaptureInfo, _ []byte) error {
		if packets == 0 {
			first = ci.Timestamp
		}
		last = ci.Timestamp
		packets++
		return nil
	})
	return first, last, packets, err
}

func eachPacket(path string, fn func(gopacket.CaptureInfo, []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := fn(ci, data); err != nil {
			return err
		}
	}
}

func linkType(path string) (layers.LinkType, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return r.LinkType(), nil
}

// writeNanoPcap creates out, a nanosecond pcap of link type lt, and writes its
// packets with fill.
func writeNanoPcap(out string, lt layers.LinkType, fill func(*pcapgo.Writer) error) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := pcapgo.NewWriterNanos(f)
	if err = w.WriteFileHeader(262144, lt); err == nil {
		err = fill(w)
	}
	if err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Retime writes the packets of in to out (nanosecond pcap) with their
// times mapped by fn, in the order they come. Packets fn maps to the zero
// time are left out.
func Retime(in, out string, fn func(time.Time) time.Time) error {
	lt, err := linkType(in)
	if err != nil {
		return err
	}
	return writeNanoPcap(out, lt, func(w *pcapgo.Writer) error {
		return eachPacket(in, func(ci gopacket.CaptureInfo, data []byte) error {
			ci.Timestamp = fn(ci.Timestamp)
			if ci.Timestamp.IsZero() {
				return nil
			}
			return w.WritePacket(ci, data)
		})
	})
}

// Tile writes copies of in back to back into out: copy k is in shifted by
// k*period (editcap -t k*period, then mergecap -a), packets of a copy that
// would pass the next copy's start left out.
func Tile(in, out string, copies int, period time.Duration) error {
	first, _, _, err := Span(in)
	if err != nil {
		return err
	}
	lt, err := linkType(in)
	if err != nil {
		return err
	}
	return writeNanoPcap(out, lt, func(w *pcapgo.Writer) error {
		for k := 0; k < copies; k++ {
			shift := time.Duration(k) * period
			err := eachPacket(in, func(ci gopacket.CaptureInfo, data []byte) error {
				if ci.Timestamp.Sub(first) >= period {
					return nil
				}
				ci.Timestamp = ci.Timestamp.Add(shift)
				return w.WritePacket(ci, data)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// Merge writes the packets of ins into out in time order (mergecap's
// default), as a nanosecond pcap; every input must have the same link type.
func Merge(out string, ins ...string) error {
	var lt layers.LinkType
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	h := &pktHeap{}
	for i, in := range ins {
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		files = append(files, f)
		r, err := pcapgo.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		if i == 0 {
			lt = r.LinkType()
		} else if r.LinkType() != lt {
			return fmt.Errorf("%s: link type %s, not %s like %s", in, r.LinkType(), lt, ins[0])
		}
		src := &pktSrc{r: r, name: in}
		if ok, err := src.next(); err != nil {
			return err
		} else if ok {
			heap.Push(h, src)
		}
	}
	return writeNanoPcap(out, lt, func(w *pcapgo.Writer) error {
		for h.Len() > 0 {
			s := (*h)[0]
			if err := w.WritePacket(s.ci, s.data); err != nil {
				return err
			}
			ok, err := s.next()
			if err != nil {
				return err
			}
			if ok {
				heap.Fix(h, 0)
			} else {
				heap.Pop(h)
			}
		}
		return nil
	})
}

type pktSrc struct {
	r    *pcapgo.Reader
	name string
	ci   gopacket.CaptureInfo
	data []byte
}

func (s *pktSrc) next() (bool, error) {
	data, ci, err := s.r.ReadPacketData()
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", s.name, err)
	}
	s.ci, s.data = ci, data
	return true, nil
}

type pktHeap []*pktSrc

func (h pktHeap) Len() int           { return len(h) }
func (h pktHeap) Less(i, j int) bool { return h[i].ci.Timestamp.Before(h[j].ci.Timestamp) }
func (h pktHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *pktHeap) Push(x any)        { *h = append(*h, x.(*pktSrc)) }
func (h *pktHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Pkt is what FirstPacket tells a predicate about one packet.
type Pkt struct {
	Time     time.Time
	Src, Dst netip.Addr
	TCP      bool
	SYN, ACK bool
	// QName is the question's name (lower case, no final dot) of a DNS
	// message over UDP; Query says whether it is a query.
	QName string
	Query bool
}

// FirstPacket returns the time of the first packet of path at or after
// after that match accepts.
func FirstPacket(path string, after time.Time, match func(*Pkt) bool) (time.Time, error) {
	lt, err := linkType(path)
	if err != nil {
		return time.Time{}, err
	}
	var found time.Time
	stop := errors.New("found")
	err = eachPacket(path, func(ci gopacket.CaptureInfo, data []byte) error {
		if ci.Timestamp.Before(after) {
			return nil
		}
		p := gopacket.NewPacket(data, lt, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		k := Pkt{Time: ci.Timestamp}
		if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			k.Src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
			k.Dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
		} else if ip, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
			k.Src, _ = netip.AddrFromSlice(ip.SrcIP)
			k.Dst, _ = netip.AddrFromSlice(ip.DstIP)
		} else {
			return nil
		}
		if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			k.TCP, k.SYN, k.ACK = true, tcp.SYN, tcp.ACK
		}
		if d, ok := p.Layer(layers.LayerTypeDNS).(*layers.DNS); ok && len(d.Questions) > 0 {
			k.QName = strings.ToLower(strings.TrimSuffix(string(d.Questions[0].Name), "."))
			k.Query = !d.QR
		}
		if match(&k) {
			found = k.Time
			return stop
		}
		return nil
	})
	if err == stop {
		return found, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return time.Time{}, fmt.Errorf("%s: no matching packet after %s", path, TimeString(after))
}

// FromAny matches packets from one of addrs.
func FromAny(addrs ...string) func(*Pkt) bool {
	set := map[netip.Addr]bool{}
	for _, a := range addrs {
		set[netip.MustParseAddr(a)] = true
	}
	return func(p *Pkt) bool { return set[p.Src] }
}

// QueryUnder matches DNS queries for names under zone.
func QueryUnder(zone string) func(*Pkt) bool {
	return func(p *Pkt) bool { return p.Query && strings.HasSuffix(p.QName, "."+zone) }
}
