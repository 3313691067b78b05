package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/hdo-build/hdo/internal/pkgrule"
	"github.com/hdo-build/hdo/internal/pkgspec"
	"github.com/hdo-build/hdo/internal/pkgtree"
)

func hashInputsVerb(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "hash-inputs")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("hash-inputs needs one package directory")
	}
	bf := buildFlags{quiet: true, style: "pipe"}
	eng, stop, err := openEngine(e, &bf, fs.Args())
	if err != nil {
		return err
	}
	defer stop()
	dir, err := pkgDirArg(eng, e.cwd, fs.Arg(0))
	if err != nil {
		return err
	}
	// Bring the package's and its dependencies' pkghashes up to date.
	if err := eng.Build(ctx, []string{path.Join(dir, pkgtree.PkgHashFile)}, false); err != nil {
		return err
	}
	root := eng.Root()
	p, err := pkgspec.Load(root, dir)
	if err != nil {
		return err
	}
	files, err := pkgspec.ListFiles(root, dir)
	if err != nil {
		return err
	}
	sum, inputs, err := pkgrule.Hash(root, p, files, func(d string) (string, error) {
		b, err := os.ReadFile(eng.Abs(path.Join(d, pkgtree.PkgHashFile)))
		return strings.TrimSpace(string(b)), err
	})
	if err != nil {
		return err
	}
	_, flines, err := pkgrule.FilesHash(root, files)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "# the lines hashed (blake3-256) for %s, each followed by a newline:\n", dir)
	for _, in := range inputs {
		if in.Note != "" {
			fmt.Fprintf(e.stdout, "%-80s # %s\n", in.Line, in.Note)
		} else {
			fmt.Fprintln(e.stdout, in.Line)
		}
		if strings.HasPrefix(in.Line, "files ") {
			for _, l := range flines {
				fmt.Fprintf(e.stdout, "#   %s\n", l)
			}
		}
	}
	fmt.Fprintf(e.stdout, "pkghash %s\n", sum)
	return nil
}
