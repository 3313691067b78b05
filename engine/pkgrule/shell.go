package pkgrule

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/hdo-build/hdo/engine/pkgspec"
	"github.com/hdo-build/hdo/sandbox"
)

// Shell runs an interactive shell in exactly the sandbox a build of the
// package in dir gets: its build closure as the root, its sources and
// files/ in /home/build, the build environment, the build script at
// /.hdo/build. The package's .pkghash, .bclosure and the tarballs of its
// build closure must be up to date (the caller builds them). It returns
// the work dir, which it keeps.
func Shell(ctx context.Context, cfg Config, dir string, stdin io.Reader, stdout, stderr io.Writer, makeflags string, files []*os.File) (string, error) {
	p, err := pkgspec.Load(cfg.Root, dir)
	if err != nil {
		return "", err
	}
	if p.Seed {
		return "", fmt.Errorf("%s is a seed package: it has no build to enter", dir)
	}
	read := func(name string) (string, error) {
		b, err := os.ReadFile(path.Join(cfg.Root, dir, name))
		return string(b), err
	}
	pkghash, err := read(PkgHash)
	if err != nil {
		return "", err
	}
	bcl, err := read(BClosure)
	if err != nil {
		return "", err
	}
	buildDirs, err := closureDirs([]byte(bcl))
	if err != nil {
		return "", err
	}
	var buildHashes []string
	for _, d := range buildDirs {
		b, err := os.ReadFile(path.Join(cfg.Root, d, PkgHash))
		if err != nil {
			return "", err
		}
		buildHashes = append(buildHashes, strings.TrimSpace(string(b)))
	}
	t := &tarball{cfg: cfg}
	ws, err := t.prepare(ctx, cfg.Root, p, strings.TrimSpace(pkghash), buildDirs, buildHashes)
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
	return ws.dir, sandbox.Run(ctx, sc)
}

// BuildClosureTargets lists what Shell needs built first: the package's
// .pkghash and .bclosure, then (after those) the tarballs of the closure.
func BuildClosureTargets(root, dir string) ([]string, error) {
	b, err := os.ReadFile(path.Join(root, dir, BClosure))
	if err != nil {
		return nil, err
	}
	dirs, err := closureDirs(b)
	if err != nil {
		return nil, err
	}
	return tarballs(dirs), nil
}
