package pkgrule

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/hdo-build/hdo/bootstrap"
	"github.com/hdo-build/hdo/internal/cachedir"
	"github.com/hdo-build/hdo/internal/pkgspec"
	"github.com/hdo-build/hdo/internal/pkgtree"
	"github.com/hdo-build/hdo/internal/rmtree"
	"github.com/hdo-build/hdo/sandbox"
)

// Rebuild builds the package in dir once more, from scratch and never
// from a binary cache, and writes its tarball to out: for hdo check, which
// compares it with the package's tarball. The package's .pkghash and
// .bclosure and its build closure's tarballs must be up to date. A seed is
// rebuilt from its lock into a fresh seed cache.
func Rebuild(ctx context.Context, cfg Config, dir, out string, log io.Writer, makeflags string, files []*os.File) error {
	p, err := pkgspec.Load(cfg.Root, dir)
	if err != nil {
		return err
	}
	t := &tarball{cfg: cfg}
	if p.Seed {
		lock, err := bootstrap.ParseLock(path.Join(p.Dir, pkgtree.SeedLockFile), p.SeedLock)
		if err != nil {
			return err
		}
		checks := cachedir.Dir(cfg.CacheDir).Checks()
		if err := os.MkdirAll(checks, 0o755); err != nil {
			return err
		}
		tmp, err := os.MkdirTemp(checks, "seed-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		opts := t.seedOptions(log)
		opts.CacheDir = tmp
		tgz, _, err := bootstrap.Build(ctx, lock, opts)
		if err != nil {
			return err
		}
		return copyFile(tgz, out, 0o644)
	}
	pkghash, buildDirs, buildHashes, err := readBuildClosure(cfg.Root, dir)
	if err != nil {
		return err
	}
	ws, err := t.prepare(ctx, cfg.Root, p, pkghash, buildDirs, buildHashes, nil, log)
	if err != nil {
		return err
	}
	sc := ws.sandboxConfig(makeflags, files, cfg.Timeout)
	sc.Stdout, sc.Stderr = log, log
	if err := sandbox.Run(ctx, sc); err != nil {
		if ctx.Err() != nil {
			rmtree.Remove(ws.dir)
			return ctx.Err()
		}
		sanitizeTree(ws.dir)
		return fmt.Errorf("%s: rebuild failed: %w; %s", dir, err, t.keptNote(ws.dir))
	}
	if _, err := writeTarball(ctx, out, ws.dest); err != nil {
		rmtree.Remove(ws.dir)
		return err
	}
	return rmtree.Remove(ws.dir)
}
