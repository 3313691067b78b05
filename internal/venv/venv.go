// Package venv makes venvs: directories holding packages and their
// run-time closures merged into one tree, plus bin/venv-run, a copy of hdo
// that runs a command with the venv's top-level directories (bin, lib,
// usr, etc, ...) in place of the host's (see package hostroot).
//
// Layout of a venv (e.g. ~/venvs/dev):
//
//	bin/, lib/, usr/, ...  the packages' files, merged
//	bin/venv-run           hdo, answering to that name
//	.hdo-venv              what the venv holds (see Info), for people and hdo gc
package venv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hdo-build/hdo/internal/archive"
	"github.com/hdo-build/hdo/internal/hostroot"
	"github.com/hdo-build/hdo/internal/pkgtree"
	"github.com/hdo-build/hdo/internal/rmtree"
	"github.com/hdo-build/hdo/internal/store"
)

// Paths hdo writes in every venv, relative to its top.
const (
	Marker  = ".hdo-venv"
	RunPath = "bin/venv-run"
)

// markerHeader starts the marker; the number is the format version.
const markerHeader = "hdo-venv 1"

// Package is one package of a venv.
type Package struct {
	Name    string // the package dir in its tree, e.g. pkg/make; names it in errors
	PkgHash string // e.g. 3f9a... (64 hex digits)
	Tarball string // e.g. /src/tree/pkg/make/.pkg.tar.gz; empty in what Read returns
}

// Info is what a venv holds.
type Info struct {
	Tree     string    // the tree the packages come from, e.g. /src/tree
	Packages []Package // the packages asked for and their closures, each once
}

// Create makes dir a venv of info's packages, with exe (the hdo binary)
// as bin/venv-run. Each tarball is extracted with archive's hardened
// extraction and the trees merged; two packages with different content
// at one path are an error naming both and the path. dir must not exist,
// be empty, or be a venv, which is replaced as a whole (atomically where
// the kernel can exchange two directories); on any error nothing of the
// new venv is left.
func Create(ctx context.Context, dir string, info Info, exe string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := checkTarget(dir); err != nil {
		return err
	}
	names := map[string]bool{}
	for _, p := range info.Packages {
		if names[p.Name] {
			return fmt.Errorf("venv %s: package %s listed twice", dir, p.Name)
		}
		names[p.Name] = true
		if strings.ContainsAny(p.Name, "\n") || strings.ContainsAny(info.Tree, "\n") || !pkgtree.IsHex64(p.PkgHash) {
			return fmt.Errorf("venv %s: bad package %q (%q)", dir, p.Name, p.PkgHash)
		}
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("venv: %w", err)
	}
	stage, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".hdo-tmp-")
	if err != nil {
		return fmt.Errorf("venv: %w", err)
	}
	defer rmtree.Remove(stage)
	root := filepath.Join(stage, "root")
	if err := os.Mkdir(root, 0o700); err != nil {
		return fmt.Errorf("venv: %w", err)
	}

	manifests := map[string]store.Manifest{}
	for i, p := range info.Packages {
		l, err := extract(ctx, p.Tarball, filepath.Join(stage, strconv.Itoa(i)))
		if err != nil {
			return fmt.Errorf("venv %s: unpack %s (%s): %w", dir, p.Name, p.Tarball, err)
		}
		for _, e := range l.Entries {
			if e.Path == RunPath || e.Path == Marker {
				return fmt.Errorf("venv %s: %s provides %s, which hdo venv writes itself", dir, p.Name, e.Path)
			}
		}
		manifests[p.Name] = store.Manifest{ContentHash: l.ContentHash, Entries: l.Entries}
	}
	if err := store.Conflicts(manifests); err != nil {
		return fmt.Errorf("venv %s: the packages cannot share one tree: %w", dir, err)
	}

	// Merge: the first package providing a path moves it into the root;
	// later identical copies (Conflicts allowed nothing else) stay behind.
	dirModes := map[string]fs.FileMode{}
	for i, p := range info.Packages {
		src := filepath.Join(stage, strconv.Itoa(i))
		entries := manifests[p.Name].Entries
		for _, e := range entries {
			if e.Type == archive.TypeDir {
				// Moving entries out needs the directories writable.
				if err := os.Chmod(filepath.Join(src, e.Path), 0o700); err != nil {
					return fmt.Errorf("venv %s: %w", dir, err)
				}
			}
		}
		for _, e := range entries {
			to := filepath.Join(root, filepath.FromSlash(e.Path))
			if e.Type == archive.TypeDir {
				if _, ok := dirModes[e.Path]; !ok {
					dirModes[e.Path] = e.Mode
					if err := os.Mkdir(to, 0o700); err != nil {
						return fmt.Errorf("venv %s: %w", dir, err)
					}
				}
				continue
			}
			if _, err := os.Lstat(to); err == nil {
				continue
			}
			if err := os.Rename(filepath.Join(src, filepath.FromSlash(e.Path)), to); err != nil {
				return fmt.Errorf("venv %s: %w", dir, err)
			}
		}
	}

	if _, ok := dirModes["bin"]; !ok {
		dirModes["bin"] = 0o755
		if err := os.Mkdir(filepath.Join(root, "bin"), 0o700); err != nil {
			return fmt.Errorf("venv %s: %w", dir, err)
		}
	}
	if err := installExe(exe, filepath.Join(root, filepath.FromSlash(RunPath))); err != nil {
		return fmt.Errorf("venv %s: write %s: %w", dir, RunPath, err)
	}
	if err := os.WriteFile(filepath.Join(root, Marker), info.encode(), 0o644); err != nil {
		return fmt.Errorf("venv %s: %w", dir, err)
	}
	// Directory modes last, the deepest first, so read-only directories
	// were writable while they were filled.
	paths := make([]string, 0, len(dirModes))
	for p := range dirModes {
		paths = append(paths, p)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(paths)))
	for _, p := range paths {
		if err := os.Chmod(filepath.Join(root, filepath.FromSlash(p)), dirModes[p]); err != nil {
			return fmt.Errorf("venv %s: %w", dir, err)
		}
	}
	if err := os.Chmod(root, 0o755); err != nil {
		return fmt.Errorf("venv %s: %w", dir, err)
	}
	// The old venv, if any, ends up at root and goes with the stage.
	if err := replace(root, dir); err != nil {
		return fmt.Errorf("venv %s: install: %w", dir, err)
	}
	return nil
}

