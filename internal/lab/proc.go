package lab

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a program the test started; t.Cleanup kills it if it still runs.
type Proc struct {
	Name   string
	Cmd    *exec.Cmd
	stdout Buffer
	stderr Buffer
	done   chan struct{}
	err    error
}

// Start starts name with args in namespace ns.
func (n *Net) Start(ns, name string, args ...string) *Proc {
	n.t.Helper()
	return start(n.t, n.Command(ns, name, args...), name)
}

func start(t testing.TB, cmd *exec.Cmd, name string) *Proc {
	t.Helper()
	p := &Proc{Name: name, Cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.stdout, &p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if !p.Exited() {
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// Stdout and Stderr are what the program wrote so far.
func (p *Proc) Stdout() string { return p.stdout.String() }
func (p *Proc) Stderr() string { return p.stderr.String() }

// Exited says whether the program has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits up to d for the program's end and returns its error (killing
// it and returning an error after d).
func (p *Proc) Wait(d time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		p.Cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s still running after %s: killed", p.Name, d)
	}
}

// Stop sends sig and waits up to 10 s for the end.
func (p *Proc) Stop(sig syscall.Signal) error {
	if !p.Exited() {
		p.Cmd.Process.Signal(sig)
	}
	return p.Wait(10 * time.Second)
}

// WaitStderr waits up to 10 s until the program's stderr says one of says.
func (p *Proc) WaitStderr(t testing.TB, says ...string) {
	t.Helper()
	p.waitSays(t, 10*time.Second, p.Stderr, says...)
}

// waitSays waits up to d until out (what the program wrote so far) says
// one of says, failing t if the program ends first.
func (p *Proc) waitSays(t testing.TB, d time.Duration, out func() string, says ...string) {
	t.Helper()
	WaitFor(t, d, p.Name+" to say "+strings.Join(says, " or "), func() bool {
		s := out()
		for _, w := range says {
			if strings.Contains(s, w) {
				return true
			}
		}
		if p.Exited() {
			t.Fatalf("%s ended: %v\n%s", p.Name, p.err, s)
		}
		return false
	})
}

// WaitFor polls ok every 100 ms until it holds, failing t after d.
func WaitFor(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	if !Poll(d, ok) {
		t.Fatalf("timed out after %s waiting for %s", d, what)
	}
}

// Poll polls ok every 100 ms until it holds (true) or d has passed (false).
func Poll(d time.Duration, ok func() bool) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok() {
			return true
		}
	}
	return false
}

// Buffer is a bytes.Buffer a child process writes while the test reads.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
