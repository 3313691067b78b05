package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path"
	"syscall"

	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/internal/pkgrule"
	"github.com/hdo-build/hdo/internal/pkgtree"
	"github.com/hdo-build/hdo/sandbox"
)

func shellVerb(ctx context.Context, e *env, args []string) error {
	var bf buildFlags
	fs := bf.register(e, "shell")
	keep := fs.Bool("keep", false, "keep the shell's work dir when it exits (hdo gc removes it)")
	if err := parse(fs, splitJ(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("shell needs one package directory")
	}
	bf.quiet = true
	eng, stop, err := openEngine(e, &bf, fs.Args())
	if err != nil {
		return err
	}
	defer stop()
	dir, err := pkgDirArg(eng, e.cwd, fs.Arg(0))
	if err != nil {
		return err
	}
	if err := buildClosure(ctx, eng, dir, path.Join(dir, pkgtree.PkgHashFile)); err != nil {
		return err
	}
	pcfg, err := pkgConfig(e, eng.Root(), bf.binaryOnly, newPlainStatusFor(e))
	if err != nil {
		return err
	}
	jobs, err := eng.Jobserver().NewPrivate()
	if err != nil {
		return err
	}
	defer jobs.Close()
	files, makeflags := jobs.Files(3)
	// The terminal's signals belong to the shell now.
	signal.Ignore(os.Interrupt, syscall.SIGQUIT, syscall.SIGTSTP)
	defer signal.Reset(syscall.SIGQUIT, syscall.SIGTSTP)
	work, err := pkgrule.Shell(ctx, pcfg, dir, *keep, e.stdin, e.stdout, e.stderr, makeflags, files)
	if work != "" {
		fmt.Fprintf(e.stderr, "hdo: the shell's work dir is kept at %s until hdo gc\n", work)
	}
	var ee *sandbox.ExitError
	if errors.As(err, &ee) {
		return &exitError{ee.Code}
	}
	return err
}

// buildClosure brings up to date what a sandbox for the package in dir
// needs (its .bclosure and the tarballs it lists) and the extra targets.
func buildClosure(ctx context.Context, eng *engine.Engine, dir string, extra ...string) error {
	if err := eng.Build(ctx, append(extra, path.Join(dir, pkgtree.BClosureFile)), false); err != nil {
		return err
	}
	deps, err := pkgrule.BuildClosureTargets(eng.Root(), dir)
	if err != nil {
		return err
	}
	return eng.Build(ctx, deps, false)
}
