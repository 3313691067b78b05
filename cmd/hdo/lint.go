package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/hdo-build/hdo/internal/cachedir"
	"github.com/hdo-build/hdo/internal/depscan"
	"github.com/hdo-build/hdo/internal/gcroots"
	"github.com/hdo-build/hdo/internal/pkgrule"
	"github.com/hdo-build/hdo/internal/pkgspec"
	"github.com/hdo-build/hdo/internal/pkgtree"
	"github.com/hdo-build/hdo/internal/store"
)

// lintVerb builds (or fetches) packages and checks that each one's run
// closure gives its files what they need at run time (see depscan), and
// its package files (see pkgspec.Lint).
func lintVerb(ctx context.Context, e *env, args []string) error {
	var bf buildFlags
	fs := bf.register(e, "lint")
	if err := parse(fs, splitJ(args)); err != nil {
		return err
	}
	eng, stop, err := openEngine(e, &bf, fs.Args())
	if err != nil {
		return err
	}
	defer stop()
	root := eng.Root()
	all := treePackages(root)
	args = fs.Args()
	if len(args) == 0 {
		args = all
		if len(args) == 0 {
			return fmt.Errorf("no package directories under %s", filepath.Join(root, "pkg"))
		}
	}
	pkgs, err := buildPackages(ctx, e, eng, args)
	if err != nil {
		return err
	}
	cache := cacheDir(e)
	release, err := gcroots.Hold(ctx, cache, root, func(format string, args ...any) {
		fmt.Fprintf(e.stderr, "hdo: "+format+"\n", args...)
	})
	if err != nil {
		return err
	}
	defer release()
	st, err := store.Open(cachedir.Dir(cache).Store())
	if err != nil {
		return err
	}
	entries := map[string]string{} // package dir -> store entry
	unpack := func(dir string) (string, error) {
		if e, ok := entries[dir]; ok {
			return e, nil
		}
		b, err := pkgtree.ReadBuilt(root, dir)
		if err != nil {
			return "", err
		}
		m := store.Member{Name: b.Dir, PkgHash: string(b.PkgHash), Tarball: b.Tarball}
		if rec := eng.Record(path.Join(b.Dir, pkgtree.TarballFile)); rec != nil && rec.Target && !rec.Building {
			m.FileHash = rec.Hash.String()
		}
		ds, err := st.EnsureRoot(ctx, []store.Member{m}, store.RootOptions{})
		if err != nil {
			return "", err
		}
		entries[dir] = ds[0]
		return ds[0], nil
	}
	built := pkgrule.BuiltPackages(root)
	asked := map[string]bool{}
	for _, a := range args {
		d, err := pkgDirArg(eng, e.cwd, a)
		if err != nil {
			return err
		}
		asked[d] = true
	}
	missing := 0
	for _, p := range pkgs {
		if !asked[p.Name] {
			continue
		}
		closure, err := pkgtree.ReadWithClosures(root, []string{p.Name})
		if err != nil {
			return err
		}
		var members []depscan.Package
		for _, c := range closure {
			tree, err := unpack(c.Dir)
			if err != nil {
				return err
			}
			members = append(members, depscan.Package{Dir: c.Dir, Tree: tree})
		}
		res, err := depscan.Check(members[0], members[1:], nil, built, unpack)
		if err != nil {
			return err
		}
		spec, err := pkgspec.Load(root, p.Name)
		if err != nil {
			return err
		}
		files, err := pkgspec.Lint(root, spec)
		if err != nil {
			return err
		}
		for _, l := range append(res.Missing, files...) {
			fmt.Fprintln(e.stdout, l)
		}
		missing += len(res.Missing) + len(files)
	}
	if missing > 0 {
		return &exitError{1}
	}
	return nil
}

// treePackages returns the package dirs under root/pkg, root-relative.
func treePackages(root string) []string {
	ents, _ := os.ReadDir(filepath.Join(root, "pkg"))
	var out []string
	for _, ent := range ents {
		d := path.Join("pkg", ent.Name())
		if ent.IsDir() && pkgtree.IsPackageDir(root, d) {
			out = append(out, d)
		}
	}
	return out
}
