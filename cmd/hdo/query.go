package main

import (
	"context"
	"fmt"
	"os"

	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/internal/pkgrule"
)

// openQuery opens the engine of the tree around e.cwd (or the paths, see
// treeRoot) for queries.
func openQuery(e *env, paths []string) (*engine.Engine, error) {
	root, err := treeRoot(e, paths)
	if err != nil {
		return nil, err
	}
	return engine.New(engine.Config{Root: root, ReadOnly: true, Stderr: e.stderr, Builtins: builtins(pkgrule.Config{Root: root}), Suggest: pkgrule.Suggest(root)})
}

func oneTarget(e *env, name string, args []string) (*engine.Engine, string, error) {
	fs := newFlags(e, name)
	if err := parse(fs, args); err != nil {
		return nil, "", err
	}
	if fs.NArg() != 1 {
		return nil, "", usagef("%s needs exactly one target", name)
	}
	eng, err := openQuery(e, fs.Args())
	if err != nil {
		return nil, "", err
	}
	rel, err := eng.Rel(e.cwd, fs.Arg(0))
	if err != nil {
		eng.Close()
		return nil, "", err
	}
	return eng, rel, nil
}

func logVerb(ctx context.Context, e *env, args []string) error {
	eng, rel, err := oneTarget(e, "log", args)
	if err != nil {
		return err
	}
	defer eng.Close()
	b, err := eng.Log(rel)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(b)
	return err
}

func listVerb(kind string) func(context.Context, *env, []string) error {
	return func(ctx context.Context, e *env, args []string) error {
		fs := newFlags(e, kind)
		if err := parse(fs, args); err != nil {
			return err
		}
		eng, err := openQuery(e, nil)
		if err != nil {
			return err
		}
		defer eng.Close()
		var list []string
		switch kind {
		case "ood":
			if list, err = eng.OOD(); err != nil {
				return err
			}
		case "targets":
			list = eng.Targets()
		case "sources":
			list = eng.Sources()
		}
		for _, p := range list {
			fmt.Fprintln(e.stdout, eng.Display(e.cwd, p))
		}
		return nil
	}
}

func whichdoVerb(ctx context.Context, e *env, args []string) error {
	eng, rel, err := oneTarget(e, "whichdo", args)
	if err != nil {
		return err
	}
	defer eng.Close()
	tried, found, err := eng.Whichdo(rel)
	if err != nil {
		return err
	}
	for _, t := range tried {
		fmt.Fprintln(e.stdout, eng.Display(e.cwd, t))
	}
	if found == "" {
		return &exitError{1}
	}
	return nil
}

func whyVerb(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "why")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("why needs a target")
	}
	eng, err := openQuery(e, fs.Args())
	if err != nil {
		return err
	}
	defer eng.Close()
	for _, a := range fs.Args() {
		rel, err := eng.Rel(e.cwd, a)
		if err != nil {
			return err
		}
		r, err := eng.Why(rel)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: %s\n", a, r)
	}
	return nil
}

func installLinksVerb(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "install-links")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("install-links needs a directory")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return engine.InstallLinks(fs.Arg(0), exe)
}
