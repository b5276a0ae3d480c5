package capture

import (
	"errors"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/visor-dns/visor"
)

// Issue 16, defect 9: the socket was created 0666, so any local user could
// inject events. Its mode is 0660 by default, or the one asked, whatever
// the umask.
func TestDNSTapSocketMode(t *testing.T) {
	tests := []struct {
		name  string
		mode  os.FileMode
		umask int
		want  os.FileMode
	}{
		{"default", 0, 0o022, 0o660},
		{"default with umask 0", 0, 0, 0o660},
		{"default with umask 0077", 0, 0o077, 0o660},
		{"0600", 0o600, 0o022, 0o600},
		{"0666 asked for", 0o666, 0o077, 0o666},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := syscall.Umask(tc.umask)
			defer syscall.Umask(old)
			path := filepath.Join(t.TempDir(), "tap.sock")
			s, err := ListenDNSTap(path, tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != tc.want {
				t.Errorf("mode %v, want socket %v", st.Mode(), tc.want)
			}
		})
	}
	if _, err := ListenDNSTap(filepath.Join(t.TempDir(), "x.sock"), os.ModeSetuid|0o660); err == nil {
		t.Error("a mode beyond permission bits accepted")
	}
}

// The socket skips and counts a bad frame, as the file reader does, and
// reads the writer's frames after it; it tells only the first bad one.
func TestDNSTapSocketBadFrames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tap.sock")
	s, err := ListenDNSTap(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	var warned []error
	s.Warn = func(err error) { mu.Lock(); warned = append(warned, err); mu.Unlock() }
	late := cr
	late.rsec = 1 << 40
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stream := tapJoin(tapStart, cq.frame("", ""), garbageFrame, tapMsg{noMessage: true}.frame("", ""), late.frame("", ""),
		garbageFrame, cr.frame("", ""), tapStop)
	if _, err := c.Write(stream); err != nil {
		t.Fatal(err)
	}
	var times []int64
	var p visor.Packet
	for len(times) < 2 {
		if err := s.Next(&p); err != nil {
			t.Fatal(err)
		}
		times = append(times, p.TS)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.ReadAll(c) // the FINISH, then the server's close: every frame was read
	c.Close()
	s.Close()
	if err := s.Next(&p); err != io.EOF {
		t.Fatalf("after Close: %v, want io.EOF", err)
	}
	if want := []int64{1700000000e9 + 5, 1700000000e9 + 900}; !slices.Equal(times, want) {
		t.Errorf("times %v, want %v", times, want)
	}
	want := map[string]uint64{ReasonDNSTapBadFrame: 3, ReasonTimeRange: 1}
	if info := s.Info(); !maps.Equal(info.Skipped, want) || info.Packets != 2 {
		t.Errorf("%d messages, skipped %v, want 2 and %v", info.Packets, info.Skipped, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warned) != 2 || !errors.Is(warned[1], errTimeRange) {
		t.Errorf("warnings %v, want one per reason", warned)
	}
}
