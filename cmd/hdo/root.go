package main

import (
	"fmt"
	"path/filepath"

	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/internal/pkgrule"
	"github.com/hdo-build/hdo/internal/pkgtree"
)

// treeRoot finds the tree root for a command given paths (targets or
// package dirs, relative to e.cwd): $HDO_ROOT; else the nearest ancestor of
// the current directory holding a .hdo/ this user may trust (see
// engine.StateRoot), passing over package dirs, which are never roots (an
// older hdo could plant a .hdo in one); else the root of the package tree
// the first path, or the current directory, is in (the parent of its pkg/
// dir); else the current directory. So a run from inside a package dir of
// a fresh clone finds the tree, and never creates a .hdo of its own there.
func treeRoot(e *env, paths []string) (string, error) {
	if r := e.getenv("HDO_ROOT"); r != "" {
		return filepath.Abs(r)
	}
	cwd, err := filepath.Abs(e.cwd)
	if err != nil {
		return "", err
	}
	skip := func(dir, why string) bool {
		if why != "" {
			fmt.Fprintf(e.stderr, "hdo: ignoring %s: it %s\n", filepath.Join(dir, ".hdo"), why)
			return true
		}
		if pkgtree.IsPackageDir(dir, ".") {
			if _, ok := pkgrule.TreeRootOf(dir); ok {
				fmt.Fprintf(e.stderr, "hdo: ignoring %s: a package directory is never a tree root (remove it)\n", filepath.Join(dir, ".hdo"))
				return true
			}
		}
		return false
	}
	if r, ok := engine.StateRoot(cwd, skip); ok {
		return r, nil
	}
	var try []string
	if len(paths) > 0 {
		try = append(try, absFrom(cwd, paths[0]))
	}
	for _, p := range append(try, cwd) {
		if r, ok := pkgrule.TreeRootOf(p); ok {
			return r, nil
		}
	}
	return cwd, nil
}
