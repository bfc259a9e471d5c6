package dcsim

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsStayInTheVendorDialect guards DESIGN.md's rule that a simulator
// never imports the unified model or a connector, so it cannot share their
// misunderstandings.
func TestImportsStayInTheVendorDialect(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sources: %v", err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, banned := range []string{"/internal/lms", "/internal/provider"} {
				if strings.Contains(path, banned) {
					t.Errorf("%s imports %s", name, path)
				}
			}
		}
	}
}
