package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMain lets a test run the real main in a child process (signals).
func TestMain(m *testing.M) {
	if os.Getenv("VISOR_TEST_MAIN") == "1" {
		os.Args = append([]string{"visor"}, strings.Fields(os.Getenv("VISOR_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// pcapBytes is a small capture of pairs query/response pairs.
func pcapBytes(t *testing.T, pairs int) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.pcap")
	writePcap(t, path, pairs, time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An interrupted run in process: stdin stays open (a pipe nobody closes),
// so only the cancellation can end the read.
func TestInterruptInProcess(t *testing.T) {
	data := pcapBytes(t, 20)
	for _, tc := range []struct {
		name     string
		sig      syscall.Signal
		args     []string
		code     int
		contains string
	}{
		{"analyze SIGINT", syscall.SIGINT, []string{"analyze", "--format", "json", "-"}, 130, `"interrupted": 1`},
		{"analyze SIGTERM", syscall.SIGTERM, []string{"analyze", "--format", "json", "-"}, 143, `"interrupted": 1`},
		{"check that would pass", syscall.SIGINT, []string{"check", "--assert", "net.packets < 1900000", "-"}, 130, "INCOMPLETE"},
		{"check json", syscall.SIGTERM, []string{"check", "--format", "json", "--assert", "net.packets >= 0", "-"}, 143, `"interrupted": true`},
		{"replay sends nothing", syscall.SIGINT, []string{"replay", "--url", "http://127.0.0.1:9/api/v1/write", "-"}, 130, "nothing sent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			pr, pw := io.Pipe()
			defer pw.Close()
			var out, errb bytes.Buffer
			done := make(chan int)
			go func() { done <- run(ctx, tc.args, pr, &out, &errb) }()
			if _, err := pw.Write(data); err != nil { // returns once visor has read it all
				t.Fatal(err)
			}
			cancel(&interrupted{sig: tc.sig})
			var code int
			select {
			case code = <-done:
			case <-time.After(time.Minute):
				t.Fatal("run did not return after the interrupt")
			}
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String()+errb.String(), tc.contains) {
				t.Errorf("output lacks %q:\n%s%s", tc.contains, out.String(), errb.String())
			}
			if !strings.Contains(errb.String(), "interrupted by "+signalName(tc.sig)) {
				t.Errorf("stderr does not say it was interrupted: %s", errb.String())
			}
			if strings.Contains(out.String(), `"schema": "visor.report/v1"`) {
				var rep struct {
					Integrity map[string]uint64 `json:"integrity"`
				}
				if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
					t.Fatal(err)
				}
				if rep.Integrity["interrupted"] != 1 || rep.Integrity["truncated"] != 0 {
					t.Errorf("integrity %v", rep.Integrity)
				}
			}
		})
	}
}

// The real binary (this test binary running main) gets a real signal while
// blocked reading stdin.
func TestInterruptSignal(t *testing.T) {
	data := pcapBytes(t, 20)
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(signalName(tc.sig), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "VISOR_TEST_MAIN=1", "VISOR_TEST_ARGS=analyze --format json -")
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdin = r
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			r.Close()
			defer w.Close()
			if _, err := w.Write(data); err != nil {
				t.Fatal(err)
			}
			// Wait until visor has drained the pipe: it is then reading.
			deadline := time.Now().Add(time.Minute)
			for {
				n, err := unix.IoctlGetInt(int(w.Fd()), unix.TIOCINQ)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("visor did not read its input")
				}
				time.Sleep(10 * time.Millisecond)
			}
			cmd.Process.Signal(tc.sig)
			err = cmd.Wait()
			code := cmd.ProcessState.ExitCode()
			if code != tc.code {
				t.Fatalf("exit %d (%v), want %d; stderr %s", code, err, tc.code, errb.String())
			}
			if !strings.Contains(out.String(), `"interrupted": 1`) {
				t.Errorf("report not marked interrupted:\n%s", out.String())
			}
		})
	}
}
