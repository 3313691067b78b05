package pkgrule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hdo-build/hdo/bootstrap"
	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/internal/archive"
	"github.com/hdo-build/hdo/internal/cache"
	"github.com/hdo-build/hdo/internal/cachedir"
	"github.com/hdo-build/hdo/internal/fetch"
	"github.com/hdo-build/hdo/internal/gcroots"
	"github.com/hdo-build/hdo/internal/pkgspec"
	"github.com/hdo-build/hdo/internal/pkgtree"
	"github.com/hdo-build/hdo/internal/rmtree"
	"github.com/hdo-build/hdo/internal/store"
	"github.com/hdo-build/hdo/sandbox"
)

const tarballRule = "builtin:pkg/1"

// Config configures the package rules.
type Config struct {
	Root     string         // tree root, e.g. /src/tree
	CacheDir string         // per-user cache, e.g. ~/.cache/hdo: store/, build/, downloads/, bootstrap/
	Fetcher  *fetch.Fetcher // sources and seed .debs
	Cache    *cache.Client  // binary caches to try before building; nil: none
	Timeout  time.Duration  // per build; 0: none
	// TmpSize bounds a build's /tmp, a tmpfs held in memory, in bytes,
	// e.g. 8<<30; 0: DefaultTmpSize; negative: the kernel's default (half
	// of the RAM), so that a build filling /tmp cannot starve the host.
	TmpSize int64
	// MemoryMax bounds the memory of a build as a whole, in bytes; 0:
	// none. PidsMax bounds its processes and threads; 0: DefaultPidsMax,
	// applied where the host gives hdo a cgroup for it; negative: none. A
	// limit set here fails the build where it cannot be applied.
	MemoryMax int64
	PidsMax   int64
	// Bootstrap configures seed builds; CacheDir and Fetch are filled in.
	Bootstrap bootstrap.Options
	// Log receives notes for the user (cache hits, kept work dirs).
	Log func(format string, args ...any)
}

// DefaultTmpSize is the size of a build's /tmp unless Config.TmpSize says
// otherwise: plenty for compilers' temporaries.
const DefaultTmpSize = 2 << 30

// DefaultPidsMax bounds a build's processes and threads unless
// Config.PidsMax says otherwise: a fork bomb stops there.
const DefaultPidsMax = 16384

// limits are the sandbox limits for c.
func (c *Config) limits() limits {
	l := limits{tmp: c.TmpSize, memory: c.MemoryMax, pids: c.PidsMax}
	switch {
	case c.TmpSize == 0:
		l.tmp = DefaultTmpSize
	case c.TmpSize < 0:
		l.tmp = 0
	}
	switch {
	case c.PidsMax == 0:
		l.pids = DefaultPidsMax
		l.bestEffort = c.MemoryMax == 0
	case c.PidsMax < 0:
		l.pids = 0
	}
	return l
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		c.Log(format, args...)
	}
}

// Builtins returns the package rules: .pkghash, .closure, .bclosure and
// .pkg.tar.gz.
func Builtins(cfg Config) []engine.Builtin {
	return []engine.Builtin{
		&rule{name: pkgtree.PkgHashFile, id: pkghashRule, build: buildPkgHash},
		&rule{name: pkgtree.ClosureFile, id: closureRule, build: buildClosure},
		&rule{name: pkgtree.BClosureFile, id: bclosureRule, build: buildBClosure},
		&tarball{rule: rule{name: pkgtree.TarballFile, id: tarballRule}, cfg: cfg},
	}
}

// tarball is the .pkg.tar.gz rule: from a binary cache by pkghash if one
// has it, else built in the sandbox from the build closure.
type tarball struct {
	rule
	cfg Config
	// fetched maps the pkghash of each package a binary cache gave this
	// run to its verified content hash.
	fetched sync.Map
}

