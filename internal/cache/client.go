package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/renameio/v2"
	"github.com/hdo-build/hdo/internal/meter"
)

// ErrMiss is wrapped by the error Get returns when no cache has a usable
// entry for the package: the caller builds it locally.
var ErrMiss = errors.New("not in any binary cache")

// Client fetches packages from binary caches. Its methods are safe for
// concurrent use; set the fields before the first call.
type Client struct {
	// URLs are the cache base URLs tried in order, e.g.
	// https://cache.example.org/hdo or file:///srv/cache.
	URLs []string
	// Trusted are the keys an entry must be signed by. When empty, entries
	// are checked against their own .info only, with a note per cache.
	Trusted KeySet
	// BinaryOnly makes a package no cache has an error instead of a miss.
	BinaryOnly bool

	HTTP     *http.Client  // nil: a keep-alive client sized for Parallel
	Parallel int           // packages Prefetch downloads at once; default 32
	Tries    int           // attempts per file before a cache counts as failing; default 3
	Backoff  time.Duration // wait before the second try, doubled after; default 250ms
	Stall    time.Duration // a request with no data for this long fails; default 30s

	// Log receives warnings and notes, one line each without newline.
	// nil: "hdo: " lines on standard error.
	Log func(format string, args ...any)
	// Progress receives a status line (packages, bytes, rate) during
	// Prefetch, redrawn with \r; nil for none.
	Progress io.Writer

	once    sync.Once
	initErr error
	sources []*source
	httpc   *http.Client

	mu      sync.Mutex
	failing map[string]string  // base URL -> why it is not used any more
	noted   map[string]bool    // one-time notes already logged
	bad     map[string]error   // base URL + " " + pkghash -> why that entry is bad
	flights map[string]*flight // pkghash + " " + dest -> the get under way
}

// testHookWaiting, when set by a test, is called as a get starts waiting
// for another's download.
var testHookWaiting func()

// flight is one get under way; other gets of the same package into the
// same file wait for it instead of downloading it again.
type flight struct {
	done chan struct{}
	info *Info
	err  error
}

// ClientFromEnv returns a client configured by environ (in os.Environ
// form): HDO_CACHE_URL then PKG_CACHE_URL (space-separated base URLs),
// HDO_TRUSTED_KEYS (see LoadTrustedKeys) and HDO_BINARY_ONLY (1 or 0).
func ClientFromEnv(environ []string) (*Client, error) {
	env := make(map[string]string)
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	c := new(Client)
	seen := make(map[string]bool)
	for _, name := range []string{"HDO_CACHE_URL", "PKG_CACHE_URL"} {
		for _, u := range strings.Fields(env[name]) {
			if _, err := parseSource(u); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if !seen[u] {
				seen[u] = true
				c.URLs = append(c.URLs, u)
			}
		}
	}
	keys, err := LoadTrustedKeys(env["HDO_TRUSTED_KEYS"])
	if err != nil {
		return nil, err
	}
	c.Trusted = keys
	switch v := env["HDO_BINARY_ONLY"]; v {
	case "", "0", "false", "no":
	case "1", "true", "yes":
		c.BinaryOnly = true
	default:
		return nil, fmt.Errorf("HDO_BINARY_ONLY=%q: want 1 or 0", clip(v))
	}
	return c, nil
}

func (c *Client) init() error {
	c.once.Do(func() {
		if c.Parallel <= 0 {
			// A closure of small packages is bound by round trips: 100
			// of them at 50 ms take 7 rounds at 16, 4 at 32 (each
			// package is two requests, so up to 64 connections to one
			// cache, where Nix opens 25).
			c.Parallel = 32
		}
		if c.Tries <= 0 {
			c.Tries = 3
		}
		if c.Backoff <= 0 {
			c.Backoff = 250 * time.Millisecond
		}
		if c.Stall <= 0 {
			c.Stall = 30 * time.Second
		}
		for _, u := range c.URLs {
			s, err := parseSource(u)
			if err != nil {
				c.initErr = err
				return
			}
			c.sources = append(c.sources, s)
		}
		c.httpc = newHTTPClient(c.Parallel)
		if c.HTTP != nil {
			hc := *c.HTTP
			if hc.CheckRedirect == nil {
				hc.CheckRedirect = c.httpc.CheckRedirect
			}
			c.httpc = &hc
		}
		c.failing = make(map[string]string)
		c.noted = make(map[string]bool)
		c.bad = make(map[string]error)
		c.flights = make(map[string]*flight)
	})
	return c.initErr
}

