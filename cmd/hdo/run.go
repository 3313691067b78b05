package main

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"

	"github.com/hdo-build/hdo/internal/cachedir"
	"github.com/hdo-build/hdo/internal/gcroots"
	"github.com/hdo-build/hdo/internal/hostroot"
	"github.com/hdo-build/hdo/internal/pkgtree"
	"github.com/hdo-build/hdo/internal/store"
)

func runVerb(ctx context.Context, e *env, args []string) error {
	var bf buildFlags
	fs := bf.register(e, "run")
	if err := parse(fs, splitJ(args)); err != nil {
		return err
	}
	rest := fs.Args()
	sep := slices.Index(rest, "--")
	switch {
	case sep < 0:
		return usagef("run needs -- between the package directories and the command")
	case sep == 0:
		return usagef("run needs a package directory before --")
	case sep == len(rest)-1:
		return usagef("run needs a command after --")
	}
	dirs, cmd := rest[:sep], rest[sep+1:]
	plan, err := runPlan(ctx, e, &bf, dirs)
	if err != nil {
		return err
	}
	return runInRoot(ctx, e, plan, "hdo run", cmd)
}

// runPlan builds the packages and returns the new root that puts them and
// their closures, unpacked in the store, over the host's. The engine is
// closed before the command runs.
func runPlan(ctx context.Context, e *env, bf *buildFlags, dirs []string) (hostroot.Plan, error) {
	eng, stop, err := openEngine(e, bf, dirs)
	if err != nil {
		return hostroot.Plan{}, err
	}
	defer stop()
	pkgs, err := buildPackages(ctx, e, eng, dirs)
	if err != nil {
		return hostroot.Plan{}, err
	}
	cache := cacheDir(e)
	// gc must not remove a store entry between its Ensure and its mount.
	release, err := gcroots.Hold(ctx, cache, eng.Root(), func(format string, args ...any) {
		fmt.Fprintf(e.stderr, "hdo: "+format+"\n", args...)
	})
	if err != nil {
		return hostroot.Plan{}, err
	}
	defer release()
	st, err := store.Open(cachedir.Dir(cache).Store())
	if err != nil {
		return hostroot.Plan{}, err
	}
	members := make([]store.Member, len(pkgs))
	for i, p := range pkgs {
		members[i] = store.Member{Name: p.Name, PkgHash: p.PkgHash, Tarball: p.Tarball}
		// The tarball is up to date: the engine's record has its hash, so
		// the store need not hash it again to know it.
		if rec := eng.Record(path.Join(p.Name, pkgtree.TarballFile)); rec != nil && rec.Target && !rec.Building {
			members[i].FileHash = rec.Hash.String()
		}
	}
	entries, err := st.EnsureRoot(ctx, members, store.RootOptions{})
	if err != nil {
		var ce *store.ConflictError
		if errors.As(err, &ce) {
			return hostroot.Plan{}, fmt.Errorf("the packages cannot share one root: %w", err)
		}
		return hostroot.Plan{}, err
	}
	trees := make([]hostroot.Tree, len(pkgs))
	for i, p := range pkgs {
		trees[i] = hostroot.Tree{Name: p.Name, Dir: entries[i]}
	}
	plan, err := hostroot.FromTrees(trees)
	if err != nil {
		return hostroot.Plan{}, err
	}
	plan.ReadOnly = true
	return plan, nil
}
