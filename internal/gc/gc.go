// Package gc removes what no root needs from hdo's per-user cache
// directory: store entries, source cache files, binary-cache downloads,
// seed cache entries, build work dirs, and the socket dirs killed hdo
// processes left in the temp dir.
//
// The roots are recorded by package gcroots: every tree hdo built package
// targets in and every venv hdo made, plus the paths a caller keeps. In a
// tree, every package (a directory holding build or seed.lock) counts:
//
//   - a store entry is needed if its pkghash is the current .pkghash of a
//     package whose .pkg.tar.gz exists, or of a package of a venv;
//   - a download (downloads/<pkghash>.tar.gz) if its pkghash is the current
//     .pkghash of a package whose .pkg.tar.gz does not exist yet;
//   - a source (sources/<sha256>) if a package lists its sha256 in
//     sha256sums, or a seed lock pins a .deb or Go toolchain by it;
//   - a seed cache entry (bootstrap/<key>.*) if a seed lock's key is key
//     (Options.SeedLock reads the lock: its format is package bootstrap's);
//   - a build work dir (build/*) never: gc runs only while no build does,
//     so every one left is from a failed build or an hdo shell;
//   - a socket dir in Options.TempDir (see sockdir.Stale) only
//     while its hdo runs.
//
// Collect holds the gc lock exclusively (see gcroots), so a running build
// never loses what it uses.
package gc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hdo-build/hdo/internal/cachedir"
	"github.com/hdo-build/hdo/internal/gcroots"
	"github.com/hdo-build/hdo/internal/pkgtree"
	"github.com/hdo-build/hdo/internal/regfile"
	"github.com/hdo-build/hdo/internal/rmtree"
	"github.com/hdo-build/hdo/internal/sockdir"
	"github.com/hdo-build/hdo/internal/store"
	"github.com/hdo-build/hdo/internal/venv"
)

// Kinds of what gc removes, in the order reports list them.
const (
	Store     = "store entries"
	Sources   = "sources"
	Downloads = "downloads"
	Seeds     = "seed cache"
	Builds    = "build dirs"
	Checks    = "check dirs"
	Sockets   = "socket dirs"
)

// Kinds lists every kind in report order.
var Kinds = []string{Store, Sources, Downloads, Seeds, Builds, Checks, Sockets}

// Options configure Collect.
type Options struct {
	CacheDir string   // e.g. /home/me/.cache/hdo
	TempDir  string   // where killed hdo processes left socket dirs, e.g. /tmp; "" to leave them
	Keep     []string // absolute paths kept besides the roots: trees, package dirs, .pkg.tar.gz files or venvs
	DryRun   bool     // report, remove nothing
	// Waiting is called once if gc must wait for running builds.
	Waiting func()
	// SeedLock reads a package's seed.lock (name is e.g. pkg/seed/seed.lock
	// for messages): the key of the seed cache entry it produces and the
	// sha256 of every source it pins. If nil, every seed cache entry is
	// kept, and so is every source (what a lock pins cannot be told).
	SeedLock func(name string, data []byte) (key string, sources []string, err error)
	// Log receives warnings: roots dropped, packages that could not be
	// read (whatever they may need is then kept where it can be told).
	Log func(format string, args ...any)
}

// Item is one thing removed (or, in a dry run, that would be).
type Item struct {
	Kind  string // e.g. Store
	Path  string // e.g. /home/me/.cache/hdo/store/3f9a...
	What  string // for people, e.g. "3f9a... (pkg/tool of /src/tree)"
	Bytes int64  // apparent size of its files
}

// Report is what Collect removed.
type Report struct {
	Items   []Item
	Dropped []string // roots that no longer exist, forgotten
}

// Total is the count and bytes of one kind.
type Total struct {
	Count int
	Bytes int64
}

// Totals sums the items by kind.
func (r *Report) Totals() map[string]Total {
	out := map[string]Total{}
	for _, it := range r.Items {
		t := out[it.Kind]
		t.Count++
		t.Bytes += it.Bytes
		out[it.Kind] = t
	}
	return out
}

