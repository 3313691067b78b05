package pkgspec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/hdo-build/hdo/internal/nearest"
	"github.com/hdo-build/hdo/internal/pkgtree"
)

// Package is a package directory read and checked by Load.
type Package struct {
	Dir         string   // root-relative, slash-separated, as given (cleaned), e.g. pkg/make
	Build       []byte   // the build script; nil for a seed package
	Seed        bool     // the package has a seed.lock instead of a build file
	SeedLock    []byte   // the seed.lock bytes of a seed package
	BuildDeps   []string // root-relative package dirs with symlinks resolved, e.g. pkg/zlib
	RunDeps     []string // same form as BuildDeps
	Fetch       []FetchItem
	Sums        []Sum
	Sources     []Source // Fetch joined with Sums, in fetch order
	VersionText string   // the version file's one line, "" if there is none
	Inputs      []string // every file Load read, root-relative, e.g. pkg/make/build
	Missing     []string // optional files that were absent, root-relative, e.g. pkg/make/fetch
}

// Source is a file to fetch with its expected sum (fetch.Source has these
// fields and a size).
type Source struct {
	Name   string   // file name in the build dir, e.g. make-4.4.tar.gz
	SHA256 string   // 64 lowercase hex digits
	URLs   []string // tried in order, e.g. [https://ftp.example/gnu/make/make-4.4.tar.gz]
	// Origin and SumOrigin are the lines that declare it, for messages:
	// e.g. pkg/make/fetch:3 and pkg/make/sha256sums:1.
	Origin, SumOrigin string
}

// Load reads and checks the package in dir, a path relative to root (an
// absolute dir inside root is made relative). Every error names the file
// and line, relative to root, and says what is wrong.
//
// Each dependency must resolve, relative to the package dir and following
// symlinks the way the kernel does, to a directory inside root holding a
// build or seed.lock file, other than the package itself; it is returned as
// the root-relative path of that directory with symlinks resolved, so one
// package has one name. fetch and sha256sums must name the same files.
func Load(root, dir string) (*Package, error) {
	l, err := newLoader(root, dir)
	if err != nil {
		return nil, err
	}
	if err := l.load(); err != nil {
		return nil, err
	}
	return l.p, nil
}

// newLoader checks dir as Load does and returns a loader for it.
func newLoader(root, dir string) (*loader, error) {
	rel, err := relDir(root, dir)
	if err != nil {
		return nil, err
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("tree root: %w", err)
	}
	realRoot, err := filepath.EvalSymlinks(absRoot)
	if err != nil {
		return nil, fmt.Errorf("tree root: %w", err)
	}
	realDir, err := filepath.EvalSymlinks(filepath.Join(absRoot, filepath.FromSlash(rel)))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such package directory", rel)
		}
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	if _, ok := inside(realRoot, realDir); !ok {
		return nil, fmt.Errorf("%s: resolves to %s, outside the tree root %s", rel, realDir, realRoot)
	}
	return &loader{root: root, realRoot: realRoot, realDir: realDir, p: &Package{Dir: rel}}, nil
}

// Unsummed returns the items of dir's fetch file that sha256sums has no
// line for (all of them when there is no sha256sums), reading both files
// with Load's checks: what hdo fetch --print-sums downloads to learn
// their sums.
func Unsummed(root, dir string) ([]FetchItem, error) {
	l, err := newLoader(root, dir)
	if err != nil {
		return nil, err
	}
	fdata, _, err := l.read(pkgtree.FetchFile)
	if err != nil {
		return nil, err
	}
	sdata, _, err := l.read(pkgtree.SumsFile)
	if err != nil {
		return nil, err
	}
	items, err := ParseFetch(l.file(pkgtree.FetchFile), fdata)
	if err != nil {
		return nil, err
	}
	sums, err := ParseSums(l.file(pkgtree.SumsFile), sdata)
	if err != nil {
		return nil, err
	}
	have := make(map[string]bool, len(sums))
	for _, s := range sums {
		have[s.Name] = true
	}
	var out []FetchItem
	for _, it := range items {
		if !have[it.Output] {
			out = append(out, it)
		}
	}
	return out, nil
}