// Build makes the package's tarball.
func (t *tarball) Build(ctx context.Context, j *engine.Job) error {
	// While this build uses the store and the caches, hdo gc waits (a
	// shared lock); this also records the tree as a gc root.
	release, err := gcroots.Hold(ctx, t.cfg.CacheDir, j.Root(), t.cfg.logf)
	if err != nil {
		return err
	}
	defer release()
	ctx = j.Meter(ctx) // downloads count toward this job's status line
	dir := path.Dir(j.Target)
	// The package is what its .pkghash says: the tarball depends on that
	// (which covers the build script, the sums, files/ and every
	// dependency), on its closure, and not on the package files
	// themselves, so that a new URL or a comment in fetch rebuilds
	// nothing. A package that does not load fails here, and a failed
	// build is tried again on the next run.
	p, err := pkgspec.Load(j.Root(), dir)
	if err != nil {
		return err
	}
	got, err := readTargets(ctx, j, []string{path.Join(dir, pkgtree.PkgHashFile), path.Join(dir, pkgtree.ClosureFile)})
	if err != nil {
		return err
	}
	pkghash := strings.TrimSpace(string(got[0]))
	if !pkgtree.IsHex64(pkghash) {
		return fmt.Errorf("%s: not a pkghash", path.Join(dir, pkgtree.PkgHashFile))
	}
	runDirs, err := pkgtree.ParseClosure(got[1])
	if err != nil {
		return err
	}
	runHashes, err := pkgHashes(ctx, j, runDirs)
	if err != nil {
		return err
	}
	st, err := t.openStore()
	if err != nil {
		return err
	}
	if ok, err := t.adopt(j, st, pkghash); err != nil || ok {
		if err != nil {
			return err
		}
		return j.IfChange(ctx, false, tarballs(runDirs)...)
	}

	// Ask the binary caches for the package and every missing member of
	// its run-time closure at once, not one after another down the chain.
	j.Phase("cache")
	t.prefetch(ctx, j, append([]string{dir}, runDirs...), append([]string{pkghash}, runHashes...), false)
	hit, err := t.fromDownloads(ctx, j, pkghash)
	if err != nil {
		return err
	}
	if hit {
		content, _ := t.fetched.Load(pkghash)
		s, _ := content.(string)
		t.noteContent(j, st, pkghash, s)
		// A package is complete only with its run-time dependencies.
		return j.IfChange(ctx, false, tarballs(runDirs)...)
	}
	if p.Seed {
		j.Phase("build")
		if err := t.buildSeed(ctx, j, p); err != nil {
			return err
		}
		t.noteContent(j, st, pkghash, "")
		return nil
	}

	j.Phase("deps")
	got, err = readTargets(ctx, j, []string{path.Join(dir, pkgtree.BClosureFile)})
	if err != nil {
		return err
	}
	buildDirs, err := pkgtree.ParseClosure(got[0])
	if err != nil {
		return err
	}
	buildHashes, err := pkgHashes(ctx, j, buildDirs)
	if err != nil {
		return err
	}
	// The build closure is to be unpacked: each package is, as soon as
	// it is downloaded.
	t.prefetch(ctx, j, buildDirs, buildHashes, true)
	if err := j.IfChange(ctx, false, tarballs(union(runDirs, buildDirs))...); err != nil {
		return err
	}
	j.Phase("fetch")
	ws, err := t.prepare(ctx, j.Root(), p, pkghash, buildDirs, buildHashes, j.DepHash, j.Log)
	if err != nil {
		return err
	}
	j.Phase("build")
	// The build gets a jobserver pipe of its own, backed by hdo's tokens:
	// it can neither take more than hdo grants, nor keep them, nor block
	// hdo by filling the pipe.
	jobs, err := j.Jobserver().NewPrivate()
	if err != nil {
		return err
	}
	defer jobs.Close()
	files, makeflags := jobs.Files(3)
	cfg := ws.sandboxConfig(makeflags, files, t.cfg.Timeout)
	cfg.Stdout, cfg.Stderr = j.Log, j.Log
	// HDO_BUILD_TIMEOUT bounds building and packing together.
	packCtx := ctx
	if t.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		packCtx, cancel = context.WithTimeout(ctx, t.cfg.Timeout)
		defer cancel()
	}
	if err := sandbox.Run(ctx, cfg); err != nil {
		if ctx.Err() != nil {
			// Interrupted, not failed: nothing to look at.
			rmtree.Remove(ws.dir)
			return ctx.Err()
		}
		sanitizeTree(ws.dir)
		return fmt.Errorf("build failed: %w; %s; hdo shell %s opens the same sandbox", err, t.keptNote(ws.dir), dir)
	}
	// What the files need at run time must come with the package.
	j.Phase("scan")
	if err := t.checkRunDeps(ctx, j, st, dir, ws.dest, p.RunDeps, runDirs, runHashes); err != nil {
		if ctx.Err() != nil {
			rmtree.Remove(ws.dir)
			return ctx.Err()
		}
		sanitizeTree(ws.dir)
		return fmt.Errorf("%w\n%s", err, t.keptNote(ws.dir))
	}
	j.Phase("pack")
	content, err := writeTarball(packCtx, j.Out, ws.dest)
	if err != nil {
		if ctx.Err() != nil {
			rmtree.Remove(ws.dir)
			return ctx.Err()
		}
		sanitizeTree(ws.dir)
		return fmt.Errorf("%s: %w; %s", dir, err, t.keptNote(ws.dir))
	}
	t.noteContent(j, st, pkghash, content)
	return rmtree.Remove(ws.dir)
}

