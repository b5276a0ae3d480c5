package main

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCommandImports: the command layer is flags -> config -> one call into
// the engine -> exit code; of visor's packages it imports only the engine
// and the few whose types it hands on (docs/development.md, Layout).
func TestCommandImports(t *testing.T) {
	allowed := map[string]bool{"engine": true, "report": true, "assert": true, "replay": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range ast.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			rest, ok := strings.CutPrefix(p, "github.com/visor-dns/visor")
			if !ok {
				continue
			}
			if name := strings.TrimPrefix(rest, "/"); !allowed[name] {
				t.Errorf("%s imports %s: go through the engine", f, p)
			}
		}
	}
}
