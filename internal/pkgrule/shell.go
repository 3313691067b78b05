package pkgrule

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/hdo-build/hdo/internal/gcroots"
	"github.com/hdo-build/hdo/internal/pkgspec"
	"github.com/hdo-build/hdo/internal/pkgtree"
	"github.com/hdo-build/hdo/internal/rmtree"
	"github.com/hdo-build/hdo/sandbox"
)

// Shell runs an interactive shell in exactly the sandbox a build of the
// package in dir gets: its build closure as the root, its sources and
// files/ in /home/build, the build environment, the build script at
// /.hdo/build. The package's .pkghash, .bclosure and the tarballs of its
// build closure must be up to date (the caller builds them). The work dir
// is removed when the shell exits, unless keep; then Shell returns it.
func Shell(ctx context.Context, cfg Config, dir string, keep bool, stdin io.Reader, stdout, stderr io.Writer, makeflags string, files []*os.File) (string, error) {
	p, err := pkgspec.Load(cfg.Root, dir)
	if err != nil {
		return "", err
	}
	if p.Seed {
		return "", fmt.Errorf("%s is a seed package: it has no build to enter", dir)
	}
	// Like a build, an open shell holds gc off its store entries and its
	// work dir until it exits.
	release, err := gcroots.Hold(ctx, cfg.CacheDir, cfg.Root, cfg.logf)
	if err != nil {
		return "", err
	}
	defer release()
	pkghash, buildDirs, buildHashes, err := readBuildClosure(cfg.Root, dir)
	if err != nil {
		return "", err
	}
	t := &tarball{cfg: cfg}
	ws, err := t.prepare(ctx, cfg.Root, p, pkghash, buildDirs, buildHashes, nil, io.Discard)
	if err != nil {
		return "", err
	}
	sc := ws.sandboxConfig(makeflags, files, 0)
	sc.Args = []string{"/bin/sh"}
	sc.Env = append(sc.Env, "PS1=hdo shell "+dir+" $ ", "TERM=dumb")
	sc.Stdin, sc.Stdout, sc.Stderr = stdin, stdout, stderr
	if f, ok := stdin.(*os.File); ok && isTTY(f) {
		sc.Interactive = true
	}
	err = sandbox.Run(ctx, sc)
	if !keep {
		// Before gc may run again (release, above).
		rmtree.Remove(ws.dir)
		return "", err
	}
	sanitizeTree(ws.dir)
	return ws.dir, err
}

// BuildClosureTargets lists what Shell needs built first: the package's
// .pkghash and .bclosure, then (after those) the tarballs of the closure.
func BuildClosureTargets(root, dir string) ([]string, error) {
	b, err := os.ReadFile(path.Join(root, dir, pkgtree.BClosureFile))
	if err != nil {
		return nil, err
	}
	dirs, err := pkgtree.ParseClosure(b)
	if err != nil {
		return nil, err
	}
	return tarballs(dirs), nil
}

// readBuildClosure reads a package's pkghash and its build closure's dirs
// and pkghashes from their (up to date) targets.
func readBuildClosure(root, dir string) (pkghash string, dirs, hashes []string, err error) {
	read := func(p string) (string, error) {
		b, err := os.ReadFile(path.Join(root, p))
		return strings.TrimSpace(string(b)), err
	}
	if pkghash, err = read(path.Join(dir, pkgtree.PkgHashFile)); err != nil {
		return "", nil, nil, err
	}
	bcl, err := read(path.Join(dir, pkgtree.BClosureFile))
	if err != nil {
		return "", nil, nil, err
	}
	if dirs, err = pkgtree.ParseClosure([]byte(bcl)); err != nil {
		return "", nil, nil, err
	}
	for _, d := range dirs {
		h, err := read(path.Join(d, pkgtree.PkgHashFile))
		if err != nil {
			return "", nil, nil, err
		}
		hashes = append(hashes, h)
	}
	return pkghash, dirs, hashes, nil
}