// adopt keeps the tarball already at the target's path when it is proven
// to be the package pkghash: the store knows that package's content hash
// (from building, downloading or unpacking it) and the file's content has
// that hash. This is how a tree whose .hdo was lost, or a package dir that
// was renamed, keeps its packages without rebuilding them, while a tarball
// of any other package is never taken for this one.
func (t *tarball) adopt(j *engine.Job, st *store.Store, pkghash string) (bool, error) {
	if j.Forced {
		return false, nil
	}
	cur := j.Abs(j.Target)
	if fi, err := os.Lstat(cur); err != nil || !fi.Mode().IsRegular() {
		return false, nil
	}
	want, ok := st.KnownContent(pkghash)
	if !ok {
		return false, nil
	}
	got, err := archive.ContentHashFile(cur)
	if err != nil || got != want {
		return false, nil
	}
	if err := os.Link(cur, j.Out); err != nil {
		if err := copyFile(cur, j.Out, 0o644); err != nil {
			return false, err
		}
	}
	fmt.Fprintf(j.Log, "%s: kept the existing %s: its content is package %s's\n", path.Dir(j.Target), j.Target, pkghash)
	return true, nil
}

// noteContent records the content hash of the package pkghash just
// written to the job's output (computed from it when content is ""), for
// adopt. A failure only costs a rebuild later, so it is not an error.
func (t *tarball) noteContent(j *engine.Job, st *store.Store, pkghash, content string) {
	if _, ok := st.KnownContent(pkghash); ok {
		return
	}
	if content == "" {
		var err error
		if content, err = archive.ContentHashFile(j.Out); err != nil {
			return
		}
	}
	st.NoteContent(pkghash, content)
}

// buildSeed makes a seed package's tarball from its lock.
func (t *tarball) buildSeed(ctx context.Context, j *engine.Job, p *pkgspec.Package) error {
	lock, err := bootstrap.ParseLock(path.Join(p.Dir, pkgtree.SeedLockFile), p.SeedLock)
	if err != nil {
		return err
	}
	tgz, _, err := bootstrap.Build(ctx, lock, t.seedOptions(j.Log))
	if err != nil {
		return err
	}
	return copyFile(tgz, j.Out, 0o644)
}

// seedOptions configures seed builds: the seed cache under the cache dir,
// and .debs through the verified source cache.
func (t *tarball) seedOptions(log io.Writer) bootstrap.Options {
	opts := t.cfg.Bootstrap
	opts.CacheDir = cachedir.Dir(t.cfg.CacheDir).Seeds()
	opts.Fetch = func(ctx context.Context, r bootstrap.FetchRequest) (string, error) {
		paths, err := t.cfg.Fetcher.Fetch(ctx, []fetch.Source{{Name: r.Name, SHA256: r.SHA256, Size: r.Size, URLs: r.URLs,
			Origin: r.Origin, SumOrigin: r.Origin}})
		if fetch.NotFound(err) {
			return "", fmt.Errorf("%w: %v", bootstrap.ErrNotFound, err)
		}
		if err != nil {
			return "", err
		}
		return paths[0], nil
	}
	opts.Prefetch = func(ctx context.Context, rs []bootstrap.FetchRequest) []error {
		srcs := make([]fetch.Source, len(rs))
		for i, r := range rs {
			srcs[i] = fetch.Source{Name: r.Name, SHA256: r.SHA256, Size: r.Size, URLs: r.URLs, Origin: r.Origin, SumOrigin: r.Origin}
		}
		_, errs, err := t.cfg.Fetcher.FetchEach(ctx, srcs)
		if err != nil {
			errs = make([]error, len(rs))
			for i := range errs {
				errs[i] = err
			}
		}
		for i, err := range errs {
			if err != nil && fetch.NotFound(err) {
				errs[i] = fmt.Errorf("%w: %v", bootstrap.ErrNotFound, err)
			}
		}
		return errs
	}
	if opts.Log == nil {
		opts.Log = log
	}
	return opts
}

