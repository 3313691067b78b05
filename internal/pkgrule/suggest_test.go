package pkgrule

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSuggest(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"pkg/make/build", "pkg/m4/build", "pkg/seed/seed.lock", "pkg/sed/build", "pkg/zlib/build", "pkg/notes/README", "src/main.c"} {
		p := filepath.Join(root, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := Suggest(root)
	for _, tc := range []struct{ rel, want string }{
		{"pkg/mak/.pkg.tar.gz", "pkg/make/.pkg.tar.gz"},
		{"pkg/mkae/.pkghash", "pkg/make/.pkghash"},
		{"pkg/mak/.pkghsh", "pkg/make/.pkghash"}, // both slips at once
		{"pkg/make/.pkghsh", "pkg/make/.pkghash"},
		{"pkg/make/.closur", "pkg/make/.closure"},
		{"pkg/mak", "pkg/make"},
		{"pkg/zlb/.closure", "pkg/zlib/.closure"},
		{"pkg/make/whatever", ""},   // nothing close to a target name
		{"pkg/python/.pkghash", ""}, // no package close
		{"pkg/note/.pkghash", ""},   // notes is no package dir
		{"src/mian.c", ""},          // not the package rules' business
		{"mak", ""},
	} {
		if got := s(tc.rel); got != tc.want {
			t.Errorf("Suggest(%q) = %q, want %q", tc.rel, got, tc.want)
		}
	}
}
