package engine

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/analyzers/findings"
	"github.com/visor-dns/visor/capture"
	"github.com/visor-dns/visor/decode"
	"github.com/visor-dns/visor/internal/outfile"
	"github.com/visor-dns/visor/report"
)

// carveSel is one finding's packet selection and the file it goes to.
type carveSel struct {
	*findings.Selector
	w       *pcapgo.Writer
	f       *outfile.File
	path    string
	link    uint16
	packets uint64
	skipped uint64 // packets of another link type than the file's
}

// Carve reads cfg's inputs again and writes each finding's packets to its
// own pcap in cfg.CarveDir; each finding's evidence gets the file's name and
// packet count. Files are written atomically: a failed carve leaves none.
func Carve(ctx context.Context, cfg *Config, rep *report.Report, stderr io.Writer) error {
	if len(rep.Findings) == 0 {
		return nil
	}
	if err := os.MkdirAll(cfg.CarveDir, 0o755); err != nil {
		return fmt.Errorf("cannot carve: %w", err)
	}
	sels := make([]*carveSel, len(rep.Findings))
	for i, f := range rep.Findings {
		sel, err := findings.SelectorOf(f)
		if err != nil {
			return fmt.Errorf("cannot carve: %w", err)
		}
		s := &carveSel{Selector: sel}
		s.path = filepath.Join(cfg.CarveDir, fmt.Sprintf("%02d-%s-%s.pcap", i+1, f.Kind, fileSafe(sel.Key, carveKeyMax)))
		sels[i] = s
	}
	defer func() {
		for _, s := range sels {
			if s.f != nil {
				s.f.Abort() // a carve that failed leaves no partial file
			}
		}
	}()
	paths, _, err := capture.ExpandReport(cfg.Inputs) // skipped entries: said by Analyze
	if err != nil {
		return err
	}
	var srcs []visor.Source
	defer func() {
		for _, s := range srcs {
			s.Close()
		}
	}()
	for i, p := range paths {
		s, err := capture.Open(p, i, nil)
		if err != nil {
			return err
		}
		srcs = append(srcs, s)
	}
	m, err := capture.NewMerge(srcs)
	if err != nil {
		return err
	}
	ports := map[uint16]bool{}
	for _, p := range cfg.DNSPorts {
		ports[p] = true
	}
	anon := newCarveAnon(cfg, ports) // nil without --anonymize
	var (
		p   visor.Packet
		fr  visor.Frame
		msg decode.DNS
	)
	for n := 0; ; n++ {
		if n&0xfff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		err := m.Next(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if p.Tap != nil {
			continue // dnstap messages have no packet to write
		}
		if decode.Packet(&p, &fr) != decode.OK {
			continue
		}
		if cfg.filter != nil && !cfg.filter.Match(&fr) {
			continue
		}
		if anon != nil && !anon.packet(&p, &fr) {
			continue // not rewritable: left out (anon.dropped)
		}
		isDNS := dnsView(&fr, ports, &msg)
		for _, s := range sels {
			if p.TS < s.From || p.TS > s.To || !s.Match(&fr, isDNS, &msg) {
				continue
			}
			if err := s.write(&p); err != nil {
				return fmt.Errorf("cannot carve %s: %w", s.path, err)
			}
		}
	}
	if anon != nil && anon.dropped > 0 {
		fmt.Fprintf(stderr, "visor: carving: %d packets left out: their addresses could not all be anonymized\n", anon.dropped)
	}
	for i, s := range sels {
		if s.f == nil {
			// Nothing matched (e.g. dnstap input): still leave a valid, empty file.
			if err := s.open(1); err != nil {
				return fmt.Errorf("cannot carve %s: %w", s.path, err)
			}
		}
		if err := s.f.Commit(); err != nil {
			return fmt.Errorf("cannot carve %s: %w", s.path, err)
		}
		s.f = nil
		if s.skipped > 0 {
			fmt.Fprintf(stderr, "visor: carving %s: %d packets of another link type left out\n", s.path, s.skipped)
		}
		rep.Findings[i].Evidence["carved"] = map[string]any{"file": filepath.Base(s.path), "packets": s.packets}
	}
	return nil
}

// dnsView parses the DNS message a frame carries, if it is on a DNS port:
// a UDP payload, or a TCP segment that starts with a length-prefixed
// message (segments in the middle of a stream are not parsed).
func dnsView(f *visor.Frame, ports map[uint16]bool, m *decode.DNS) bool {
	if f.Fragment && f.FragOffset > 0 || !(ports[f.SrcPort] || ports[f.DstPort]) {
		return false
	}
	b := f.Payload
	switch f.Proto {
	case visor.TransportUDP:
	case visor.TransportTCP:
		if len(b) < 2+decode.HeaderLen {
			return false
		}
		b = b[2:]
	default:
		return false
	}
	return decode.ParseDNS(b, m) && m.HasQuestion
}

func (s *carveSel) open(link uint16) error {
	f, err := outfile.Create(s.path)
	if err != nil {
		return err
	}
	s.f, s.link = f, link
	s.w = pcapgo.NewWriterNanos(f)
	return s.w.WriteFileHeader(262144, layers.LinkType(link))
}

func (s *carveSel) write(p *visor.Packet) error {
	if s.f == nil {
		if err := s.open(p.LinkType); err != nil {
			return err
		}
	}
	if p.LinkType != s.link {
		s.skipped++
		return nil
	}
	s.packets++
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, p.TS), CaptureLength: len(p.Data), Length: max(p.OrigLen, len(p.Data))}
	return s.w.WritePacket(ci, p.Data)
}

// carveKeyMax bounds the key in a carved file's name (names come from the
// traffic: a zone may be 253 bytes of anything; a name is at most 255).
const carveKeyMax = 64

// fileSafe maps s to a file name part of at most max bytes: letters, digits,
// '.', '-' and '_'. A key that had to be changed or cut ends in a short hash
// of the original, so distinct keys keep distinct names.
func fileSafe(s string, max int) string {
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
	if safe == s && len(s) <= max {
		return s
	}
	h := fnv.New32a()
	h.Write([]byte(s))
	sum := fmt.Sprintf("-%08x", h.Sum32())
	if len(safe) > max-len(sum) {
		safe = safe[:max-len(sum)]
	}
	return safe + sum
}
