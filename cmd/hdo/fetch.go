package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hdo-build/hdo/internal/fetch"
	"github.com/hdo-build/hdo/internal/pkgspec"
	"github.com/hdo-build/hdo/internal/pkgtree"
)

func fetchVerb(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "fetch")
	printSums := fs.Bool("print-sums", false, "download the files fetch lists that sha256sums has no line for, and print their sha256sum lines")
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
		if *printSums {
			if err := printMissingSums(ctx, e, root, dir); err != nil {
				return err
			}
			continue
		}
		p, err := pkgspec.Load(root, dir)
		if err != nil {
			return err
		}
		for _, s := range p.Sources {
			srcs = append(srcs, fetch.Source{Name: s.Name, SHA256: s.SHA256, URLs: s.URLs, Origin: s.Origin, SumOrigin: s.SumOrigin})
		}
	}
	if *printSums {
		return nil
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

// printMissingSums downloads the files of dir's fetch that sha256sums
// lacks, through the configured mirrors into the source cache, and prints
// a sha256sum line for each, ready to append to sha256sums.
func printMissingSums(ctx context.Context, e *env, root, dir string) error {
	items, err := pkgspec.Unsummed(root, dir)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		fmt.Fprintf(e.stderr, "hdo: %s: every file in fetch has a sum in sha256sums\n", dir)
		return nil
	}
	f := newFetcher(e)
	f.Log = func(format string, args ...any) { fmt.Fprintf(e.stderr, "hdo: "+format+"\n", args...) }
	for _, it := range items {
		sum, _, err := f.Prefetch(ctx, fetch.Source{Name: it.Output, URLs: []string{it.URL}, Origin: fmt.Sprintf("%s/%s:%d", dir, pkgtree.FetchFile, it.Line)})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s  %s\n", sum, it.Output)
	}
	return nil
}
