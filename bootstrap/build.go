package bootstrap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"
	"github.com/hdo-build/hdo/internal/archive"
	"github.com/hdo-build/hdo/internal/cachedir"
	"github.com/hdo-build/hdo/internal/pkgtree"
	"github.com/hdo-build/hdo/internal/rmtree"
)

// Options configures Build, BuildRoot and BuildStage0.
type Options struct {
	// CacheDir keeps finished seed tarballs by key; default
	// $XDG_CACHE_HOME/hdo/bootstrap (os.UserCacheDir).
	CacheDir string
	// TempDir holds the root under construction; default os.TempDir().
	TempDir string
	// Fetch downloads a file whose sha256 is known, trying its URLs in
	// order (mirror://debian/pool/... for debs, the GOPROXY URL for the Go
	// toolchain), and returns the path of the verified file. When every
	// URL answers "not found" its error must satisfy errors.Is(err,
	// ErrNotFound) or errors.Is(err, fs.ErrNotExist). Needed only for
	// locks with deb or gotoolchain lines.
	Fetch func(ctx context.Context, r FetchRequest) (string, error)
	// Prefetch, if set, downloads many files at once (in parallel, with
	// one total to show) before the debs are installed one by one, and
	// returns each one's error, nil when it is fetched; Fetch then finds
	// them in place.
	Prefetch func(ctx context.Context, rs []FetchRequest) []error
	// Go is the go command that starts stage0 builds (it switches to the
	// lock's toolchain through GOTOOLCHAIN); default "go" from PATH.
	Go string
	// GoProxy is the module proxy list for the Go toolchain zip URL;
	// default $GOPROXY, else `go env GOPROXY`.
	GoProxy string
	// Log receives progress lines and the output of failed commands; nil
	// discards progress (failures are in the returned error either way).
	Log io.Writer
}

// FetchRequest is one file a seed needs, as Options.Fetch gets it.
type FetchRequest struct {
	Name   string // the file's name, e.g. libc6_2.36-9_amd64.deb
	SHA256 string
	Size   int64    // the pinned size, which a download must not exceed; 0 when unknown
	URLs   []string // tried in order
	Origin string   // the lock line that pins it, e.g. pkg/seed/seed.lock:12
}

// ErrNotFound is the error (wrapped) a Fetch function returns when no URL
// has the file.
var ErrNotFound = errors.New("not found")

// StaleDebError reports a pinned .deb that the mirror no longer has.
type StaleDebError struct {
	Lock    string // e.g. pkg/seed/seed.lock
	Line    int    // the deb line, e.g. 12
	Name    string // e.g. gcc-12
	Version string // e.g. 12.2.0-14
	Mirror  string // e.g. debian
	Err     error  // the fetch error
}

func (e *StaleDebError) Error() string {
	where := "the " + e.Mirror + " mirror"
	if e.Mirror == "debian" {
		where = "the Debian mirror"
	}
	dir := filepath.Dir(e.Lock)
	return fmt.Sprintf("%s:%d: %s %s is no longer on %s; run 'hdo bootstrap lock %s' to re-pin", e.Lock, e.Line, e.Name, e.Version, where, dir)
}

func (e *StaleDebError) Unwrap() error { return e.Err }

// Build returns the seed tarball for the lock, building it into
// Options.CacheDir unless it is there already. The tarball is named by the
// lock's Key, so the same lock reuses it across runs and trees; contentHash
// is the blake3 of its uncompressed tar stream. Concurrent builds of one
// key in several processes wait for each other.
func Build(ctx context.Context, lock *Lock, opts Options) (tarball, contentHash string, err error) {
	dir := opts.CacheDir
	if dir == "" {
		cache, err := cachedir.Default(os.Getenv)
		if err != nil {
			return "", "", fmt.Errorf("bootstrap cache: %w", err)
		}
		dir = cache.Seeds()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("bootstrap cache: %w", err)
	}
	key := lock.Key()
	tarball = filepath.Join(dir, key+".tar.gz")
	sumFile := filepath.Join(dir, key+".blake3")
	if sum, ok := cached(tarball, sumFile); ok {
		return tarball, sum, nil
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, key+".lock"))
	if err != nil {
		return "", "", fmt.Errorf("bootstrap cache: %w", err)
	}
	defer unlock()
	if sum, ok := cached(tarball, sumFile); ok {
		return tarball, sum, nil
	}

	tmp, err := os.MkdirTemp(opts.TempDir, "hdo-seed-")
	if err != nil {
		return "", "", err
	}
	defer rmtree.Remove(tmp)
	rootDir := filepath.Join(tmp, "root")
	if err := os.Mkdir(rootDir, 0o755); err != nil {
		return "", "", err
	}
	if err := BuildRoot(ctx, lock, rootDir, opts); err != nil {
		return "", "", err
	}
	logf(opts.Log, "bootstrap: writing %s", tarball)
	sum, err := archive.WriteTarGzFile(tarball, rootDir)
	if err != nil {
		return "", "", fmt.Errorf("write seed tarball: %w", err)
	}
	// The sum is metadata pointing at the tarball: renamed in after it.
	if err := renameio.WriteFile(sumFile, []byte(sum+"\n"), 0o644); err != nil {
		return "", "", fmt.Errorf("write seed tarball hash: %w", err)
	}
	return tarball, sum, nil
}

// cached returns the content hash of a finished cache entry. A missing or
// malformed entry is a miss.
func cached(tarball, sumFile string) (string, bool) {
	data, err := os.ReadFile(sumFile)
	if err != nil {
		return "", false
	}
	sum := strings.TrimSpace(string(data))
	if !pkgtree.IsHex64(sum) {
		return "", false
	}
	if _, err := os.Stat(tarball); err != nil {
		return "", false
	}
	return sum, true
}

