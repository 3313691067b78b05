package main

import (
	"fmt"
	"path"
	"slices"

	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/internal/pkgrule"
	"github.com/hdo-build/hdo/internal/pkgtree"
)

// pkgDirArg turns a package argument of a verb into its root-relative
// package dir. One of the package's targets (pkg/make/.pkg.tar.gz) stands
// for its dir; anything else that is no package dir is an error saying
// so, with the dir a slip of the keyboard was probably meant for.
func pkgDirArg(eng *engine.Engine, cwd, arg string) (string, error) {
	rel, err := eng.Rel(cwd, arg)
	if err != nil {
		return "", err
	}
	return pkgDirRel(eng.Root(), rel, arg)
}

// pkgDirRel is pkgDirArg for a path already made root-relative.
func pkgDirRel(root, rel, arg string) (string, error) {
	if dir, base := path.Split(rel); slices.Contains(pkgtree.Targets, base) && pkgtree.IsPackageDir(root, path.Clean(dir)) {
		return path.Clean(dir), nil
	}
	if pkgtree.IsPackageDir(root, rel) {
		return rel, nil
	}
	msg := fmt.Sprintf("%s is not a package directory (no build or seed.lock file)", arg)
	if hint := pkgrule.Suggest(root)(rel); hint != "" {
		msg += fmt.Sprintf("; did you mean %s?", hint)
	}
	return "", fmt.Errorf("%s", msg)
}
