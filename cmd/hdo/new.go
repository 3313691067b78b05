package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hdo-build/hdo/bootstrap"
	"github.com/hdo-build/hdo/internal/fetch"
	"github.com/hdo-build/hdo/internal/pkgnew"
	"github.com/hdo-build/hdo/internal/pkgtree"
)

func newVerb(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "new")
	var urls pathList
	fs.Var(&urls, "fetch", "download `URL` (repeatable; more URLs may follow PKGDIR) and write fetch, sha256sums, deps and a build script that fit it")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("new needs one package directory")
	}
	// Flags may follow PKGDIR: hdo new pkg/hello --fetch URL...
	name := fs.Arg(0)
	if err := parse(fs, fs.Args()[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 && len(urls) == 0 {
		return usagef("new needs one package directory, not %d arguments (URLs go after --fetch)", fs.NArg()+1)
	}
	urls = append(urls, fs.Args()...)
	dir := absFrom(e.cwd, name)
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("%s already exists and is not empty; hdo new only creates new packages", name)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	opts := pkgnew.Options{
		HasPackage: func(n string) bool {
			return pkgtree.IsPackageDirAbs(filepath.Join(filepath.Dir(dir), n))
		},
		SeedHas: seedTools(filepath.Join(filepath.Dir(dir), "seed", pkgtree.SeedLockFile)),
	}
	// Everything is downloaded before anything is written: a failure
	// leaves no package dir behind.
	if len(urls) > 0 {
		f := newFetcher(e)
		f.Log = func(format string, args ...any) { fmt.Fprintf(e.stderr, "hdo: "+format+"\n", args...) }
		for _, u := range urls {
			src, err := pkgnew.SourceFor(u)
			if err != nil {
				return err
			}
			sum, path, err := f.Prefetch(ctx, fetch.Source{Name: src.Name, URLs: []string{u}})
			if err != nil {
				return err
			}
			src.SHA256 = sum
			opts.Sources = append(opts.Sources, src)
			if opts.Layout == nil && pkgnew.IsTarball(src.Name) {
				l, err := probeFile(src.Name, path)
				if err != nil {
					return err
				}
				opts.Layout, opts.Archive = &l, src.Name
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range pkgnew.Files(opts) {
		if err := os.WriteFile(filepath.Join(dir, f.Name), []byte(f.Text), f.Mode); err != nil {
			return err
		}
	}
	target := filepath.Join(name, pkgtree.TarballFile)
	if opts.Layout == nil {
		what := "edit build and fetch"
		if len(opts.Sources) > 0 {
			what = "edit build (no source is a tarball hdo new reads)"
		}
		fmt.Fprintf(e.stdout, "created %s: %s, list dependencies in build-deps and run-deps, then hdo %s\n", name, what, target)
		return nil
	}
	var notes []string
	notes = append(notes, opts.Layout.System.String()+" build")
	if opts.Layout.C {
		notes = append(notes, "C sources")
	}
	fmt.Fprintf(e.stdout, "created %s from %s (%s): check build, build-deps and run-deps, then hdo %s\n",
		name, opts.Archive, strings.Join(notes, ", "), target)
	return nil
}

// probeFile probes the tarball at path, saved as name.
func probeFile(name, path string) (pkgnew.Layout, error) {
	f, err := os.Open(path)
	if err != nil {
		return pkgnew.Layout{}, err
	}
	defer f.Close()
	return pkgnew.Probe(name, f)
}

// seedTools returns a pkgnew SeedHas for the seed lock at path: a tool is
// the seed's if a pinned .deb is named after it or a stage0 command
// installs it.
func seedTools(path string) func(tool string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	lock, err := bootstrap.ParseLock(path, data)
	if err != nil {
		return nil
	}
	return func(tool string) bool {
		for _, d := range lock.Debs {
			if d.Name == tool {
				return true
			}
		}
		for _, c := range lock.Cmds {
			if filepath.Base(c.Path) == tool {
				return true
			}
		}
		return false
	}
}