// prefetch asks the binary caches for the packages (dirs with their
// pkghashes) whose tarballs are not built yet, in parallel, into the
// downloads dir; with unpack, it also unpacks each hit into the store
// while the others download, and returns when all are unpacked.
func (t *tarball) prefetch(ctx context.Context, j *engine.Job, dirs, hashes []string, unpack bool) {
	if t.cfg.Cache == nil {
		return
	}
	var want []string
	for i, d := range dirs {
		if _, err := os.Stat(j.Abs(path.Join(d, pkgtree.TarballFile))); err == nil {
			continue
		}
		if _, err := os.Stat(t.download(hashes[i])); err == nil {
			continue
		}
		want = append(want, hashes[i])
	}
	if len(want) == 0 {
		return
	}
	if err := os.MkdirAll(cachedir.Dir(t.cfg.CacheDir).Downloads(), 0o755); err != nil {
		return
	}
	var then func(string, *cache.Info)
	if unpack {
		if st, err := t.openStore(); err == nil {
			bg := st.Background(ctx)
			defer bg.Wait()
			then = func(h string, _ *cache.Info) {
				bg.Add(store.Member{Name: h, PkgHash: h, Tarball: t.download(h)})
			}
		}
	}
	// Misses and failures surface when each package's own rule asks.
	hits, _ := t.cfg.Cache.PrefetchThen(ctx, want, t.download, then)
	for h, info := range hits {
		t.fetched.Store(h, info.Content)
	}
}

// download is where a package fetched from a binary cache waits for its
// rule.
func (t *tarball) download(pkghash string) string {
	return filepath.Join(cachedir.Dir(t.cfg.CacheDir).Downloads(), pkghash+".tar.gz")
}

// fromDownloads installs a package fetched from a binary cache as out,
// asking the caches itself if the prefetch did not bring it. It reports
// whether the package came from a cache; with --binary-only a miss is an
// error naming the package and the caches.
func (t *tarball) fromDownloads(ctx context.Context, j *engine.Job, pkghash string) (bool, error) {
	out := j.Out
	if t.cfg.Cache == nil {
		return false, nil
	}
	dl := t.download(pkghash)
	if _, err := os.Stat(dl); err != nil {
		if err := os.MkdirAll(filepath.Dir(dl), 0o755); err != nil {
			return false, err
		}
		info, err := t.cfg.Cache.Get(ctx, pkghash, dl)
		if err != nil {
			if errors.Is(err, cache.ErrMiss) && !t.cfg.Cache.BinaryOnly {
				return false, nil
			}
			return false, err
		}
		t.fetched.Store(pkghash, info.Content)
	}
	// The download was verified (size, sha256, content, signature); hand it
	// over without copying when the filesystems allow.
	if err := os.Rename(dl, out); err != nil {
		if err := copyFile(dl, out, 0o644); err != nil {
			return false, err
		}
		os.Remove(dl)
	}
	fmt.Fprintf(j.Log, "%s: from the binary cache (%s)\n", path.Dir(j.Target), pkghash)
	return true, nil
}

// pkgHashes reads the pkghashes of package dirs, depending on them.
func pkgHashes(ctx context.Context, j *engine.Job, dirs []string) ([]string, error) {
	var targets []string
	for _, d := range dirs {
		targets = append(targets, path.Join(d, pkgtree.PkgHashFile))
	}
	got, err := readTargets(ctx, j, targets)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(got))
	for i, b := range got {
		out[i] = strings.TrimSpace(string(b))
		if !pkgtree.IsHex64(out[i]) {
			return nil, fmt.Errorf("%s: not a pkghash", targets[i])
		}
	}
	return out, nil
}

// tarballs returns the .pkg.tar.gz targets of package dirs.
func tarballs(dirs []string) []string {
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[i] = path.Join(d, pkgtree.TarballFile)
	}
	return out
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// writeTarball writes the deterministic tarball of dir to out, syncs it
// and returns its content hash. What the store would refuse to unpack
// (archive.DefaultLimits) is refused before packing.
func writeTarball(ctx context.Context, out, dir string) (string, error) {
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", err
	}
	content, err := archive.WriteTarGzLimited(ctx, f, dir, archive.Limits{})
	if err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	return content, f.Close()
}

// openStore opens the package store under the cache dir.
func (t *tarball) openStore() (*store.Store, error) {
	return store.Open(cachedir.Dir(t.cfg.CacheDir).Store())
}

// keptNote says where a failed build's work dir is kept, how many such
// dirs there are, and what removes them.
func (t *tarball) keptNote(dir string) string {
	ents, _ := os.ReadDir(cachedir.Dir(t.cfg.CacheDir).Builds())
	n := len(ents)
	if n <= 1 {
		return fmt.Sprintf("its work dir is kept at %s until hdo gc", dir)
	}
	return fmt.Sprintf("its work dir is kept at %s, one of %d that hdo gc removes", dir, n)
}
