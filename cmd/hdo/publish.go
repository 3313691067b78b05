package main

import (
	"context"
	"fmt"
	"path"

	"github.com/hdo-build/hdo/internal/cache"
	"github.com/hdo-build/hdo/internal/pkgspec"
	"github.com/hdo-build/hdo/internal/pkgtree"
)

func publishVerb(ctx context.Context, e *env, args []string) error {
	var bf buildFlags
	fs := bf.register(e, "publish")
	out := fs.String("o", "", "the cache `DIR` to publish into (created if needed)")
	keyFile := fs.String("key", "", "sign the entries with the secret key in `FILE` (from hdo key generate)")
	if err := parse(fs, splitJ(args)); err != nil {
		return err
	}
	if *out == "" {
		return usagef("publish needs -o DIR, the cache directory to publish into")
	}
	if fs.NArg() == 0 {
		return usagef("publish needs a package directory")
	}
	var key *cache.SecretKey
	if *keyFile != "" {
		k, err := cache.ReadSecretKey(absFrom(e.cwd, *keyFile))
		if err != nil {
			return err
		}
		key = k
	}
	eng, stop, err := openEngine(e, &bf, fs.Args())
	if err != nil {
		return err
	}
	defer stop()
	var dirs, targets []string
	for _, a := range fs.Args() {
		d, err := pkgDirArg(eng, e.cwd, a)
		if err != nil {
			return err
		}
		dirs = append(dirs, d)
		targets = append(targets, path.Join(d, pkgtree.TarballFile))
	}
	if err := eng.Build(ctx, targets, false); err != nil {
		return err
	}
	root := eng.Root()
	built, err := pkgtree.ReadWithClosures(root, dirs)
	if err != nil {
		return err
	}
	hashOf := make(map[string]string, len(built))
	for _, b := range built {
		hashOf[b.Dir] = string(b.PkgHash)
	}
	entries := make([]cache.Entry, len(built))
	for i, b := range built {
		closure := make([]string, len(b.Closure))
		for j, m := range b.Closure {
			closure[j] = hashOf[m]
		}
		version := ""
		if p, err := pkgspec.Load(root, b.Dir); err == nil {
			version = p.Version()
		}
		entries[i] = cache.Entry{
			Name: path.Base(b.Dir), Version: version, PkgHash: string(b.PkgHash),
			Tarball: b.Tarball, Closure: closure,
		}
	}
	published, skipped, err := cache.Publish(ctx, absFrom(e.cwd, *out), entries, key)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "published %d packages, %d already there, into %s\n", published, skipped, *out)
	return nil
}
