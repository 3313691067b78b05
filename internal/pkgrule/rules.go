package pkgrule

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/internal/pkgspec"
	"github.com/hdo-build/hdo/internal/pkgtree"
)

// Rule versions: bump one when the rule's output for the same inputs
// changes, so every such target is rebuilt.
const (
	pkghashRule  = "builtin:pkghash/1"
	closureRule  = "builtin:closure/1"
	bclosureRule = "builtin:bclosure/1"
)

// rule is one built-in package rule.
type rule struct {
	name  string
	id    string
	build func(ctx context.Context, j *engine.Job, pkgDir string) ([]byte, error)
}

// Match reports whether target is this rule's file inside a package dir.
// A build or seed.lock of the wrong kind still matches, so that the
// package's own error (not "no rule") says what is wrong with it.
func (r *rule) Match(target string, exists func(string) bool) (string, bool) {
	dir, base := path.Split(target)
	if base != r.name || dir == "" {
		return "", false
	}
	if !exists(dir+pkgtree.BuildFile) && !exists(dir+pkgtree.SeedLockFile) {
		return "", false
	}
	return r.id, true
}

// TreeRootOf returns the root of the package tree that the absolute path
// p lies in: p, or its nearest ancestor, must be a package dir, and the
// root is the parent of the nearest directory named pkg above that (for
// /src/tree/pkg/make/.pkghash, /src/tree). ok is false if p is not inside
// a package of a pkg/ dir.
func TreeRootOf(p string) (root string, ok bool) {
	d := filepath.Clean(p)
	for !pkgtree.IsPackageDirAbs(d) {
		parent := filepath.Dir(d)
		if parent == d {
			return "", false
		}
		d = parent
	}
	for {
		parent := filepath.Dir(d)
		if parent == d {
			return "", false
		}
		if filepath.Base(d) == "pkg" {
			return parent, true
		}
		d = parent
	}
}

func (r *rule) Build(ctx context.Context, j *engine.Job) error {
	out, err := r.build(ctx, j, path.Dir(j.Target))
	if err != nil {
		return err
	}
	return os.WriteFile(j.Out, out, 0o644)
}

// load reads the package at dir and records everything it read as the
// job's dependencies: its files, the optional ones' absence, and files/.
func load(ctx context.Context, j *engine.Job, dir string) (*pkgspec.Package, error) {
	p, err := pkgspec.Load(j.Root(), dir)
	if err != nil {
		// Depend on what exists so a fix of the package rebuilds; the
		// error itself is what the user sees.
		deps, missing := packageFiles(j.Root(), dir)
		j.IfChange(ctx, false, deps...)
		j.IfCreate(missing...)
		return nil, err
	}
	if err := j.IfChange(ctx, false, p.Inputs...); err != nil {
		return nil, err
	}
	if err := j.IfCreate(p.Missing...); err != nil {
		return nil, err
	}
	return p, nil
}

// packageFiles lists the package files of dir that exist and those that
// do not.
func packageFiles(root, dir string) (exist, missing []string) {
	for _, f := range []string{pkgtree.BuildFile, pkgtree.SeedLockFile, pkgtree.BuildDepsFile, pkgtree.RunDepsFile, pkgtree.FetchFile, pkgtree.SumsFile} {
		rel := path.Join(dir, f)
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel))); err == nil {
			exist = append(exist, rel)
		} else {
			missing = append(missing, rel)
		}
	}
	return exist, missing
}

// readTargets brings the targets up to date, depends on them, and returns
// their contents in order.
func readTargets(ctx context.Context, j *engine.Job, targets []string) ([][]byte, error) {
	if err := j.IfChange(ctx, false, targets...); err != nil {
		return nil, err
	}
	out := make([][]byte, len(targets))
	for i, t := range targets {
		b, err := os.ReadFile(j.Abs(t))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func buildClosure(ctx context.Context, j *engine.Job, dir string) ([]byte, error) {
	p, err := load(ctx, j, dir)
	if err != nil {
		return nil, err
	}
	return closureOf(ctx, j, p.RunDeps)
}

func buildBClosure(ctx context.Context, j *engine.Job, dir string) ([]byte, error) {
	p, err := load(ctx, j, dir)
	if err != nil {
		return nil, err
	}
	return closureOf(ctx, j, p.BuildDeps)
}

// closureOf returns the sorted, unique tarball paths of deps and of their
// run-time closures.
func closureOf(ctx context.Context, j *engine.Job, deps []string) ([]byte, error) {
	var targets []string
	for _, d := range deps {
		targets = append(targets, path.Join(d, pkgtree.ClosureFile))
	}
	contents, err := readTargets(ctx, j, targets)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for i, d := range deps {
		set[pkgtree.TarballLine(d)] = true
		for _, line := range strings.Split(string(contents[i]), "\n") {
			if line != "" {
				set[line] = true
			}
		}
	}
	lines := make([]string, 0, len(set))
	for l := range set {
		lines = append(lines, l)
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		return []byte{}, nil
	}
	return []byte(strings.Join(lines, "\n") + "\n"), nil
}
