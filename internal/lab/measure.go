package lab

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Usage is what one program run cost: wall time, CPU time (user + system)
// and peak resident set size, from the kernel's accounting of the child
// (wait4's rusage, as /usr/bin/time -v reports it).
type Usage struct {
	Wall, CPU time.Duration
	MaxRSS    int64 // bytes
}

// Measure runs cmd to its end and returns what it cost, with cmd.Run's
// error.
func Measure(cmd *exec.Cmd) (Usage, error) {
	t0 := time.Now()
	err := cmd.Run()
	u := Usage{Wall: time.Since(t0)}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			u.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			u.MaxRSS = ru.Maxrss * 1024 // kilobytes on Linux
		}
	}
	return u, err
}

// LoadAverage is the first three fields of /proc/loadavg ("?" when it
// cannot be read).
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return f[0] + ", " + f[1] + ", " + f[2]
}
