package lab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/visor-dns/visor/report"
)

var (
	buildOnce sync.Once
	buildDir  string
	visorBin  string
	buildErr  error
)

// Main runs a lab test binary's tests and removes the visor binary Visor
// built. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// Visor is the path of a visor binary built from this module
// (CGO_ENABLED=0 go build ./cmd/visor), once per test process.
func Visor(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		if buildDir, buildErr = os.MkdirTemp("", "visor-lab-bin-"); buildErr != nil {
			return
		}
		visorBin = filepath.Join(buildDir, "visor")
		cmd := exec.Command("go", "build", "-o", visorBin, "./cmd/visor")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("CGO_ENABLED=0 go build ./cmd/visor: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return visorBin
}

// ModuleRoot is the directory of this module's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := string(bytes.TrimSpace(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the visor module")
	}
	return filepath.Dir(mod), nil
}

// Testdata is the path of name in the module's testdata/.
func Testdata(t testing.TB, name string) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "testdata", name)
}

// Analyze runs `visor analyze --format json ARGS` and returns the report,
// validated against the schema.
func Analyze(t testing.TB, args ...string) *report.Report {
	t.Helper()
	return decodeReport(t, "visor analyze", AnalyzeJSON(t, args...))
}

// AnalyzeJSON runs `visor analyze --format json ARGS`, validates the report
// against the schema and returns it as it was written.
func AnalyzeJSON(t testing.TB, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(Visor(t), append([]string{"analyze", "--format", "json"}, args...)...).Output()
	if err != nil {
		var stderr []byte
		if e, ok := err.(*exec.ExitError); ok {
			stderr = e.Stderr
		}
		t.Fatalf("visor analyze %v: %v\n%s", args, err, stderr)
	}
	if err := report.Validate(out); err != nil {
		t.Fatalf("visor analyze %v: the report does not validate: %v", args, err)
	}
	return out
}

// ReadReport reads and validates a JSON report file.
func ReadReport(t testing.TB, path string) *report.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return decodeReport(t, path, b)
}

func decodeReport(t testing.TB, what string, b []byte) *report.Report {
	t.Helper()
	if err := report.Validate(b); err != nil {
		t.Fatalf("%s: the report does not validate: %v", what, err)
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return &r
}

// Keep copies files into the directory named by $VISOR_LAB_OUT, when set:
// a scenario's captures and truth become test data (VISOR_LAB_OUT=testdata).
func Keep(t testing.TB, files ...string) {
	t.Helper()
	out := os.Getenv("VISOR_LAB_OUT")
	if out == "" {
		return
	}
	for _, f := range files {
		if err := copyFile(f, filepath.Join(out, filepath.Base(f))); err != nil {
			t.Fatal(err)
		}
		t.Logf("kept %s in %s", filepath.Base(f), out)
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
