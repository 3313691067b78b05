package pkgrule

import (
	"os"
	"path"
	"path/filepath"
	"slices"

	"github.com/hdo-build/hdo/internal/nearest"
	"github.com/hdo-build/hdo/internal/pkgtree"
)

// Suggest returns engine.Config.Suggest for the tree at root: for a
// root-relative path that does not exist and that no rule builds, the
// package target or package dir a slip of the keyboard turned it from.
// pkg/mak/.pkg.tar.gz gives pkg/make/.pkg.tar.gz, pkg/make/.pkghsh gives
// pkg/make/.pkghash, pkg/mak gives pkg/make; "" when nothing is close.
func Suggest(root string) func(rel string) string {
	return func(rel string) string { return suggest(root, rel) }
}

func suggest(root, rel string) string {
	dir, base := path.Split(rel)
	dir = path.Clean(dir)
	if pkgtree.IsPackageDir(root, dir) {
		// A package dir holding no such target: a misspelt target name.
		if t, ok := nearest.Word(base, pkgtree.Targets); ok {
			return path.Join(dir, t)
		}
		return ""
	}
	// rel itself may be a misspelt package dir.
	if p, ok := nearest.Word(base, packageDirs(root, dir)); ok {
		return path.Join(dir, p)
	}
	// Or a target in a misspelt package dir, its name maybe misspelt too.
	if dir == "." {
		return ""
	}
	parent, pkg := path.Split(dir)
	parent = path.Clean(parent)
	p, ok := nearest.Word(pkg, packageDirs(root, parent))
	if !ok {
		return ""
	}
	if t, ok := nearest.Word(base, pkgtree.Targets); ok && !slices.Contains(pkgtree.Targets, base) {
		base = t
	}
	return path.Join(parent, p, base)
}

// packageDirs lists the names of the package dirs in the root-relative
// dir.
func packageDirs(root, dir string) []string {
	ents, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir)))
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && pkgtree.IsPackageDir(root, path.Join(dir, e.Name())) {
			names = append(names, e.Name())
		}
	}
	return names
}
