package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/internal/gcroots"
	"github.com/hdo-build/hdo/internal/hostroot"
	"github.com/hdo-build/hdo/internal/pkgtree"
	"github.com/hdo-build/hdo/internal/venv"
)

// venvRunName is the name hdo answers to as a venv's bin/venv-run.
const venvRunName = "venv-run"

func venvVerb(ctx context.Context, e *env, args []string) error {
	var bf buildFlags
	fs := bf.register(e, "venv")
	out := fs.String("o", "", "the venv `DIR` to make (replaced if it is a venv already)")
	if err := parse(fs, splitJ(args)); err != nil {
		return err
	}
	if *out == "" {
		return usagef("venv needs -o DIR, the venv to make")
	}
	if fs.NArg() == 0 {
		return usagef("venv needs a package directory")
	}
	dir := absFrom(e.cwd, *out)
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("venv: cannot find the hdo binary to copy as %s: %w", venv.RunPath, err)
	}
	eng, stop, err := openEngine(e, &bf, fs.Args())
	if err != nil {
		return err
	}
	defer stop()
	pkgs, err := buildPackages(ctx, e, eng, fs.Args())
	if err != nil {
		return err
	}
	if err := venv.Create(ctx, dir, venv.Info{Tree: eng.Root(), Packages: pkgs}, exe); err != nil {
		return err
	}
	registerRoots(e, eng.Root(), dir)
	names := make([]string, len(pkgs))
	for i, p := range pkgs {
		names[i] = p.Name
	}
	fmt.Fprintf(e.stdout, "venv %s: %d packages (%s); run commands in it with %s CMD\n",
		*out, len(pkgs), strings.Join(names, " "), filepath.Join(*out, venv.RunPath))
	return nil
}

// buildPackages brings the tarballs of the package dirs (command-line
// paths) up to date and returns the packages with their run-time
// closures, each once, in order: the packages asked for, then the closure
// members.
func buildPackages(ctx context.Context, e *env, eng *engine.Engine, args []string) ([]venv.Package, error) {
	var dirs, targets []string
	for _, a := range args {
		d, err := pkgDirArg(eng, e.cwd, a)
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, d)
		targets = append(targets, path.Join(d, pkgtree.TarballFile))
	}
	if err := eng.Build(ctx, targets, false); err != nil {
		return nil, err
	}
	built, err := pkgtree.ReadWithClosures(eng.Root(), dirs)
	if err != nil {
		return nil, err
	}
	out := make([]venv.Package, len(built))
	for i, b := range built {
		out[i] = venv.Package{Name: b.Dir, PkgHash: string(b.PkgHash), Tarball: b.Tarball}
	}
	return out, nil
}

// registerRoots records the tree (and a venv, if not "") as gc roots; a
// failure is only a warning.
func registerRoots(e *env, tree, venvDir string) {
	cache := cacheDir(e)
	if err := gcroots.Register(cache, gcroots.Tree, tree); err != nil {
		fmt.Fprintf(e.stderr, "hdo: warning: %v (hdo gc may remove what %s needs)\n", err, tree)
	}
	if venvDir == "" {
		return
	}
	if err := gcroots.Register(cache, gcroots.Venv, venvDir); err != nil {
		fmt.Fprintf(e.stderr, "hdo: warning: %v (hdo gc may remove what %s needs)\n", err, venvDir)
	}
}

// venvRunCommand is hdo run as a venv's bin/venv-run: it runs CMD ARGS...
// with the venv's top-level directories in place of the host's, from the
// same working directory and with the same environment, and exits with
// CMD's status.
func venvRunCommand(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return usagef("usage: venv-run CMD [ARGS...]: runs CMD with this venv's bin, lib, usr, ... in place of the host's")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dir := filepath.Dir(filepath.Dir(exe))
	if !venv.IsVenv(dir) {
		return fmt.Errorf("%s is not in a venv (no %s in %s): run the bin/venv-run of a directory hdo venv made", exe, venv.Marker, dir)
	}
	plan, err := venv.Plan(dir)
	if err != nil {
		return err
	}
	return runInRoot(ctx, e, plan, venvRunName, args)
}

// runInRoot runs args in the new root of plan as the caller's stdio,
// working directory, environment and inherited fds, and turns its exit
// status into ours.
func runInRoot(ctx context.Context, e *env, plan hostroot.Plan, name string, args []string) error {
	file := func(v any) *os.File {
		f, _ := v.(*os.File)
		return f
	}
	code, err := hostroot.Run(ctx, plan, hostroot.Command{
		Args:       args,
		Env:        e.environ,
		Dir:        e.cwd,
		Name:       name,
		Stdin:      file(e.stdin),
		Stdout:     file(e.stdout),
		Stderr:     file(e.stderr),
		ExtraFiles: hostroot.InheritedFiles(),
	})
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitError{code}
	}
	return nil
}
