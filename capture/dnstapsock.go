package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/visor-dns/visor"
)

// handshakeTimeout bounds how long a writer may take to open its stream.
const handshakeTimeout = 10 * time.Second

// errStopped ends a connection's read loop at its STOP frame.
var errStopped = errors.New("stopped")

// DNSTapSocket is a Frame Streams server on a unix socket: DNS servers
// (unbound's dnstap-socket-path, knotd's mod-dnstap "unix:" sink) connect
// and stream dnstap to it. It serves any number of writers at once, each
// bidirectional (READY, ACCEPT, START ... STOP, FINISH) or unidirectional
// (START ... STOP), and is a visor.Source of their messages in arrival
// order. Next blocks until a message arrives, and returns io.EOF once
// Close has been called and every message received has been returned.
type DNSTapSocket struct {
	path  string
	ln    net.Listener
	info  *visor.InputInfo
	tap   visor.TapMessage
	cur   *[]byte      // the frame Next returned last; recycled on the next call
	in    chan *[]byte // frames from the connections
	pool  sync.Pool
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  chan struct{}
	once  sync.Once
	// Warn, if set before the first connection, hears about connections
	// that failed (handshake, content type, corrupt frame).
	Warn func(error)
}

// DefaultSocketMode is the dnstap socket's default permissions: its owner
// and group may connect (a DNS server running as its own user needs to be
// in the group, or a wider mode). Anyone who may connect can inject events.
const DefaultSocketMode os.FileMode = 0o660

// umaskMu serialises the umask changes of ListenDNSTap (the umask is the
// process's).
var umaskMu sync.Mutex

// ListenDNSTap creates the unix socket at path (replacing a stale socket
// file) with permissions mode (DefaultSocketMode when 0), whatever the
// umask, and starts accepting writers.
func ListenDNSTap(path string, mode os.FileMode) (*DNSTapSocket, error) {
	if mode == 0 {
		mode = DefaultSocketMode
	}
	if mode&^os.ModePerm != 0 {
		return nil, fmt.Errorf("dnstap socket mode %#o: want permission bits only (0 to 0777)", uint32(mode))
	}
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSocket != 0 {
		os.Remove(path)
	}
	// The socket is born owner-only (whatever the umask allows, nobody else
	// can connect before the chmod), then given its mode.
	umaskMu.Lock()
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	umaskMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("dnstap socket: %w", err)
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("dnstap socket: %w", err)
	}
	s := &DNSTapSocket{path: path, ln: ln, in: make(chan *[]byte, 1024), conns: map[net.Conn]struct{}{},
		done: make(chan struct{}),
		info: &visor.InputInfo{Path: "unix:" + path, Format: "dnstap", LinkTypes: map[string]uint64{}}}
	s.pool.New = func() any { b := make([]byte, 0, 4096); return &b }
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *DNSTapSocket) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.mu.Lock()
		select {
		case <-s.done:
			s.mu.Unlock()
			c.Close()
			return
		default:
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

// serve reads one writer's stream until its STOP, an error, or Close.
func (s *DNSTapSocket) serve(c net.Conn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
		s.wg.Done()
	}()
	w := bufio.NewWriter(c)
	started := false
	c.SetReadDeadline(time.Now().Add(handshakeTimeout))
	fr := &frameReader{r: bufio.NewReaderSize(c, 64<<10)}
	fr.ctrl = func(typ uint32) error {
		switch typ {
		case fstrmReady:
			c.SetWriteDeadline(time.Now().Add(handshakeTimeout))
			w.Write(controlBytes(fstrmAccept, DNSTapContentType))
			return w.Flush()
		case fstrmStart:
			started = true
			c.SetReadDeadline(time.Time{}) // an idle writer is fine
		case fstrmStop:
			c.SetWriteDeadline(time.Now().Add(handshakeTimeout))
			w.Write(controlBytes(fstrmFinish, ""))
			w.Flush()
			return errStopped
		}
		return nil
	}
	for {
		frame, err := fr.next()
		if err != nil {
			if err != errStopped && err != io.EOF && s.Warn != nil && !s.closed() {
				s.Warn(fmt.Errorf("dnstap socket %s: connection ended at byte %d: %w", s.path, fr.off, err))
			}
			return
		}
		if !started {
			if s.Warn != nil {
				s.Warn(fmt.Errorf("dnstap socket %s: data frame before START", s.path))
			}
			return
		}
		b := s.pool.Get().(*[]byte)
		*b = append((*b)[:0], frame...)
		select {
		case s.in <- b:
		case <-s.done:
			return
		}
	}
}

func (s *DNSTapSocket) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// controlBytes is a control frame with an optional content type field.
func controlBytes(typ uint32, contentType string) []byte {
	n := 4
	if contentType != "" {
		n += 8 + len(contentType)
	}
	b := make([]byte, 0, 8+n)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	b = binary.BigEndian.AppendUint32(b, typ)
	if contentType != "" {
		b = binary.BigEndian.AppendUint32(b, fstrmFieldContentType)
		b = binary.BigEndian.AppendUint32(b, uint32(len(contentType)))
		b = append(b, contentType...)
	}
	return b
}

// Next returns the next message from any writer. The packet's Tap and
// Message are valid until the next call.
func (s *DNSTapSocket) Next(p *visor.Packet) error {
	for {
		if s.cur != nil {
			s.pool.Put(s.cur)
			s.cur = nil
		}
		var b *[]byte
		select {
		case b = <-s.in:
		case <-s.done:
			// drain what the connections handed over before Close
			select {
			case b = <-s.in:
			default:
				return io.EOF
			}
		}
		s.cur = b
		if err := decodeDNSTap(*b, &s.tap, s.info); err != nil {
			// Skipped and counted; only the first of each reason is told,
			// so a hostile writer cannot flood stderr.
			reason := tapReason(err)
			skipped(s.info, reason)
			if s.Warn != nil && s.info.Skipped[reason] == 1 {
				s.Warn(fmt.Errorf("dnstap socket %s: message skipped after %d (%s; further ones are counted, not told): %w", s.path, s.info.Packets, reason, err))
			}
			continue
		}
		*p = visor.Packet{TS: tapTime(&s.tap), Data: s.tap.Message, OrigLen: len(s.tap.Message), LinkType: visor.LinkDNSTap, Tap: &s.tap}
		s.info.Packets++
		p.Number = s.info.Packets
		s.info.Bytes += uint64(len(p.Data))
		if s.info.Packets == 1 {
			s.info.FirstTS = p.TS
		}
		s.info.LastTS = p.TS
		s.info.LinkTypes[LinkTypeName(visor.LinkDNSTap)]++
		return nil
	}
}

// Info describes the socket as an input.
func (s *DNSTapSocket) Info() *visor.InputInfo { return s.info }

// Close stops accepting writers and ends the open streams; Next then
// returns what was already received, then io.EOF.
func (s *DNSTapSocket) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		close(s.done)
		s.ln.Close()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
		os.Remove(s.path)
	})
	return nil
}
