package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BuildVisor builds cmd/visor (CGO_ENABLED=0 go build) into out: from the
// module's working tree when rev is "", else from git revision rev checked
// out in a temporary worktree, removed afterwards (paired runs against an
// earlier commit). It returns what it built, as Describe names it.
func BuildVisor(t testing.TB, out, rev string) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := root
	if rev != "" {
		// one commit for the name and the build, whatever HEAD does meanwhile
		b, err := git(root, "rev-parse", "--verify", rev+"^{commit}")
		if err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		rev = strings.TrimSpace(string(b))
	}
	desc := Describe(rev)
	if rev != "" {
		tmp, err := os.MkdirTemp("", "visor-rev-")
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(tmp, "src")
		if b, err := git(root, "worktree", "add", "--detach", dir, rev); err != nil {
			os.RemoveAll(tmp)
			t.Fatalf("git worktree add %s: %v\n%s", rev, err, b)
		}
		defer func() {
			git(root, "worktree", "remove", "--force", dir)
			os.RemoveAll(tmp)
		}()
	}
	cmd := exec.Command("go", "build", "-o", out, "./cmd/visor")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build ./cmd/visor at %s: %v\n%s", desc, err, b)
	}
	return desc
}

// Describe names a revision of the module's repository as `git describe
// --always` does (the working tree, with -dirty, when rev is ""); "?" when
// git cannot say.
func Describe(rev string) string {
	root, err := ModuleRoot()
	if err != nil {
		return "?"
	}
	args := []string{"describe", "--always", "--dirty"}
	if rev != "" {
		args = []string{"describe", "--always", rev}
	}
	b, err := git(root, args...)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

func git(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	if err != nil {
		return b, fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return b, nil
}
