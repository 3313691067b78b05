package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// newFiles is the scaffold hdo new writes.
var newFiles = []struct {
	name string
	mode os.FileMode
	text string
}{
	{"build", 0o755, `#!/bin/sh
# Runs in the build sandbox: the current directory (/home/build) holds the
# files named in fetch and the contents of files/; install into $DESTDIR.
# Only the packages in build-deps (and their run-deps) are visible.
set -eu

# tar -xf NAME-VERSION.tar.gz
# cd NAME-VERSION
# ./configure --prefix=/usr
# make
# make install DESTDIR="$DESTDIR"
mkdir -p "$DESTDIR"
`},
	{"build-deps", 0o644, ""},
	{"run-deps", 0o644, ""},
	{"fetch", 0o644, `# Sources, in curl config syntax: one url per file, with the name to save
# it as. Every file needs its sha256 in sha256sums.
#
# url = "https://ftp.example.org/pub/name/name-1.0.tar.gz"
# output = "name-1.0.tar.gz"
#
# Debian's archive, through the mirror in your apt sources (or
# HDO_MIRROR_DEBIAN):
# url = "mirror://debian/pool/main/n/name/name_1.0.orig.tar.gz"
# -O
`},
	{"sha256sums", 0o644, ""},
}

func newVerb(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "new")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("new needs one package directory")
	}
	dir := absFrom(e.cwd, fs.Arg(0))
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("%s already exists and is not empty; hdo new only creates new packages", fs.Arg(0))
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range newFiles {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.text), f.mode); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "created %s: edit build and fetch, list dependencies in build-deps and run-deps, then hdo %s\n",
		fs.Arg(0), filepath.Join(fs.Arg(0), ".pkg.tar.gz"))
	return nil
}