// checkTarget refuses to put a venv where something else is.
func checkTarget(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("venv: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("venv: %s exists and is not a directory; remove it or pick another", dir)
	}
	if IsVenv(dir) {
		return nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("venv: %w", err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("venv: %s exists and is not a venv (no %s); remove it or pick another directory", dir, Marker)
	}
	return nil
}

// extract unpacks one package tarball into a new directory dest.
func extract(ctx context.Context, tarball, dest string) (*archive.Listing, error) {
	f, err := os.Open(tarball)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return archive.ExtractListing(ctx, f, dest, archive.Options{Private: true})
}

// installExe puts exe at dst, as a hard link when the filesystem allows
// (venvs next to one another then share one copy), else as a copy.
func installExe(exe, dst string) error {
	if err := os.Link(exe, dst); err == nil {
		return nil
	}
	in, err := os.Open(exe)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// IsVenv reports whether dir is a venv hdo made.
func IsVenv(dir string) bool {
	fi, err := os.Lstat(filepath.Join(dir, Marker))
	return err == nil && fi.Mode().IsRegular()
}

// encode is the marker's text:
//
//	hdo-venv 1
//	tree /src/tree
//	package <pkghash> pkg/make
func (in *Info) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\ntree %s\n", markerHeader, in.Tree)
	for _, p := range in.Packages {
		fmt.Fprintf(&b, "package %s %s\n", p.PkgHash, p.Name)
	}
	return b.Bytes()
}

// Read returns what the venv at dir holds.
func Read(dir string) (*Info, error) {
	name := filepath.Join(dir, Marker)
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("venv: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	var in Info
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		bad := func() (*Info, error) {
			return nil, fmt.Errorf("venv: %s:%d: unexpected %q; make the venv again with hdo venv", name, n, line)
		}
		switch {
		case n == 1:
			if line != markerHeader {
				return bad()
			}
		case strings.HasPrefix(line, "tree "):
			in.Tree = strings.TrimPrefix(line, "tree ")
		case strings.HasPrefix(line, "package "):
			h, pkg, ok := strings.Cut(strings.TrimPrefix(line, "package "), " ")
			if !ok || !pkgtree.IsHex64(h) || pkg == "" {
				return bad()
			}
			in.Packages = append(in.Packages, Package{Name: pkg, PkgHash: h})
		default:
			return bad()
		}
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("venv: %s is empty; make the venv again with hdo venv", name)
	}
	return &in, nil
}

// Plan is the new root venv-run gives a command: the venv's top-level
// entries (but its own marker, and the host's dirs hostroot.Kept) in place
// of the host's.
func Plan(dir string) (hostroot.Plan, error) {
	return hostroot.FromTrees([]hostroot.Tree{{Name: dir, Dir: dir}})
}