type loader struct {
	root     string
	realRoot string // root with symlinks resolved
	realDir  string // the package dir with symlinks resolved
	p        *Package
}

// file is the root-relative name of a package file.
func (l *loader) file(name string) string { return path.Join(l.p.Dir, name) }

// MaxFileSize bounds a package file (build, seed.lock, build-deps,
// run-deps, fetch, sha256sums). They are short texts; a bigger one is a
// mistake or a hostile tree, and an error rather than gigabytes read.
const MaxFileSize = 4 << 20

// read returns the contents of an optional package file, or nil and false
// if it does not exist, recording it in Inputs or Missing. The file must
// be a regular file in the tree (a symlink may point to one); a named pipe
// would block the read, a symlink out of the tree would put a host file's
// bytes into the build and its error messages.
func (l *loader) read(name string) ([]byte, bool, error) {
	f := l.file(name)
	p := filepath.Join(l.realDir, name)
	fi, err := os.Lstat(p)
	if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		var real string
		if real, err = filepath.EvalSymlinks(p); err == nil {
			if _, ok := inside(l.realRoot, real); !ok {
				return nil, false, errorf(f, 0, "is a symlink to %s, outside the tree root; a package's files must be in the tree", real)
			}
			p = real
			fi, err = os.Stat(p)
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		l.p.Missing = append(l.p.Missing, f)
		return nil, false, nil
	}
	var data []byte
	if err == nil {
		switch {
		case fi.IsDir():
			return nil, false, errorf(f, 0, "is a directory")
		case !fi.Mode().IsRegular():
			return nil, false, errorf(f, 0, "is not a regular file (%v); a package's files are plain files", fi.Mode().Type())
		case fi.Size() > MaxFileSize:
			return nil, false, errorf(f, 0, "is %d bytes, more than the %d a package file may have", fi.Size(), MaxFileSize)
		}
		data, err = readAtMost(p, MaxFileSize)
	}
	if err != nil {
		var perr *fs.PathError
		if errors.As(err, &perr) {
			err = perr.Err
		}
		return nil, false, errorf(f, 0, "%v", err)
	}
	l.p.Inputs = append(l.p.Inputs, f)
	return data, true, nil
}

// readAtMost reads the file at p, failing if it holds more than max bytes
// (it may have grown since it was stat'ed).
func readAtMost(p string, max int64) ([]byte, error) {
	file, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, max+1))
	if err == nil && int64(len(data)) > max {
		err = fmt.Errorf("more than the %d bytes a package file may have", max)
	}
	return data, err
}

func (l *loader) load() error {
	p := l.p
	build, hasBuild, err := l.read(pkgtree.BuildFile)
	if err != nil {
		return err
	}
	lock, hasLock, err := l.read(pkgtree.SeedLockFile)
	if err != nil {
		return err
	}
	if err := l.version(); err != nil {
		return err
	}
	switch {
	case hasBuild && hasLock:
		return errorf(p.Dir, 0, "has both build and seed.lock; a package has one of them")
	case !hasBuild && !hasLock:
		return errorf(p.Dir, 0, "not a package directory (no build or seed.lock file)")
	case hasLock:
		p.Seed, p.SeedLock = true, lock
		for _, name := range []string{pkgtree.BuildDepsFile, pkgtree.RunDepsFile, pkgtree.FetchFile, pkgtree.SumsFile} {
			_, ok, err := l.read(name)
			if err != nil {
				return err
			}
			if ok {
				return errorf(l.file(name), 0, "a seed package (with seed.lock) has no %s; remove the file", name)
			}
		}
		return nil
	}
	if build == nil {
		build = []byte{}
	}
	p.Build = build
	if p.BuildDeps, err = l.deps(pkgtree.BuildDepsFile); err != nil {
		return err
	}
	if p.RunDeps, err = l.deps(pkgtree.RunDepsFile); err != nil {
		return err
	}
	return l.sources()
}

