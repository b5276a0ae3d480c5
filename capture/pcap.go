package capture

import (
	"bufio"
	"errors"
	"io"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/visor-dns/visor"
)

// posReader tells the pcap reader's position: the bytes it has taken from
// the buffered stream, so errors can name the record's offset.
type posReader struct {
	r   *bufio.Reader
	pos int64
}

func (p *posReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.pos += int64(n)
	return n, err
}

func newPcap(br *bufio.Reader, st *stream, index int) (*source, error) {
	pr := &posReader{r: br}
	r, err := pcapgo.NewReader(pr)
	if err != nil {
		return nil, &Error{Path: st.info.Path, Offset: 0, Err: err}
	}
	if r.Resolution().String() == "1ns" {
		st.info.Format = "pcap-ns" + st.info.Format
	} else {
		st.info.Format = "pcap" + st.info.Format
	}
	// The header's snaplen is advice; the fixed cap keeps memory bounded.
	r.SetSnaplen(MaxCapLen)
	link := uint16(r.LinkType())
	var s *source
	s = newSource(st, index, func(p *visor.Packet) error {
		start := pr.pos
		data, ci, err := r.ZeroCopyReadPacketData()
		if err != nil {
			if err == io.EOF && pr.pos == start {
				return io.EOF
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return &Error{Path: st.info.Path, Offset: start, Packet: s.info.Packets, Err: err, Partial: s.info.Packets > 0}
		}
		p.TS = ci.Timestamp.UnixNano()
		p.Data = data
		p.OrigLen = ci.Length
		p.LinkType = link
		return nil
	})
	return s, nil
}

func newPcapng(br *bufio.Reader, st *stream, index int) (*source, error) {
	r, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
	if err != nil {
		return nil, &Error{Path: st.info.Path, Offset: 0, Err: err}
	}
	st.info.Format = "pcapng" + st.info.Format
	var s *source
	s = newSource(st, index, func(p *visor.Packet) error {
		data, ci, err := r.ZeroCopyReadPacketData()
		if err != nil {
			if err == io.EOF {
				return io.EOF
			}
			// The ng reader buffers ahead; the packet number locates the failure.
			return &Error{Path: st.info.Path, Offset: -1, Packet: s.info.Packets, Err: err, Partial: s.info.Packets > 0}
		}
		if ci.CaptureLength > MaxCapLen {
			return &Error{Path: st.info.Path, Offset: -1, Packet: s.info.Packets, Err: errors.New("packet record longer than 256 KiB"), Partial: s.info.Packets > 0}
		}
		p.TS = ci.Timestamp.UnixNano()
		p.Data = data
		p.OrigLen = ci.Length
		if len(ci.AncillaryData) > 0 {
			if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				p.LinkType = uint16(lt)
			}
		}
		return nil
	})
	return s, nil
}

// LinkTypeName names a pcap link type as tcpdump does, or LINKTYPE_<n>.
func LinkTypeName(lt uint16) string {
	switch lt {
	case 0:
		return "NULL"
	case 1:
		return "EN10MB"
	case 12, 14, 101:
		return "RAW"
	case 108:
		return "LOOP"
	case 113:
		return "LINUX_SLL"
	case 228:
		return "IPV4"
	case 229:
		return "IPV6"
	case 276:
		return "LINUX_SLL2"
	}
	return "LINKTYPE_" + itoa(int(lt))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