// Get fetches the package pkghash into the file dest: the .info and the
// .tar.gz are requested together, the tarball streams to a temp file next
// to dest and is renamed into place only once its size, sha256, content
// hash and (with trusted keys) signature match. It returns the entry's
// Info, or an error wrapping ErrMiss when no cache has a good entry — or,
// in BinaryOnly mode, an error naming the package and every cache tried.
// Caches are tried in order; misses are never remembered.
func (c *Client) Get(ctx context.Context, pkghash, dest string) (*Info, error) {
	return c.get(ctx, pkghash, dest, nil)
}

// Prefetch gets every package in pkghashes at once, Parallel at a time,
// each into destFor(pkghash). The map holds the hits. Misses are not
// errors, except in BinaryOnly mode; the error joins every failure.
func (c *Client) Prefetch(ctx context.Context, pkghashes []string, destFor func(pkghash string) string) (map[string]*Info, error) {
	return c.PrefetchThen(ctx, pkghashes, destFor, nil)
}

// PrefetchThen is Prefetch, calling then (if not nil) for each hit as soon
// as its file is in place, while the other downloads go on: to start
// unpacking it, say. then runs in the hit's download slot; it should hand
// slow work to another goroutine.
func (c *Client) PrefetchThen(ctx context.Context, pkghashes []string, destFor func(pkghash string) string, then func(pkghash string, info *Info)) (map[string]*Info, error) {
	if err := c.init(); err != nil {
		return nil, err
	}
	var todo []string
	seen := make(map[string]bool)
	for _, h := range pkghashes {
		if !seen[h] {
			seen[h] = true
			todo = append(todo, h)
		}
	}
	prog := startProgress(c.Progress, len(todo))
	defer prog.close()

	var mu sync.Mutex
	hits := make(map[string]*Info)
	errs := make([]error, len(todo))
	sem := make(chan struct{}, c.Parallel)
	var wg sync.WaitGroup
	for i, h := range todo {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			info, err := c.get(ctx, h, destFor(h), prog)
			prog.done(err == nil)
			if err == nil {
				mu.Lock()
				hits[h] = info
				mu.Unlock()
				if then != nil {
					then(h, info)
				}
			} else if !errors.Is(err, ErrMiss) {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return hits, err
	}
	return hits, errors.Join(errs...)
}

func (c *Client) get(ctx context.Context, pkghash, dest string, prog *progress) (*Info, error) {
	if err := c.init(); err != nil {
		return nil, err
	}
	if !ValidHash(pkghash) {
		return nil, fmt.Errorf("cache get %q: not a pkghash (64 lowercase hex digits)", clip(pkghash))
	}
	key := pkghash + " " + dest
	for {
		c.mu.Lock()
		f, busy := c.flights[key]
		if !busy {
			f = &flight{done: make(chan struct{})}
			c.flights[key] = f
			c.mu.Unlock()
			f.info, f.err = c.getSources(ctx, pkghash, dest, prog)
			c.mu.Lock()
			delete(c.flights, key)
			c.mu.Unlock()
			close(f.done)
			return f.info, f.err
		}
		c.mu.Unlock()
		if testHookWaiting != nil {
			testHookWaiting()
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		// A get that was cancelled is no answer for one that was not.
		if f.err == nil || ctx.Err() != nil || !(errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
			return f.info, f.err
		}
	}
}

// getSources asks each cache in turn for pkghash, into dest. A cache that
// failed, or whose entry for pkghash was bad, earlier in this process is
// skipped without a second warning.
func (c *Client) getSources(ctx context.Context, pkghash, dest string, prog *progress) (*Info, error) {
	var tried []string
	for _, src := range c.sources {
		if reason := c.failingReason(src); reason != "" {
			tried = append(tried, src.url+": "+reason)
			continue
		}
		c.mu.Lock()
		known := c.bad[src.url+" "+pkghash]
		c.mu.Unlock()
		if known != nil {
			tried = append(tried, fmt.Sprintf("%s: bad entry: %v", src.url, known))
			continue
		}
		info, err := c.getFrom(ctx, src, pkghash, dest, prog)
		if err == nil {
			return info, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var fe *fetchError
		var be *badEntryError
		switch {
		case errors.As(err, &be):
			c.mu.Lock()
			c.bad[src.url+" "+pkghash] = be
			c.mu.Unlock()
			c.noteOnce("bad "+src.url+" "+pkghash, "cache %s: %v; treating it as a miss", src.url, be)
			tried = append(tried, fmt.Sprintf("%s: bad entry: %v", src.url, be))
		case errors.As(err, &fe) && fe.kind == kindMiss:
			tried = append(tried, src.url+": miss")
		case errors.As(err, &fe):
			tried = append(tried, src.url+": "+c.markFailing(src, fe))
		default:
			return nil, fmt.Errorf("cache get %s into %s: %w", pkghash, dest, err)
		}
	}
	switch {
	case !c.BinaryOnly:
		return nil, fmt.Errorf("%s: %w", pkghash, ErrMiss)
	case len(tried) == 0:
		return nil, fmt.Errorf("package %s: binary-only mode but no binary cache is configured; set HDO_CACHE_URL or unset HDO_BINARY_ONLY", pkghash)
	}
	return nil, fmt.Errorf("package %s is in no binary cache [%s]; binary-only mode forbids building it: unset HDO_BINARY_ONLY or drop --binary-only to build it locally",
		pkghash, strings.Join(tried, "; "))
}

// getFrom fetches pkghash from one cache. The .info and the tarball are
// requested at the same time, so a hit costs one round trip, not two; a
// miss or bad .info cancels the tarball.
func (c *Client) getFrom(ctx context.Context, src *source, pkghash, dest string, prog *progress) (*Info, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pf, err := renameio.NewPendingFile(dest, renameio.WithTempDir(filepath.Dir(dest)), renameio.WithStaticPermissions(0o644))
	if err != nil {
		return nil, err
	}
	defer pf.Cleanup()

	var (
		wantSize atomic.Int64 // from the .info once parsed; 0 before
		got      sums
		tarDone  = make(chan error, 1)
		known    = make(chan struct{}) // closed once wantSize is set
	)
	go func() {
		tarDone <- c.fetch(ctx, src, pkghash+".tar.gz", func(r io.Reader, length int64) error {
			if _, err := pf.Seek(0, io.SeekStart); err != nil {
				return err
			}
			if err := pf.Truncate(0); err != nil {
				return err
			}
			sink := &tarSink{name: pkghash + ".tar.gz", f: pf, h: newHasher(), limit: &wantSize, known: known, prog: prog, ctx: ctx}
			buf := make([]byte, 256<<10)
			if _, err := io.CopyBuffer(sink, r, buf); err != nil {
				sink.h.abort()
				return err
			}
			got = sink.h.finish()
			if want := wantSize.Load(); want > 0 && got.Size < want {
				err := fmt.Errorf("%w: got %d bytes, want %d", errBodyTruncated, got.Size, want)
				if length >= 0 {
					// The server sent all the bytes it announced: the
					// entry is short, and asking again cannot help (nor
					// is the whole cache unreachable).
					return badEntry("%s.tar.gz: %v", pkghash, err)
				}
				return &fetchError{kind: kindTransient, err: err}
			}
			return nil
		})
	}()

	var info *Info
	err = c.fetch(ctx, src, pkghash+".info", func(r io.Reader, length int64) error {
		if length > MaxInfoSize {
			return badEntry("%s.info is %d bytes, more than the %d allowed", pkghash, length, MaxInfoSize)
		}
		data, err := io.ReadAll(io.LimitReader(r, MaxInfoSize+1))
		if err != nil {
			return err
		}
		in, err := ParseInfo(data)
		if err != nil {
			return badEntry("%s.info: %v", pkghash, err)
		}
		if in.PkgHash != pkghash {
			return badEntry("%s.info: names pkghash %s", pkghash, in.PkgHash)
		}
		info = in
		return nil
	})
	if err == nil && len(c.Trusted) > 0 {
		if _, verr := c.Trusted.Verify(info); verr != nil {
			err = badEntry("%s.info: %v", pkghash, verr)
		}
	}
	if err != nil {
		cancel()
		<-tarDone
		return nil, err
	}
	wantSize.Store(info.Size)
	close(known)

	if err := <-tarDone; err != nil {
		var fe *fetchError
		if errors.As(err, &fe) && fe.kind == kindMiss {
			return nil, badEntry("%s.info is there but %s.tar.gz is not", pkghash, pkghash)
		}
		return nil, err
	}
	if err := got.check(info); err != nil {
		return nil, badEntry("%s.tar.gz: %v", pkghash, err)
	}
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return nil, err
	}
	if len(c.Trusted) == 0 {
		if src.base != nil && src.base.Scheme == "http" {
			c.noteOnce("unsigned "+src.url, "cache %s: plain http and no HDO_TRUSTED_KEYS: packages are checked only against the cache's own .info files, which anyone on the network path could forge; use https or set HDO_TRUSTED_KEYS", src.url)
		} else {
			c.noteOnce("unsigned "+src.url, "cache %s: HDO_TRUSTED_KEYS is not set: signatures are not checked, packages only against the cache's own .info files", src.url)
		}
	}
	return info, nil
}

// tarSink writes a downloading tarball to its temp file and hasher,
// refusing to grow past the size its .info gives.
type tarSink struct {
	name  string // e.g. <pkghash>.tar.gz
	f     io.Writer
	h     *hasher
	n     int64
	limit *atomic.Int64
	known <-chan struct{} // closed once limit is set
	prog  *progress
	ctx   context.Context // its meter counts the bytes (see internal/meter)
}

// PreInfoBytes is how much of a tarball is downloaded before its .info
// has said how large it is: the tarball and the .info are fetched at once,
// but a cache that trickles the .info cannot stream gigabytes meanwhile.
const PreInfoBytes = 8 << 20

func (s *tarSink) Write(p []byte) (int, error) {
	if s.limit.Load() == 0 && s.n+int64(len(p)) > PreInfoBytes {
		select {
		case <-s.known:
		case <-s.ctx.Done():
			return 0, s.ctx.Err()
		}
	}
	s.n += int64(len(p))
	if l := s.limit.Load(); l > 0 && s.n > l {
		return 0, badEntry("%s: larger than the %d bytes its .info gives", s.name, l)
	}
	if _, err := s.f.Write(p); err != nil {
		return 0, err
	}
	s.h.Write(p)
	s.prog.add(len(p))
	meter.Add(s.ctx, int64(len(p)))
	return len(p), nil
}

// markFailing stops using src for the rest of the process, with one
// warning, and returns the reason.
func (c *Client) markFailing(src *source, fe *fetchError) string {
	reason := fmt.Sprintf("unusable: %v", fe.err)
	if fe.kind == kindTransient {
		reason = fmt.Sprintf("unreachable after %d tries: %v", fe.tries, fe.err)
	}
	c.mu.Lock()
	old, seen := c.failing[src.url]
	if !seen {
		c.failing[src.url] = reason
	}
	c.mu.Unlock()
	if seen {
		return old
	}
	next := "building locally"
	if c.BinaryOnly {
		next = "not using it for the rest of this run"
	}
	c.logf("cache %s: %s; %s", src.url, reason, next)
	return reason
}

func (c *Client) failingReason(src *source) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failing[src.url]
}

func (c *Client) noteOnce(key, format string, args ...any) {
	c.mu.Lock()
	seen := c.noted[key]
	c.noted[key] = true
	c.mu.Unlock()
	if !seen {
		c.logf(format, args...)
	}
}

func (c *Client) logf(format string, args ...any) {
	if c.Log != nil {
		c.Log(format, args...)
		return
	}
	fmt.Fprintf(os.Stderr, "hdo: "+format+"\n", args...)
}