// needs is what the roots keep.
type needs struct {
	store     map[string]string // pkghash -> "pkg/x of /tree"
	downloads map[string]bool   // pkghash
	sources   map[string]bool   // sha256
	seeds     map[string]bool   // seed lock key
	allSeeds  bool              // a seed lock could not be read: keep every seed and source
	seedLock  func(name string, data []byte) (string, []string, error)
	logf      func(format string, args ...any)
}

// Collect removes (or with DryRun lists) everything in opts.CacheDir that
// no root needs, holding the gc lock exclusively while it does.
func Collect(ctx context.Context, opts Options) (*Report, error) {
	logf := opts.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	release, err := gcroots.Exclusive(ctx, opts.CacheDir, opts.Waiting)
	if err != nil {
		return nil, err
	}
	defer release()
	db, err := gcroots.Open(opts.CacheDir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	roots, err := db.Roots()
	if err != nil {
		return nil, err
	}

	rep := &Report{}
	n := &needs{store: map[string]string{}, downloads: map[string]bool{}, sources: map[string]bool{}, seeds: map[string]bool{}, seedLock: opts.SeedLock, logf: logf}
	for _, r := range roots {
		var err error
		switch {
		case r.Kind == gcroots.Tree && isDir(r.Path):
			err = n.addTree(r.Path)
		case r.Kind == gcroots.Venv && venv.IsVenv(r.Path):
			err = n.addVenv(r.Path)
		default:
			rep.Dropped = append(rep.Dropped, r.Path)
			if !opts.DryRun {
				if err := db.Drop(r.Path); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err != nil {
			return nil, err
		}
	}
	for _, k := range opts.Keep {
		if err := n.addKeep(k); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	names, err := db.StoreEntries()
	if err != nil {
		return nil, err
	}
	removed, err := sweepStore(opts, n, names, rep)
	if err != nil {
		return rep, err
	}
	sweeps := []func(Options, *needs, *Report) error{sweepSources, sweepDownloads, sweepSeeds, sweepBuilds, sweepChecks, sweepSockets}
	for _, sweep := range sweeps {
		if err := sweep(opts, n, rep); err != nil {
			return rep, err
		}
	}
	if opts.DryRun {
		return rep, nil
	}
	if err := db.ForgetStore(removed...); err != nil {
		return rep, err
	}
	// Name what is kept, so a later gc can say what it removes even once
	// the package is gone from its tree.
	var seen []gcroots.StoreEntry
	now := time.Now()
	for h, what := range n.store {
		name, tree, _ := strings.Cut(what, " of ")
		seen = append(seen, gcroots.StoreEntry{PkgHash: h, Name: name, Tree: tree, Seen: now})
	}
	return rep, db.NoteStore(seen...)
}

// isDir reports whether dir is a directory.
func isDir(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}

// isTree reports whether dir is an hdo tree.
func isTree(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, ".hdo"))
	return err == nil && fi.IsDir()
}

// addTree keeps what every package of the tree at root needs.
func (n *needs) addTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // an unreadable corner of a tree holds no package we could read
		}
		if !d.IsDir() {
			return nil
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if pkgtree.IsPackageDirAbs(p) {
			rel, _ := filepath.Rel(root, p)
			n.addPackage(root, filepath.ToSlash(rel))
		}
		return nil
	})
}

// addPackage keeps what the package at root/dir needs.
func (n *needs) addPackage(root, dir string) {
	abs := filepath.Join(root, filepath.FromSlash(dir))
	what := dir + " of " + root
	if h := readHash(filepath.Join(abs, ".pkghash")); h != "" {
		if _, err := os.Stat(filepath.Join(abs, ".pkg.tar.gz")); err == nil {
			n.store[h] = what
		} else {
			n.downloads[h] = true
		}
	}
	if data, err := regfile.ReadFile(filepath.Join(abs, "sha256sums"), maxPackageFile); err == nil {
		// Lenient on purpose: a sum on a line the package parser would
		// refuse is still kept.
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) > 0 && pkgtree.IsHex64(f[0]) {
				n.sources[f[0]] = true
			}
		}
	}
	if data, err := regfile.ReadFile(filepath.Join(abs, "seed.lock"), maxPackageFile); err == nil {
		if n.seedLock == nil {
			n.allSeeds = true
			return
		}
		key, sources, err := n.seedLock(path.Join(dir, "seed.lock"), data)
		if err != nil {
			n.logf("%s: %v (its seed cache entry and .debs are not kept)", what, err)
			return
		}
		n.seeds[key] = true
		for _, s := range sources {
			n.sources[s] = true
		}
	}
}

