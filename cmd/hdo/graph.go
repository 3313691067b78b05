package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"strings"

	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/internal/pkgspec"
	"github.com/hdo-build/hdo/internal/pkgtree"
)

func graphVerb(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "graph")
	svg := fs.String("svg", "", "render the graph to `FILE` with Graphviz's dot")
	all := fs.Bool("all", false, "show every recorded dependency: a package's own files and files that must not exist")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 && *svg != "" {
		return usagef("graph needs a target; --svg takes the FILE to write, so it took %s (hdo graph --svg graph.svg %s)", *svg, *svg)
	}
	if fs.NArg() == 0 {
		return usagef("graph needs a target")
	}
	eng, err := openQuery(e, fs.Args())
	if err != nil {
		return err
	}
	defer eng.Close()
	var rels []string
	for _, a := range fs.Args() {
		rel, err := eng.Rel(e.cwd, a)
		if err != nil {
			return err
		}
		rels = append(rels, rel)
	}
	var dot bytes.Buffer
	style := graphStyle(eng.Root())
	if *all {
		style.Skip, style.IfCreate = nil, true
	}
	if err := eng.Graph(&dot, rels, style); err != nil {
		return err
	}
	if *svg == "" {
		_, err := e.stdout.Write(dot.Bytes())
		return err
	}
	dotBin, err := exec.LookPath("dot")
	if err != nil {
		return errors.New("hdo graph --svg needs Graphviz's dot, which is not on PATH (Debian: apt-get install graphviz); without --svg hdo prints the DOT text")
	}
	cmd := exec.CommandContext(ctx, dotBin, "-Tsvg", "-o", absFrom(e.cwd, *svg))
	cmd.Stdin = &dot
	cmd.Stderr = e.stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("dot: %w", err)
	}
	return nil
}

// graphStyle labels package targets by package name and draws a
// package's run-deps solid and its build-deps dashed blue.
func graphStyle(root string) engine.GraphStyle {
	deps := map[string]*pkgspec.Package{}
	pkgOf := func(dir string) *pkgspec.Package {
		if p, ok := deps[dir]; ok {
			return p
		}
		p, _ := pkgspec.Load(root, dir)
		deps[dir] = p
		return p
	}
	isPkgTarget := func(p string) (dir, name string, ok bool) {
		dir, name = path.Split(p)
		switch name {
		case pkgtree.PkgHashFile, pkgtree.ClosureFile, pkgtree.BClosureFile, pkgtree.TarballFile:
			dir = strings.TrimSuffix(dir, "/")
			return dir, name, dir != "" && pkgtree.IsPackageDir(root, dir)
		}
		return "", "", false
	}
	return engine.GraphStyle{
		Node: func(p string) (string, string) {
			dir, name, ok := isPkgTarget(p)
			if !ok {
				return "", ""
			}
			if name == pkgtree.TarballFile {
				return path.Base(dir), "shape=box, style=filled, fillcolor=lightyellow"
			}
			return path.Base(dir) + " " + name, "shape=box"
		},
		// A package target's own input files are implied by the package.
		Skip: func(from, to string) bool {
			fdir, _, ok := isPkgTarget(from)
			if !ok {
				return false
			}
			_, _, toPkg := isPkgTarget(to)
			return !toPkg && strings.HasPrefix(to, fdir+"/")
		},
		Edge: func(from, to string) string {
			fdir, _, ok1 := isPkgTarget(from)
			tdir, _, ok2 := isPkgTarget(to)
			if !ok1 || !ok2 || fdir == tdir {
				return ""
			}
			p := pkgOf(fdir)
			if p == nil {
				return ""
			}
			for _, d := range p.RunDeps {
				if d == tdir {
					return `label="run", penwidth=2`
				}
			}
			for _, d := range p.BuildDeps {
				if d == tdir {
					return `label="build", style=dashed, color=blue`
				}
			}
			return ""
		},
	}
}