// deps reads and resolves a build-deps or run-deps file.
func (l *loader) deps(name string) ([]string, error) {
	data, ok, err := l.read(name)
	if !ok || err != nil {
		return nil, err
	}
	f := l.file(name)
	deps, err := ParseDeps(f, data)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := make(map[string]Dep)
	for _, d := range deps {
		dir, err := l.resolve(f, d)
		if err != nil {
			return nil, err
		}
		if first, ok := seen[dir]; ok {
			return nil, errorf(f, d.Line, "%s is the same package as %s (line %d): %s", d.Path, first.Path, first.Line, dir)
		}
		seen[dir] = d
		out = append(out, dir)
	}
	return out, nil
}

// resolve turns a dependency into the root-relative path of a package dir.
func (l *loader) resolve(file string, d Dep) (string, error) {
	// realDir has no symlinks and d.Path is clean, so only leading ".."
	// elements can meet realDir, and removing them lexically is what the
	// kernel does too.
	target := filepath.Join(l.realDir, filepath.FromSlash(d.Path))
	if _, ok := inside(l.realRoot, target); !ok {
		return "", errorf(file, d.Line, "%s is outside the tree root", d.Path)
	}
	real, err := filepath.EvalSymlinks(target)
	if errors.Is(err, fs.ErrNotExist) {
		return "", errorf(file, d.Line, "%s is not a package directory (no build or seed.lock file)%s", d.Path, l.depHint(d))
	}
	if err != nil {
		return "", errorf(file, d.Line, "%s: %v", d.Path, err)
	}
	rel, ok := inside(l.realRoot, real)
	if !ok {
		return "", errorf(file, d.Line, "%s resolves to %s, outside the tree root", d.Path, real)
	}
	if real == l.realDir {
		return "", errorf(file, d.Line, "%s is the package itself", d.Path)
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", errorf(file, d.Line, "%s: %v", d.Path, err)
	}
	if !st.IsDir() {
		return "", errorf(file, d.Line, "%s is not a package directory (not a directory)", d.Path)
	}
	if !isFile(filepath.Join(real, pkgtree.BuildFile)) && !isFile(filepath.Join(real, pkgtree.SeedLockFile)) {
		return "", errorf(file, d.Line, "%s is not a package directory (no build or seed.lock file)%s", d.Path, l.depHint(d))
	}
	return rel, nil
}

// depHint says which package a dependency that names none probably
// meant: the package the path names from the tree root or from the pkg/
// dir (libc or pkg/libc for ../libc, as deps are relative to the package
// dir), or a sibling package spelt nearly so (../zlb for ../zlib).
func (l *loader) depHint(d Dep) string {
	isPkg := func(dir string) bool {
		return isFile(filepath.Join(dir, pkgtree.BuildFile)) || isFile(filepath.Join(dir, pkgtree.SeedLockFile))
	}
	relFromPkg := func(dir string) (string, bool) {
		r, err := filepath.Rel(l.realDir, dir)
		if err != nil || r == "." {
			return "", false
		}
		return filepath.ToSlash(r), true
	}
	parent := filepath.Dir(l.realDir)
	for _, base := range []string{l.realRoot, parent} {
		cand := filepath.Join(base, filepath.FromSlash(d.Path))
		if _, ok := inside(l.realRoot, cand); !ok || !isPkg(cand) {
			continue
		}
		if r, ok := relFromPkg(cand); ok {
			return fmt.Sprintf("; deps are relative to the package dir %s: did you mean %s?", l.p.Dir, r)
		}
	}
	// A slip in the last name: a package dir beside where it points.
	target := filepath.Join(l.realDir, filepath.FromSlash(d.Path))
	dir, name := filepath.Split(target)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && isPkg(filepath.Join(dir, e.Name())) {
			names = append(names, e.Name())
		}
	}
	if n, ok := nearest.Word(name, names); ok {
		if r, ok := relFromPkg(filepath.Join(dir, n)); ok {
			return fmt.Sprintf("; did you mean %s?", r)
		}
	}
	return ""
}

