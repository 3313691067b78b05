package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hdo-build/hdo/internal/fetch"
	"github.com/hdo-build/hdo/internal/pkgspec"
)

func fetchVerb(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "fetch")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("fetch needs a package directory")
	}
	root, err := treeRoot(e, fs.Args())
	if err != nil {
		return err
	}
	var srcs []fetch.Source
	for _, a := range fs.Args() {
		rel, err := filepath.Rel(root, absFrom(e.cwd, a))
		if err != nil {
			return err
		}
		dir, err := pkgDirRel(root, filepath.ToSlash(rel), a)
		if err != nil {
			return err
		}
		p, err := pkgspec.Load(root, dir)
		if err != nil {
			return err
		}
		for _, s := range p.Sources {
			srcs = append(srcs, fetch.Source{Name: s.Name, SHA256: s.SHA256, URLs: s.URLs})
		}
	}
	f := newFetcher(e)
	f.Log = func(format string, args ...any) { fmt.Fprintf(e.stderr, "hdo: "+format+"\n", args...) }
	paths, err := f.Fetch(ctx, srcs)
	if err != nil {
		return err
	}
	for i, p := range paths {
		fmt.Fprintf(e.stdout, "%s %s\n", p, srcs[i].Name)
	}
	return nil
}
