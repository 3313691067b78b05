package hostroot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hdo-build/hdo/internal/overlay"
)

// Plan says which top-level entries of the new root replace the host's.
// Keys are single names without slashes, e.g. "usr".
type Plan struct {
	// Dirs maps a name to host directories: one is bound there, several
	// are merged read-only with overlayfs, the first on top. E.g. "usr":
	// {"/home/me/.cache/hdo/store/3f9a.../usr", "/home/me/.cache/hdo/store/8e1c.../usr"}.
	Dirs map[string][]string
	// Links maps a name to a symlink target, e.g. "lib64": "usr/lib64".
	Links map[string]string
	// Files maps a name to a host file bound there, e.g. "init": "/venv/init".
	Files map[string]string
	// ReadOnly makes the bound directories and files read-only (overlays
	// always are), e.g. for trees in the package store.
	ReadOnly bool
}

// Kept are the host's top-level directories a plan never replaces: the
// kernel's (dev, proc, sys), the running system's (run, tmp) and the
// users' (home, root). Package trees often ship some of them (an empty
// tmp, say); FromTrees leaves those out.
var Kept = []string{"dev", "home", "proc", "root", "run", "sys", "tmp"}

// Tree is one host directory whose top-level entries go into a plan: the
// same type as the sandbox's layers (see overlay.Layer).
type Tree = overlay.Layer

// FromTrees returns the plan that puts the top-level entries of the trees
// over the host's root. Names in Kept and names starting with "." are left
// out. A directory several trees have is merged (in the trees' order); a
// symlink must have one target in every tree that has it, and a file may
// come from one tree only; an entry with different types in two trees is
// an error naming both.
func FromTrees(trees []Tree) (Plan, error) {
	p := Plan{Dirs: map[string][]string{}, Links: map[string]string{}, Files: map[string]string{}}
	owner := map[string]string{} // name -> first tree providing it
	for _, t := range trees {
		if !filepath.IsAbs(t.Dir) {
			return Plan{}, fmt.Errorf("hostroot: tree %s: %q is not absolute", t.Name, t.Dir)
		}
		ents, err := os.ReadDir(t.Dir)
		if err != nil {
			return Plan{}, fmt.Errorf("hostroot: tree %s: %w", t.Name, err)
		}
		for _, e := range ents {
			name := e.Name()
			if strings.HasPrefix(name, ".") || slices.Contains(Kept, name) {
				continue
			}
			path := filepath.Join(t.Dir, name)
			first, seen := owner[name]
			if !seen {
				owner[name] = t.Name
			}
			clash := func(what string) error {
				return fmt.Errorf("hostroot: %s and %s both provide /%s, as %s", first, t.Name, name, what)
			}
			switch typ := e.Type(); {
			case typ.IsDir():
				if seen && p.Dirs[name] == nil {
					return Plan{}, clash("a directory and something else")
				}
				p.Dirs[name] = append(p.Dirs[name], path)
			case typ&fs.ModeSymlink != 0:
				target, err := os.Readlink(path)
				if err != nil {
					return Plan{}, fmt.Errorf("hostroot: tree %s: %w", t.Name, err)
				}
				if old, ok := p.Links[name]; seen && (!ok || old != target) {
					return Plan{}, clash("different symlinks or types")
				}
				p.Links[name] = target
			case typ.IsRegular():
				if seen {
					return Plan{}, clash("a file and something else")
				}
				p.Files[name] = path
			}
		}
	}
	return p, nil
}

// names returns every name the plan replaces, sorted.
func (p *Plan) names() []string {
	var out []string
	for n := range p.Dirs {
		out = append(out, n)
	}
	for n := range p.Links {
		out = append(out, n)
	}
	for n := range p.Files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// validate refuses plans that would replace a kept directory, name
// something other than one top-level entry, or use relative host paths.
func (p *Plan) validate() error {
	names := p.names()
	for i, n := range names {
		if i > 0 && names[i-1] == n {
			return fmt.Errorf("hostroot: /%s is planned twice", n)
		}
		if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\x00") {
			return fmt.Errorf("hostroot: bad top-level name %q", n)
		}
		if slices.Contains(Kept, n) || n == oldRootName {
			return fmt.Errorf("hostroot: /%s always stays the host's", n)
		}
	}
	for n, dirs := range p.Dirs {
		if len(dirs) == 0 {
			return fmt.Errorf("hostroot: /%s: no directories", n)
		}
		for _, d := range dirs {
			if !filepath.IsAbs(d) {
				return fmt.Errorf("hostroot: /%s: %q is not absolute", n, d)
			}
		}
	}
	for n, f := range p.Files {
		if !filepath.IsAbs(f) {
			return fmt.Errorf("hostroot: /%s: %q is not absolute", n, f)
		}
	}
	for n, target := range p.Links {
		if target == "" {
			return errors.New("hostroot: /" + n + ": empty symlink target")
		}
	}
	return nil
}
