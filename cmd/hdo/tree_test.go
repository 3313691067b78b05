package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hdo-build/hdo/internal/pkgspec"
)

// TestTreePackages loads every package of the repository's own tree (the
// one `./do.sh ./pkg/NAME/.pkg.tar.gz` builds): each parses, names its
// dependencies correctly, has a build script (or is a seed), and fetches
// only through mirror:// URLs, with a pinned sum for every file.
func TestTreePackages(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Join(root, "pkg"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		n++
		dir := "pkg/" + e.Name()
		p, err := pkgspec.Load(root, dir)
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		if !p.Seed && len(p.Build) == 0 {
			t.Errorf("%s: empty build script", dir)
		}
		if !p.Seed && len(p.BuildDeps) == 0 {
			t.Errorf("%s: no build-deps (it needs a seed for /bin/sh)", dir)
		}
		for _, s := range p.Sources {
			for _, u := range s.URLs {
				if !strings.HasPrefix(u, "mirror://debian/") && !strings.HasPrefix(u, "mirror://goproxy/") {
					t.Errorf("%s: %s: fetch through mirror://debian/ or mirror://goproxy/, not a fixed host", dir, u)
				}
			}
		}
	}
	if n < 9 {
		t.Errorf("the tree has %d packages, want make and at least seven more besides the seed", n)
	}
}