// BuildRoot builds the seed root of the lock into dir (an empty
// directory): the debs in lock order, the Go toolchain at /usr/local/go,
// the stage0 commands, then the links.
func BuildRoot(ctx context.Context, lock *Lock, dir string, opts Options) error {
	if (len(lock.Debs) > 0 || lock.GoToolchain != nil) && opts.Fetch == nil {
		return fmt.Errorf("%s: the lock has deb or gotoolchain lines but no fetcher is configured", lock.Name)
	}
	r, err := openRoot(dir)
	if err != nil {
		return err
	}
	defer r.close()
	if opts.Prefetch != nil && len(lock.Debs) > 0 {
		reqs := make([]FetchRequest, len(lock.Debs))
		for i, d := range lock.Debs {
			reqs[i] = debRequest(lock, d)
		}
		for i, err := range opts.Prefetch(ctx, reqs) {
			if err != nil {
				return debFetchError(lock, lock.Debs[i], err)
			}
		}
	}
	for _, d := range lock.Debs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := installDeb(ctx, r, lock, d, opts); err != nil {
			return err
		}
	}
	if t := lock.GoToolchain; t != nil {
		if err := installGoToolchain(ctx, r, lock, t, opts); err != nil {
			return err
		}
	}
	if len(lock.Cmds) > 0 {
		if err := buildStage0(ctx, lock, r, opts); err != nil {
			return err
		}
	}
	for _, pr := range lock.Prunes {
		if err := r.prune(strings.TrimPrefix(pr.Path, "/")); err != nil {
			return &LockError{lock.Name, pr.Line, "prune: " + err.Error()}
		}
	}
	for _, k := range lock.Links {
		if err := r.symlink(strings.TrimPrefix(k.Path, "/"), k.Target); err != nil {
			return &LockError{lock.Name, k.Line, "link: " + err.Error()}
		}
	}
	if r.dropped > 0 {
		logf(opts.Log, "bootstrap: left out %d device nodes and fifos", r.dropped)
	}
	return r.finish()
}

// installDeb fetches, verifies and extracts one pinned .deb.
func installDeb(ctx context.Context, r *root, lock *Lock, d Deb, opts Options) error {
	logf(opts.Log, "bootstrap: deb %s %s", d.Name, d.Version)
	file, err := opts.Fetch(ctx, debRequest(lock, d))
	if err != nil {
		return debFetchError(lock, d, err)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := verifyFile(f, d.Size, d.SHA256); err != nil {
		return fmt.Errorf("%s:%d: deb %s: %s: %w", lock.Name, d.Line, d.Name, file, err)
	}
	control, err := readDeb(f, r.extractTar)
	if err != nil {
		return fmt.Errorf("%s:%d: deb %s: %w", lock.Name, d.Line, d.Name, err)
	}
	if control["package"] != d.Name || control["version"] != d.Version {
		return fmt.Errorf("%s:%d: deb %s: the package says it is %s %s, want %s %s", lock.Name, d.Line, d.Name, control["package"], control["version"], d.Name, d.Version)
	}
	return nil
}

// debRequest is what fetching the deb d of lock asks for.
func debRequest(lock *Lock, d Deb) FetchRequest {
	return FetchRequest{Name: path.Base(d.URL), SHA256: d.SHA256, Size: d.Size, URLs: []string{d.URL},
		Origin: fmt.Sprintf("%s:%d", lock.Name, d.Line)}
}

// debFetchError is the error of a failed fetch of the deb d: a
// StaleDebError when no mirror has it, else the fetcher's own.
func debFetchError(lock *Lock, d Deb, err error) error {
	if errors.Is(err, ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		m := mirrorRE().FindStringSubmatch(d.URL)
		return &StaleDebError{Lock: lock.Name, Line: d.Line, Name: d.Name, Version: d.Version, Mirror: m[1], Err: err}
	}
	return err
}

// verifyFile checks the size and sha256 of f and rewinds it.
func verifyFile(f *os.File, size int64, sum string) error {
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("got %d bytes, want %d", n, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return fmt.Errorf("got sha256 %s, want %s", got, sum)
	}
	_, err = f.Seek(0, io.SeekStart)
	return err
}

// installGoToolchain fetches the pinned Go toolchain zip from the module
// proxy and unpacks it at /usr/local/go.
func installGoToolchain(ctx context.Context, r *root, lock *Lock, t *GoToolchain, opts Options) error {
	logf(opts.Log, "bootstrap: Go toolchain %s", t.Version)
	proxy, err := goProxyURL(ctx, opts)
	if err != nil {
		return fmt.Errorf("%s:%d: %w", lock.Name, t.Line, err)
	}
	modVersion := toolchainModVersion(t.Version, lock.Arch)
	url := proxy + "/golang.org/toolchain/@v/" + modVersion + ".zip"
	file, err := opts.Fetch(ctx, FetchRequest{Name: t.Version + ".linux-" + lock.Arch + ".zip", SHA256: t.SHA256, URLs: []string{url},
		Origin: fmt.Sprintf("%s:%d", lock.Name, t.Line)})
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	info, err := f.Stat()
	if err == nil {
		err = verifyFile(f, info.Size(), t.SHA256)
	}
	f.Close()
	if err != nil {
		return fmt.Errorf("%s:%d: gotoolchain %s: %w", lock.Name, t.Line, file, err)
	}
	if err := r.extractGoToolchain(file, t.Version, lock.Arch); err != nil {
		return fmt.Errorf("%s:%d: gotoolchain %s: %w", lock.Name, t.Line, t.Version, err)
	}
	return nil
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
