package pkgspec

import (
	"bytes"
	"path"
	"strings"

	"github.com/hdo-build/hdo/internal/pkgtree"
)

// Lint returns what looks wrong in a loaded package's files without being
// an error Load reports: a build that never names $DESTDIR (its package
// would be empty), and an entry of files/ that the build never names (by
// its name or its top-level directory). Each is one line naming the file.
func Lint(root string, p *Package) ([]string, error) {
	if p.Seed {
		return nil, nil
	}
	var out []string
	build := path.Join(p.Dir, pkgtree.BuildFile)
	if !bytes.Contains(p.Build, []byte("DESTDIR")) {
		out = append(out, build+": never names $DESTDIR, where a build installs what the package holds")
	}
	entries, err := ListFiles(root, p.Dir)
	if err != nil {
		return nil, err
	}
	// A top-level entry of files/ is named if it is, or if any file
	// under it is by its own name.
	var tops []string
	named := map[string]bool{}
	for _, e := range entries {
		top, _, _ := strings.Cut(e.Rel, "/")
		if _, seen := named[top]; !seen {
			tops = append(tops, top)
			named[top] = false
		}
		if bytes.Contains(p.Build, []byte(top)) || bytes.Contains(p.Build, []byte(path.Base(e.Rel))) {
			named[top] = true
		}
	}
	for _, top := range tops {
		if !named[top] {
			out = append(out, path.Join(p.Dir, pkgtree.FilesDir, top)+": not named by "+build+"; remove it unless the build uses it")
		}
	}
	return out, nil
}