// version reads the optional version file: one word on one line.
func (l *loader) version() error {
	data, ok, err := l.read(pkgtree.VersionFile)
	if err != nil || !ok {
		return err
	}
	v := strings.TrimSpace(string(data))
	f := l.file(pkgtree.VersionFile)
	switch {
	case v == "":
		return errorf(f, 0, "is empty; write the package's version on one line, or remove the file")
	case len(v) > 100:
		return errorf(f, 0, "is %d bytes long; a version is one word of at most 100", len(v))
	case strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return errorf(f, 1, "%q is not one word; write the version alone, e.g. 2.36-9", v) // at most 100 bytes
	}
	l.p.VersionText = v
	return nil
}

// sources reads fetch and sha256sums and joins them.
func (l *loader) sources() error {
	p := l.p
	fetchFile, sumsFile := l.file(pkgtree.FetchFile), l.file(pkgtree.SumsFile)
	fdata, _, err := l.read(pkgtree.FetchFile)
	if err != nil {
		return err
	}
	sdata, hasSums, err := l.read(pkgtree.SumsFile)
	if err != nil {
		return err
	}
	if p.Fetch, err = ParseFetch(fetchFile, fdata); err != nil {
		return err
	}
	if p.Sums, err = ParseSums(sumsFile, sdata); err != nil {
		return err
	}
	if len(p.Fetch) > 0 && !hasSums {
		return errorf(sumsFile, 0, "missing, but fetch lists %d file(s); add the lines sha256sum prints for them", len(p.Fetch))
	}
	byName := make(map[string]Sum, len(p.Sums))
	for _, s := range p.Sums {
		byName[s.Name] = s
	}
	fetched := make(map[string]bool, len(p.Fetch))
	for _, it := range p.Fetch {
		s, ok := byName[it.Output]
		if !ok {
			return errorf(fetchFile, it.Line, "%q has no sum in sha256sums; add the line \"sha256sum %s\" prints", it.Output, it.Output)
		}
		fetched[it.Output] = true
		p.Sources = append(p.Sources, Source{Name: it.Output, SHA256: s.SHA256, URLs: []string{it.URL},
			Origin: fmt.Sprintf("%s:%d", fetchFile, it.Line), SumOrigin: fmt.Sprintf("%s:%d", sumsFile, s.Line)})
	}
	for _, s := range p.Sums {
		if !fetched[s.Name] {
			return errorf(sumsFile, s.Line, "%q is not fetched; remove the line or add the file to fetch", s.Name)
		}
	}
	return nil
}

// relDir returns dir relative to root, cleaned and slash-separated.
func relDir(root, dir string) (string, error) {
	if filepath.IsAbs(dir) {
		absRoot, err := filepath.Abs(root)
		if err != nil {
			return "", err
		}
		r, ok := inside(absRoot, filepath.Clean(dir))
		if !ok {
			return "", fmt.Errorf("%s: package directory outside the tree root %s", dir, root)
		}
		return r, nil
	}
	r := path.Clean(filepath.ToSlash(dir))
	if r == ".." || strings.HasPrefix(r, "../") {
		return "", fmt.Errorf("%s: package directory outside the tree root", dir)
	}
	return r, nil
}

// inside reports whether p is root or below it, and returns p relative to
// root, slash-separated. Both must be clean absolute paths (or both
// relative).
func inside(root, p string) (string, bool) {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return "", false
	}
	r = filepath.ToSlash(r)
	if r == ".." || strings.HasPrefix(r, "../") {
		return "", false
	}
	return r, true
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
