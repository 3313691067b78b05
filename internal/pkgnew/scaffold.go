// Package pkgnew writes the files of a new package dir, as hdo new does:
// a skeleton to fill in, or, given its sources, a package whose fetch,
// sha256sums, deps and build script fit what the sources' tarball holds.
package pkgnew

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/hdo-build/hdo/internal/pkgspec"
)

// File is one file of a new package dir.
type File struct {
	Name string // e.g. build
	Mode fs.FileMode
	Text string
}

// Source is a file the new package fetches.
type Source struct {
	URL    string // as written in fetch, e.g. mirror://debian/pool/main/h/hello/hello_2.10.orig.tar.gz
	Name   string // the file name it is saved as, e.g. hello_2.10.orig.tar.gz
	SHA256 string
}

// Options describe the package to write.
type Options struct {
	Sources []Source
	// Layout is what Probe found in the tarball named Archive, one of
	// Sources; nil when no source was probed.
	Layout  *Layout
	Archive string
	// HasPackage reports whether the tree has the package dir ../NAME
	// beside the new one, e.g. "seed", "make" or "libc"; nil: none.
	HasPackage func(name string) bool
	// SeedHas reports whether ../seed provides the tool, e.g. "make"
	// (a Debian seed's make): its package would conflict with the
	// seed's; nil: it has none.
	SeedHas func(tool string) bool
}

const buildHeader = `#!/bin/sh
# Runs in the build sandbox: the current directory (/home/build) holds the
# files named in fetch and the contents of files/; install into $DESTDIR.
# Only the packages in build-deps (and their run-deps) are visible.
set -eu
`

const skeletonBuild = buildHeader + `
# tar -xf NAME-VERSION.tar.gz
# cd NAME-VERSION
# ./configure --prefix=/usr
# make
# make install DESTDIR="$DESTDIR"
mkdir -p "$DESTDIR"
`

const skeletonFetch = `# Sources, in curl config syntax: one url per file, with the name to save
# it as. Every file needs its sha256 in sha256sums.
#
# url = "https://ftp.example.org/pub/name/name-1.0.tar.gz"
# output = "name-1.0.tar.gz"
#
# Debian's archive, through the mirror in your apt sources (or
# HDO_MIRROR_DEBIAN):
# url = "mirror://debian/pool/main/n/name/name_1.0.orig.tar.gz"
# -O
`

// Files returns the new package dir's files: with no sources the
// skeleton hdo new has always written; with sources, their fetch and
// sha256sums lines, a build script for the probed build system, build-deps
// naming ../seed (and ../make, ../meson, ../ninja or ../cmake when the
// build uses them, the seed lacks them and the tree has them) and run-deps
// naming ../libc when the sources hold C and the tree has ../libc.
func Files(o Options) []File {
	if len(o.Sources) == 0 {
		return []File{
			{"build", 0o755, skeletonBuild},
			{"build-deps", 0o644, ""},
			{"run-deps", 0o644, ""},
			{"fetch", 0o644, skeletonFetch},
			{"sha256sums", 0o644, ""},
		}
	}
	has := o.HasPackage
	if has == nil {
		has = func(string) bool { return false }
	}
	var fetch, sums strings.Builder
	for _, s := range o.Sources {
		fmt.Fprintf(&fetch, "url = %s\n", quote(s.URL))
		if path.Base(s.URL) == s.Name {
			fetch.WriteString("-O\n")
		} else {
			fmt.Fprintf(&fetch, "output = %s\n", quote(s.Name))
		}
		fmt.Fprintf(&sums, "%s  %s\n", s.SHA256, s.Name)
	}
	system := None
	if o.Layout != nil {
		system = o.Layout.System
	}
	var buildDeps, runDeps strings.Builder
	if has("seed") {
		buildDeps.WriteString("../seed\n")
	}
	seedHas := o.SeedHas
	if seedHas == nil {
		seedHas = func(string) bool { return false }
	}
	for _, tool := range tools[system] {
		switch {
		case has("seed") && seedHas(tool):
			// The seed's own: a package of it beside would conflict.
		case has(tool):
			fmt.Fprintf(&buildDeps, "../%s\n", tool)
		default:
			fmt.Fprintf(&buildDeps, "# ../%s (the build runs %s, which the tree has no package of; the seed may have it)\n", tool, tool)
		}
	}
	if o.Layout != nil && o.Layout.C {
		if has("libc") {
			runDeps.WriteString("../libc\n")
		} else {
			runDeps.WriteString("# ../libc (the sources are C: add the package of the C library)\n")
		}
	}
	return []File{
		{"build", 0o755, buildScript(o)},
		{"build-deps", 0o644, buildDeps.String()},
		{"run-deps", 0o644, runDeps.String()},
		{"fetch", 0o644, fetch.String()},
		{"sha256sums", 0o644, sums.String()},
	}
}

// tools are the packages a build system's script runs beyond the seed's
// shell and core tools.
var tools = map[System][]string{
	Autotools: {"make"},
	Make:      {"make"},
	Meson:     {"meson", "ninja"},
	CMake:     {"cmake", "make"},
}

// steps are the build commands of each system, run in the source tree.
var steps = map[System]string{
	Autotools: `./configure --prefix=/usr
make
make install DESTDIR="$DESTDIR"
`,
	Make: `make PREFIX=/usr
make install PREFIX=/usr DESTDIR="$DESTDIR"
`,
	Meson: `meson setup build --prefix=/usr
ninja -C build
DESTDIR="$DESTDIR" ninja -C build install
`,
	CMake: `cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/usr
cmake --build build
DESTDIR="$DESTDIR" cmake --install build
`,
}

func buildScript(o Options) string {
	var b strings.Builder
	b.WriteString(buildHeader)
	b.WriteString("\n")
	if o.Layout == nil {
		b.WriteString("# None of the sources is a tarball hdo new can read: unpack and build\n# them here.\nmkdir -p \"$DESTDIR\"\n")
		return b.String()
	}
	fmt.Fprintf(&b, "tar -xf %s\n", shellQuote(o.Archive))
	if o.Layout.TopDir != "" {
		fmt.Fprintf(&b, "cd %s\n", shellQuote(o.Layout.TopDir))
	}
	if s, ok := steps[o.Layout.System]; ok {
		b.WriteString(s)
	} else {
		fmt.Fprintf(&b, "# %s has no configure, meson.build, CMakeLists.txt or Makefile at its top:\n# build and install into \"$DESTDIR\" by hand.\nmkdir -p \"$DESTDIR\"\n", o.Archive)
	}
	return b.String()
}

// quote writes s as a double-quoted fetch value.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "\v", `\v`)
	return `"` + r.Replace(s) + `"`
}

// shellQuote quotes s for sh when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-/:=@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// SourceFor checks a URL given to hdo new --fetch as fetch would read it
// (scheme, file name) and returns the Source it is saved as, its sum not
// yet known.
func SourceFor(raw string) (Source, error) {
	items, err := pkgspec.ParseFetch("--fetch", []byte("url = "+quote(raw)+"\n-O\n"))
	if err != nil {
		var pe *pkgspec.Error
		if errors.As(err, &pe) {
			return Source{}, fmt.Errorf("--fetch %s: %s", raw, pe.Msg)
		}
		return Source{}, fmt.Errorf("--fetch %s: %w", raw, err)
	}
	return Source{URL: raw, Name: items[0].Output}, nil
}
