//go:build linux

package capture

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/visor-dns/visor"
)

// ErrIdle is what Live.Next returns when no packet came within the poll
// interval: the caller can look at its clock and call Next again.
var ErrIdle = errors.New("capture: no packet within the poll interval")

// LiveOptions configure a live capture.
type LiveOptions struct {
	Interface string // "any" (or "") captures every interface, without link headers
	Snaplen   int    // bytes kept of each packet; <= 0 or >= MaxCapLen keeps all
	Promisc   bool
	// Poll is how long Next waits for a packet before it returns ErrIdle
	// (default 100 ms).
	Poll time.Duration
	// Write, if set, receives every captured packet as pcapng (the bytes
	// visor analysed, with their capture times); Close flushes it.
	Write io.Writer
}

// Live captures from a network interface with an AF_PACKET ring (TPACKET_V3),
// in pure Go. It is a visor.Source whose Next returns ErrIdle when the
// interface is quiet, so the caller keeps its own clock moving.
type Live struct {
	tp      *afpacket.TPacket
	link    uint16
	snaplen int
	info    visor.InputInfo
	nlink   uint64
	ng      *pcapgo.NgWriter
	closed  bool
}

// OpenLive opens the interface. Ethernet and loopback interfaces give
// Ethernet frames (link type 1); "any" and interfaces without an Ethernet
// header (tun, tunnels) give IP packets (link type 101) and only IPv4/IPv6
// reaches visor (a kernel filter drops the rest).
func OpenLive(o LiveOptions) (*Live, error) {
	name := o.Interface
	if name == "any" {
		name = ""
	}
	if o.Snaplen <= 0 || o.Snaplen > MaxCapLen {
		o.Snaplen = MaxCapLen
	}
	if o.Poll <= 0 {
		o.Poll = 100 * time.Millisecond
	}
	link, sock := uint16(1), afpacket.SocketRaw
	hw := arphrdEther
	if name != "" {
		hw = hardwareType(name)
	}
	if name == "" || (hw != arphrdEther && hw != arphrdLoopback) {
		link, sock = 101, afpacket.SocketDgram
	}
	path := o.Interface
	if path == "" {
		path = "any"
	}
	tp, err := afpacket.NewTPacket(afpacket.OptInterface(name), sock,
		afpacket.OptPollTimeout(o.Poll), afpacket.OptBlockTimeout(10*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("live capture on %s: %w", path, err)
	}
	l := &Live{tp: tp, link: link, snaplen: o.Snaplen,
		info: visor.InputInfo{Path: path, Format: "afpacket", LinkTypes: map[string]uint64{}}}
	if err := tp.SetBPF(kernelFilter(link, hw == arphrdLoopback, o.Snaplen)); err != nil {
		tp.Close()
		return nil, fmt.Errorf("live capture on %s: kernel filter: %w", path, err)
	}
	if o.Promisc && name != "" {
		if err := tp.SetPromiscuous(true); err != nil {
			tp.Close()
			return nil, fmt.Errorf("live capture on %s: promiscuous mode: %w", path, err)
		}
	}
	if o.Write != nil {
		intf := pcapgo.DefaultNgInterface
		intf.Name, intf.LinkType, intf.SnapLength = path, layers.LinkType(link), uint32(o.Snaplen)
		if l.ng, err = pcapgo.NewNgWriterInterface(o.Write, intf, pcapgo.DefaultNgWriterOptions); err != nil {
			tp.Close()
			return nil, fmt.Errorf("cannot write packets: %w", err)
		}
	}
	return l, nil
}

// ARPHRD_* hardware types of the interfaces whose frames start with an
// Ethernet header (loopback's is all zeros).
const (
	arphrdEther    = 1
	arphrdLoopback = 772
)

// hardwareType is the interface's ARPHRD_* type (Ethernet when unknown: the
// bind then reports a missing interface).
func hardwareType(name string) int {
	b, err := os.ReadFile("/sys/class/net/" + name + "/type")
	if err != nil {
		return arphrdEther
	}
	t, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return arphrdEther
	}
	return t
}

// kernelFilter keeps snaplen bytes of each packet in the kernel; without a
// link header it also keeps only IPv4 and IPv6. On loopback every packet
// passes twice, outgoing then incoming: the outgoing copy is dropped, as
// libpcap does.
func kernelFilter(link uint16, loopback bool, snaplen int) []bpf.RawInstruction {
	keep := bpf.RetConstant{Val: uint32(snaplen)}
	var prog []bpf.Instruction
	if loopback {
		prog = []bpf.Instruction{
			bpf.LoadExtension{Num: bpf.ExtType},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.PACKET_OUTGOING, SkipFalse: 1},
			bpf.RetConstant{Val: 0},
			keep,
		}
	} else if link == 101 {
		prog = []bpf.Instruction{
			bpf.LoadExtension{Num: bpf.ExtProto},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0x0800, SkipTrue: 1},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0x86dd, SkipFalse: 1},
			keep,
			bpf.RetConstant{Val: 0},
		}
	} else {
		prog = []bpf.Instruction{keep}
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		panic(err) // a constant program
	}
	return raw
}

// LinkType is the pcap link type of the packets Next yields.
func (l *Live) LinkType() uint16 { return l.link }

// Next fills p with the next packet, or returns ErrIdle after the poll
// interval without one. p.Data is valid until the next call.
func (l *Live) Next(p *visor.Packet) error {
	if l.closed {
		return io.EOF
	}
	data, ci, err := l.tp.ZeroCopyReadPacketData()
	if err != nil {
		if errors.Is(err, afpacket.ErrTimeout) {
			return ErrIdle
		}
		return fmt.Errorf("live capture on %s (after packet %d): %w", l.info.Path, l.info.Packets, err)
	}
	if len(data) > l.snaplen {
		data = data[:l.snaplen]
	}
	ts := ci.Timestamp.UnixNano()
	l.info.Packets++
	l.info.Bytes += uint64(len(data))
	if l.info.Packets == 1 {
		l.info.FirstTS = ts
	}
	l.info.LastTS = ts
	l.nlink++
	*p = visor.Packet{TS: ts, Data: data, OrigLen: ci.Length, LinkType: l.link, Number: l.info.Packets}
	if l.ng != nil {
		wci := gopacket.CaptureInfo{Timestamp: ci.Timestamp, CaptureLength: len(data), Length: ci.Length}
		if err := l.ng.WritePacket(wci, data); err != nil {
			return fmt.Errorf("cannot write packets: %w", err)
		}
	}
	return nil
}

// Dropped is the number of packets the kernel dropped because the ring was
// full since the capture started.
func (l *Live) Dropped() uint64 {
	s2, s3, err := l.tp.SocketStats()
	if err != nil {
		return 0
	}
	return uint64(s2.Drops()) + uint64(s3.Drops())
}

// Info describes the capture; its counters grow as Next reads.
func (l *Live) Info() *visor.InputInfo {
	if l.nlink > 0 {
		l.info.LinkTypes[LinkTypeName(l.link)] = l.nlink
	}
	return &l.info
}

// Close stops the capture and flushes the --write file (the caller closes
// the file itself).
func (l *Live) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	var err error
	if l.ng != nil {
		err = l.ng.Flush()
	}
	l.tp.Close()
	return err
}
