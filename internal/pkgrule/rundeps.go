package pkgrule

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/internal/depscan"
	"github.com/hdo-build/hdo/internal/pkgtree"
	"github.com/hdo-build/hdo/internal/store"
)

// checkRunDeps scans what a build put in dest (see depscan) against the
// package's run closure (runDirs, with their pkghashes), unpacked in the
// store, and returns an error of one line per need the closure lacks,
// each naming the built package of the tree that provides it, if one
// does. A run-dep (of deps, the package's own) that nothing uses is a
// warning in the build's log.
func (t *tarball) checkRunDeps(ctx context.Context, j *engine.Job, st *store.Store, dir, dest string, deps, runDirs, runHashes []string) error {
	members := make([]store.Member, len(runDirs))
	for i, d := range runDirs {
		tgz := path.Join(d, pkgtree.TarballFile)
		members[i] = store.Member{Name: d, PkgHash: runHashes[i], Tarball: j.Abs(tgz), FileHash: j.DepHash(tgz)}
	}
	entries, err := st.EnsureRoot(ctx, members, store.RootOptions{})
	if err != nil {
		var ce *store.ConflictError
		if !errors.As(err, &ce) {
			return err
		}
		// A conflict in the run closure is not this check's to report.
		return nil
	}
	closure := make([]depscan.Package, len(runDirs))
	for i, d := range runDirs {
		closure[i] = depscan.Package{Dir: d, Tree: entries[i]}
	}
	direct := map[string][]string{}
	for _, d := range deps {
		b, err := pkgtree.ReadBuilt(j.Root(), d)
		if err != nil {
			return err
		}
		direct[d] = append([]string{d}, b.Closure...)
	}
	res, err := depscan.Check(depscan.Package{Dir: dir, Tree: dest}, closure, direct, BuiltPackages(j.Root()), func(d string) (string, error) {
		b, err := pkgtree.ReadBuilt(j.Root(), d)
		if err != nil {
			return "", err
		}
		ds, err := st.EnsureRoot(ctx, []store.Member{{Name: d, PkgHash: string(b.PkgHash), Tarball: b.Tarball}}, store.RootOptions{})
		if err != nil {
			return "", err
		}
		return ds[0], nil
	})
	if err != nil {
		return err
	}
	for _, d := range res.Unused {
		rel, _ := filepath.Rel(dir, d)
		fmt.Fprintf(j.Log, "hdo: warning: %s: none of the files of run-dep %s (or of its closure) is used by %s's programs, libraries or scripts; remove it from %s unless they run it by name\n",
			dir, filepath.ToSlash(rel), dir, path.Join(dir, pkgtree.RunDepsFile))
	}
	if len(res.Missing) == 0 {
		return nil
	}
	return errors.New(strings.Join(res.Missing, "\n"))
}

// BuiltPackages returns the package dirs under root/pkg whose tarballs
// are built, seeds last (a seed is what builds run on, rarely a run-time
// dependency): the providers a missing need may be pointed to.
func BuiltPackages(root string) []string {
	ents, _ := os.ReadDir(filepath.Join(root, "pkg"))
	var built, seeds []string
	for _, ent := range ents {
		d := path.Join("pkg", ent.Name())
		if !ent.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, d, pkgtree.TarballFile)); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, d, pkgtree.SeedLockFile)); err == nil {
			seeds = append(seeds, d)
		} else {
			built = append(built, d)
		}
	}
	return append(built, seeds...)
}