// addVenv keeps the store entries of a venv's packages.
func (n *needs) addVenv(dir string) error {
	info, err := venv.Read(dir)
	if err != nil {
		return err
	}
	for _, p := range info.Packages {
		n.store[p.PkgHash] = p.Name + " of " + dir
	}
	return nil
}

// addKeep keeps what a path given by the user needs.
func (n *needs) addKeep(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("gc: keep %s: %w", p, err)
	}
	switch {
	case fi.IsDir() && venv.IsVenv(p):
		return n.addVenv(p)
	case fi.IsDir() && isTree(p):
		return n.addTree(p)
	case !fi.IsDir() && filepath.Base(p) == pkgtree.TarballFile && pkgtree.IsPackageDirAbs(filepath.Dir(p)):
		return n.addKeptPackage(filepath.Dir(p))
	case fi.IsDir() && pkgtree.IsPackageDirAbs(p):
		return n.addKeptPackage(p)
	}
	return fmt.Errorf("gc: keep %s: not a tree, a package dir, a .pkg.tar.gz or a venv", p)
}

// addKeptPackage keeps a package and its run-time closure.
func (n *needs) addKeptPackage(dir string) error {
	root := filepath.Dir(dir)
	for d := dir; ; {
		if isTree(d) {
			root = d
			break
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		return err
	}
	n.addPackage(root, filepath.ToSlash(rel))
	data, _ := regfile.ReadFile(filepath.Join(dir, pkgtree.ClosureFile), maxPackageFile)
	deps, err := pkgtree.ParseClosure(data)
	if err != nil {
		n.logf("%s: %v (keeping only the package)", dir, err)
	}
	for _, d := range deps {
		n.addPackage(root, d)
	}
	return nil
}

// readHash returns the pkghash in file, or "" if it holds none.
// StalePart is how long a partial source download may sit untouched
// before gc removes it even for a needed source.
const StalePart = time.Hour

func stalePart(e fs.DirEntry) bool {
	info, err := e.Info()
	return err == nil && time.Since(info.ModTime()) > StalePart
}

// maxPackageFile bounds the package files gc reads (pkgspec.MaxFileSize):
// a tree's sha256sums may be a FIFO or a link to /dev/zero.
const maxPackageFile = 4 << 20

func readHash(file string) string {
	data, err := regfile.ReadFile(file, 256)
	if err != nil {
		return ""
	}
	h := strings.TrimSpace(string(data))
	if !pkgtree.IsHex64(h) {
		return ""
	}
	return h
}

// entries lists dir, which may not exist.
func entries(dir string) ([]fs.DirEntry, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	return ents, nil
}

// remove adds an item to the report and, unless in a dry run, removes its
// paths.
func remove(opts Options, rep *Report, kind, what string, paths ...string) error {
	var size int64
	for _, p := range paths {
		size += diskSize(p)
	}
	rep.Items = append(rep.Items, Item{Kind: kind, Path: paths[0], What: what, Bytes: size})
	if opts.DryRun {
		return nil
	}
	for _, p := range paths {
		if err := rmtree.Remove(p); err != nil {
			return fmt.Errorf("gc: remove %s: %w", p, err)
		}
	}
	return nil
}

func sweepStore(opts Options, n *needs, names map[string]gcroots.StoreEntry, rep *Report) ([]string, error) {
	dir := cachedir.Dir(opts.CacheDir).Store()
	ents, err := entries(dir)
	if err != nil {
		return nil, err
	}
	hashes := map[string]bool{}
	for _, e := range ents {
		h := e.Name()
		for _, suffix := range []string{".manifest", ".content", ".tarballs"} {
			h = strings.TrimSuffix(h, suffix)
		}
		if pkgtree.IsHex64(h) {
			hashes[h] = true
		}
	}
	var removed []string
	for _, h := range sortedKeys(hashes) {
		if _, ok := n.store[h]; ok {
			continue
		}
		what := h
		if e, ok := names[h]; ok {
			what += " (" + e.Name + " of " + e.Tree + ")"
		}
		size := diskSize(filepath.Join(dir, h)) + diskSize(filepath.Join(dir, h+".manifest")) + diskSize(filepath.Join(dir, h+".content")) + diskSize(filepath.Join(dir, h+".tarballs"))
		rep.Items = append(rep.Items, Item{Kind: Store, Path: filepath.Join(dir, h), What: what, Bytes: size})
		removed = append(removed, h)
		if opts.DryRun {
			continue
		}
		st := &store.Store{Dir: dir}
		if err := st.Remove(h); err != nil {
			return removed, fmt.Errorf("gc: %w", err)
		}
	}
	return removed, nil
}

func sweepSources(opts Options, n *needs, rep *Report) error {
	dir := cachedir.Dir(opts.CacheDir).Sources()
	ents, err := entries(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		sum := strings.TrimPrefix(e.Name(), ".part-")
		if !pkgtree.IsHex64(sum) {
			continue
		}
		// A partial download of a needed source is kept for resuming,
		// unless no download has touched it for StalePart: a source that
		// never ends (file:///dev/zero) left gigabytes there.
		if (n.allSeeds || n.sources[sum]) && (sum == e.Name() || !stalePart(e)) {
			continue
		}
		what := sum
		if sum != e.Name() {
			what += " (partly downloaded)"
		}
		if err := remove(opts, rep, Sources, what, filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func sweepDownloads(opts Options, n *needs, rep *Report) error {
	dir := cachedir.Dir(opts.CacheDir).Downloads()
	ents, err := entries(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		h, ok := strings.CutSuffix(e.Name(), ".tar.gz")
		switch {
		case ok && pkgtree.IsHex64(h):
			if n.downloads[h] {
				continue
			}
		case strings.HasPrefix(e.Name(), "."):
			h = e.Name() + " (unfinished)" // no download runs now
		default:
			continue // not ours
		}
		if err := remove(opts, rep, Downloads, h, filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func sweepSeeds(opts Options, n *needs, rep *Report) error {
	dir := cachedir.Dir(opts.CacheDir).Seeds()
	ents, err := entries(dir)
	if err != nil {
		return err
	}
	files := map[string][]string{}
	for _, e := range ents {
		key, _, _ := strings.Cut(e.Name(), ".")
		if pkgtree.IsHex64(key) {
			files[key] = append(files[key], filepath.Join(dir, e.Name()))
		}
	}
	for _, key := range sortedKeys(files) {
		if n.allSeeds || n.seeds[key] {
			continue
		}
		if err := remove(opts, rep, Seeds, key, files[key]...); err != nil {
			return err
		}
	}
	return nil
}

func sweepBuilds(opts Options, n *needs, rep *Report) error {
	dir := cachedir.Dir(opts.CacheDir).Builds()
	ents, err := entries(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := remove(opts, rep, Builds, e.Name(), filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// sweepChecks removes hdo check's rebuilds: only a check that runs needs
// one, and it holds the gc lock shared meanwhile.
func sweepChecks(opts Options, n *needs, rep *Report) error {
	cache := cachedir.Dir(opts.CacheDir)
	ents, err := entries(cache.Checks())
	if err != nil {
		return err
	}
	var dirs []string
	for _, e := range ents {
		dirs = append(dirs, filepath.Join(cache.Checks(), e.Name()))
	}
	old, _ := filepath.Glob(cache.OldChecks())
	for _, d := range append(dirs, old...) {
		if err := remove(opts, rep, Checks, filepath.Base(d), d); err != nil {
			return err
		}
	}
	return nil
}

func sweepSockets(opts Options, n *needs, rep *Report) error {
	if opts.TempDir == "" {
		return nil
	}
	for _, dir := range sockdir.Stale(opts.TempDir) {
		if err := remove(opts, rep, Sockets, filepath.Base(dir), dir); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// diskSize is the apparent size of the files and symlinks under p.
func diskSize(p string) int64 {
	var n int64
	filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			n += fi.Size()
		}
		return nil
	})
	return n
}
