package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Tmux is a detached tmux server (a socket of its own) running one command
// in a session of a fixed size: a real terminal emulator whose screen a
// test reads back, for what visor draws on terminals (progress, live view).
// After the command a shell line prints "[exit N]" and waits, so its last
// screen and exit status can be read; t.Cleanup kills the server.
type Tmux struct {
	t    testing.TB
	sock string
	ns   string
}

// NewTmux starts command (a shell command line) in a width x height
// terminal, in network namespace ns ("" for the test's own), with env
// (KEY=VALUE) added to tmux's environment.
func NewTmux(t testing.TB, ns string, width, height int, env []string, command string) *Tmux {
	t.Helper()
	Require(t, "tmux")
	dir := t.TempDir()
	conf := filepath.Join(dir, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g history-limit 5000\nset -g status off\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &Tmux{t: t, sock: filepath.Join(dir, "tmux.sock"), ns: ns}
	args := []string{"-f", conf, "new-session", "-d", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height)}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	m.run(append(args, command+`; echo "[exit $?]"; exec sleep 3600`)...)
	t.Cleanup(func() { m.cmd("kill-server").Run() })
	return m
}

func (m *Tmux) cmd(args ...string) *exec.Cmd {
	args = append([]string{"-S", m.sock}, args...)
	if m.ns != "" {
		return exec.Command("ip", append([]string{"netns", "exec", m.ns, "tmux"}, args...)...)
	}
	return exec.Command("tmux", args...)
}

func (m *Tmux) run(args ...string) string {
	m.t.Helper()
	out, err := m.cmd(args...).CombinedOutput()
	if err != nil {
		m.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Screen is the visible screen, one string a line, trailing blanks cut
// (tmux prints every row, empty ones too).
func (m *Tmux) Screen() []string {
	m.t.Helper()
	return strings.Split(strings.TrimSuffix(m.run("capture-pane", "-p"), "\n"), "\n")
}

// All is the history and the screen, empty lines at the end dropped.
func (m *Tmux) All() []string {
	m.t.Helper()
	s := strings.TrimRight(m.run("capture-pane", "-p", "-S", "-", "-E", "-"), "\n")
	return strings.Split(s, "\n")
}

// exitRE finds the "[exit N]" the shell line prints after the command,
// at the end of the command's last line when that line has no newline.
var exitRE = regexp.MustCompile(`\[exit (-?\d+)\]$`)

// PID is the command's process: the pane's shell's child.
func (m *Tmux) PID() int {
	m.t.Helper()
	shell := strings.TrimSpace(m.run("display-message", "-p", "#{pane_pid}"))
	var out []byte
	if !Poll(5*time.Second, func() bool {
		out, _ = exec.Command("pgrep", "-P", shell).Output()
		return len(strings.Fields(string(out))) > 0
	}) {
		m.t.Fatalf("no process under the pane's shell %s", shell)
	}
	pid, err := strconv.Atoi(strings.Fields(string(out))[0])
	if err != nil {
		m.t.Fatalf("pgrep -P %s: %q", shell, out)
	}
	return pid
}

// Exited says whether the command has ended (the "[exit N]" line), and
// its exit status.
func (m *Tmux) Exited() (bool, int) {
	m.t.Helper()
	for _, l := range m.All() {
		if mm := exitRE.FindStringSubmatch(l); mm != nil {
			code, err := strconv.Atoi(mm[1])
			if err != nil {
				return true, -1
			}
			return true, code
		}
	}
	return false, 0
}

// Keys types keys (tmux key names: "C-c", "q", "Enter").
func (m *Tmux) Keys(keys ...string) {
	m.t.Helper()
	m.run(append([]string{"send-keys"}, keys...)...)
}

// Quote makes s one word of a shell command line.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// ShellLine quotes a command and its arguments into one shell line.
func ShellLine(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}

// String names the session for logs.
func (m *Tmux) String() string { return fmt.Sprintf("tmux -S %s", m.sock) }
