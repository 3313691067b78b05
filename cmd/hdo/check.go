package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/hdo-build/hdo/internal/archive"
	"github.com/hdo-build/hdo/internal/cachedir"
	"github.com/hdo-build/hdo/internal/gcroots"
	"github.com/hdo-build/hdo/internal/pkgrule"
	"github.com/hdo-build/hdo/internal/pkgtree"
)

func checkVerb(ctx context.Context, e *env, args []string) error {
	var bf buildFlags
	fs := bf.register(e, "check")
	if err := parse(fs, splitJ(args)); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("check needs a package directory")
	}
	eng, stop, err := openEngine(e, &bf, fs.Args())
	if err != nil {
		return err
	}
	defer stop()
	pcfg, err := pkgConfig(e, eng.Root(), false, newPlainStatusFor(e))
	if err != nil {
		return err
	}
	// What the rebuilds use, and their dirs, are not hdo gc's to remove
	// while they run.
	release, err := gcroots.Hold(ctx, pcfg.CacheDir, eng.Root(), func(format string, args ...any) {
		fmt.Fprintf(e.stderr, "hdo: "+format+"\n", args...)
	})
	if err != nil {
		return err
	}
	defer release()
	failed := 0
	for _, a := range fs.Args() {
		dir, err := pkgDirArg(eng, e.cwd, a)
		if err != nil {
			return err
		}
		// The package (built, or from a cache) and what rebuilding it needs.
		if err := buildClosure(ctx, eng, dir, path.Join(dir, pkgtree.TarballFile)); err != nil {
			return err
		}
		have := eng.Abs(path.Join(dir, pkgtree.TarballFile))
		checks := cachedir.Dir(pcfg.CacheDir).Checks()
		if err := os.MkdirAll(checks, 0o755); err != nil {
			return err
		}
		tmp, err := os.MkdirTemp(checks, path.Base(dir)+"-")
		if err != nil {
			return err
		}
		again := filepath.Join(tmp, "pkg.tar.gz")
		log, err := os.Create(filepath.Join(tmp, "log"))
		if err != nil {
			return err
		}
		jobs, err := eng.Jobserver().NewPrivate()
		if err != nil {
			return err
		}
		files, makeflags := jobs.Files(3)
		err = pkgrule.Rebuild(ctx, pcfg, dir, again, log, makeflags, files)
		jobs.Close()
		log.Close()
		if err != nil {
			return fmt.Errorf("%s: %w (log: %s)", dir, err, filepath.Join(tmp, "log"))
		}
		want, err := archive.ContentHashFile(have)
		if err != nil {
			return err
		}
		got, err := archive.ContentHashFile(again)
		if err != nil {
			return err
		}
		if got == want {
			fmt.Fprintf(e.stdout, "%s: reproducible (content %s)\n", dir, got)
			os.RemoveAll(tmp)
			continue
		}
		failed++
		fmt.Fprintf(e.stdout, "%s: NOT reproducible: content %s, rebuilt %s; the rebuild is kept at %s\n", dir, want, got, again)
		diff, err := archive.Diff(have, again)
		if err != nil {
			return err
		}
		for _, line := range diff {
			fmt.Fprintf(e.stdout, "\t%s\n", line)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d packages did not rebuild to the same content", failed, fs.NArg())
	}
	return nil
}
