// Package pkgtree is the vocabulary of a package tree: the names of a
// package's files and of the targets hdo builds in it, what makes a
// directory a package, the lines of closure files, the hashes that name
// packages, and reading a built package back. It imports nothing of hdo's
// but the regfile helper; every other package that speaks of packages uses
// it.
package pkgtree

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/hdo-build/hdo/internal/regfile"
)

// A package's own files, relative to its directory.
const (
	BuildFile     = "build"      // the build script; it makes the dir a package
	SeedLockFile  = "seed.lock"  // a seed's pinned .debs; it makes the dir a seed package
	BuildDepsFile = "build-deps" // packages the build needs, one dir per line
	RunDepsFile   = "run-deps"   // packages the package needs at run time
	FetchFile     = "fetch"      // sources: NAME URL...
	SumsFile      = "sha256sums" // their sums, sha256sum format
	FilesDir      = "files"      // files copied into the build dir
	VersionFile   = "version"    // optional: the version hdo publish shows; informative, not hashed
)

// The targets hdo builds in a package directory.
const (
	PkgHashFile  = ".pkghash"    // the hash of the package's inputs and its deps' pkghashes
	ClosureFile  = ".closure"    // the run-time closure, one TarballLine per package
	BClosureFile = ".bclosure"   // the build closure, the same way
	TarballFile  = ".pkg.tar.gz" // the package
)

// Targets are the targets hdo builds in a package directory, in the order
// they are computed.
var Targets = []string{PkgHashFile, ClosureFile, BClosureFile, TarballFile}

// IsPackageDirAbs reports whether the directory dir holds a regular build
// or seed.lock file.
func IsPackageDirAbs(dir string) bool {
	for _, f := range []string{BuildFile, SeedLockFile} {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// IsPackageDir reports whether the root-relative dir is a package dir.
func IsPackageDir(root, dir string) bool {
	return IsPackageDirAbs(filepath.Join(root, filepath.FromSlash(dir)))
}

// TarballLine is how a closure names a package: its tarball's path
// relative to the tree root, e.g. ./pkg/zlib/.pkg.tar.gz.
func TarballLine(dir string) string { return "./" + path.Join(dir, TarballFile) }

// ParseTarballLine returns the package dir a closure line names. The dir
// must be a clean path inside the tree: a closure edited by hand must not
// put a tarball from outside the tree into a build.
func ParseTarballLine(line string) (string, error) {
	d, ok := strings.CutSuffix(strings.TrimPrefix(line, "./"), "/"+TarballFile)
	if !ok || d == "" || path.IsAbs(d) || path.Clean(d) != d || d == ".." || strings.HasPrefix(d, "../") {
		return "", fmt.Errorf("closure line %q does not name a package tarball in the tree (./DIR/%s)", line, TarballFile)
	}
	return d, nil
}

// ParseClosure returns the package dirs of a closure file's content.
func ParseClosure(b []byte) ([]string, error) {
	var dirs []string
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" {
			continue
		}
		d, err := ParseTarballLine(line)
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

// A PkgHash names a package by its inputs (the content of .pkghash): 64
// lowercase hex digits, the name of its store entry and cache files.
type PkgHash string

// A ContentHash names a package by its content: the blake3 of its
// uncompressed tarball, 64 lowercase hex digits.
type ContentHash string

// IsHex64 reports whether s is 64 lowercase hex digits, the form of every
// hash hdo names files by (pkghashes, content hashes, sha256 sums, seed
// keys). Such a name can never reach outside the directory it is in.
func IsHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ParsePkgHash returns s as a PkgHash, or an error if it is not one.
func ParsePkgHash(s string) (PkgHash, error) {
	if !IsHex64(s) {
		return "", fmt.Errorf("%q is not a pkghash (64 lowercase hex digits)", clip(s))
	}
	return PkgHash(s), nil
}

// ParseContentHash returns s as a ContentHash, or an error if it is not one.
func ParseContentHash(s string) (ContentHash, error) {
	if !IsHex64(s) {
		return "", fmt.Errorf("%q is not a content hash (64 lowercase hex digits)", clip(s))
	}
	return ContentHash(s), nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// Built is a package as its targets say it was built.
type Built struct {
	Dir     string   // root-relative package dir, e.g. pkg/make
	PkgHash PkgHash  // from .pkghash
	Tarball string   // absolute path of its .pkg.tar.gz
	Closure []string // package dirs of its run-time closure (its run-deps and theirs), from .closure
}

// MaxTargetSize bounds what ReadBuilt reads of a target; a tree's
// .closure may also be a FIFO or a link to /dev/zero (see regfile).
const MaxTargetSize = 4 << 20

// ReadBuilt reads back the package at the root-relative dir from its
// .pkghash and .closure, which must exist and be well formed; the tarball
// is named, not opened.
func ReadBuilt(root, dir string) (Built, error) {
	abs := filepath.Join(root, filepath.FromSlash(dir))
	b := Built{Dir: dir, Tarball: filepath.Join(abs, TarballFile)}
	h, err := regfile.ReadFile(filepath.Join(abs, PkgHashFile), MaxTargetSize)
	if err != nil {
		return Built{}, err
	}
	if b.PkgHash, err = ParsePkgHash(string(bytes.TrimSpace(h))); err != nil {
		return Built{}, fmt.Errorf("%s: %w", path.Join(dir, PkgHashFile), err)
	}
	cl, err := regfile.ReadFile(filepath.Join(abs, ClosureFile), MaxTargetSize)
	if err != nil {
		return Built{}, err
	}
	if b.Closure, err = ParseClosure(cl); err != nil {
		return Built{}, fmt.Errorf("%s: %w", path.Join(dir, ClosureFile), err)
	}
	return b, nil
}

// ReadWithClosures reads back the packages at the root-relative dirs and
// every member of their run-time closures, each once, in order: the
// packages asked for, then the closure members. Closures are transitive,
// so the closures of the packages asked for hold every member.
func ReadWithClosures(root string, dirs []string) ([]Built, error) {
	seen := map[string]bool{}
	var out []Built
	add := func(d string) error {
		if seen[d] {
			return nil
		}
		seen[d] = true
		b, err := ReadBuilt(root, d)
		if err != nil {
			return err
		}
		out = append(out, b)
		return nil
	}
	for _, d := range dirs {
		if err := add(d); err != nil {
			return nil, err
		}
	}
	asked := out[:len(out):len(out)]
	for _, b := range asked {
		for _, m := range b.Closure {
			if err := add(m); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
