package main

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/hdo-build/hdo/internal/cache"
	"github.com/hdo-build/hdo/internal/pkgspec"
	"github.com/hdo-build/hdo/internal/pkgtree"
)

func init() {
	register("publish", verb{
		usage: "publish -o DIR [--key FILE] [-j N] PKGDIR...",
		help:  "build (or fetch) packages and their closures and copy them into a static binary cache",
		run:   publishVerb,
	})
}

func publishVerb(ctx context.Context, e *env, args []string) error {
	var bf buildFlags
	fs := bf.register(e, "publish")
	out := fs.String("o", "", "the cache `DIR` to publish into (created if needed)")
	keyFile := fs.String("key", "", "sign the entries with the secret key in `FILE` (from hdo key generate)")
	if err := parse(fs, splitJ(args)); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		return usagef("usage: hdo publish -o DIR [--key FILE] [-j N] PKGDIR...")
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
		d, err := eng.Rel(e.cwd, a)
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
	// Each package, then each member of its closure, once.
	seen := map[string]bool{}
	var entries []cache.Entry
	var add func(d string) error
	add = func(d string) error {
		if seen[d] {
			return nil
		}
		seen[d] = true
		b, err := pkgtree.ReadBuilt(root, d)
		if err != nil {
			return err
		}
		members := b.Closure
		var closure []string
		for _, m := range members {
			mb, err := pkgtree.ReadBuilt(root, m)
			if err != nil {
				return err
			}
			closure = append(closure, string(mb.PkgHash))
		}
		version := ""
		if p, err := pkgspec.Load(root, d); err == nil {
			version = guessVersion(path.Base(d), p)
		}
		entries = append(entries, cache.Entry{
			Name: path.Base(d), Version: version, PkgHash: string(b.PkgHash),
			Tarball: b.Tarball, Closure: closure,
		})
		for _, m := range members {
			if err := add(m); err != nil {
				return err
			}
		}
		return nil
	}
	for _, d := range dirs {
		if err := add(d); err != nil {
			return err
		}
	}
	published, skipped, err := cache.Publish(ctx, absFrom(e.cwd, *out), entries, key)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "published %d packages, %d already there, into %s\n", published, skipped, *out)
	return nil
}

var versionRE = regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*`)

// guessVersion reads a package's version from its first source's name
// (make-4.4.1.tar.gz, make-dfsg_4.3.orig.tar.gz), for the cache's index;
// "" if it has none.
func guessVersion(name string, p *pkgspec.Package) string {
	for _, s := range p.Sources {
		n := s.Name
		if i := strings.LastIndexAny(n, "-_"); i >= 0 {
			n = n[i+1:]
		}
		for _, suf := range []string{".tar.gz", ".tar.xz", ".tar.bz2", ".tar.zst", ".tgz", ".zip", ".orig", ".tar"} {
			n = strings.TrimSuffix(n, suf)
		}
		n = strings.TrimSuffix(n, ".orig")
		if v := versionRE.FindString(n); v != "" {
			return strings.TrimRight(v, ".")
		}
	}
	return ""
}
