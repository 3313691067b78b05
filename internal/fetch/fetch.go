package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hdo-build/hdo/internal/meter"
	"github.com/hdo-build/hdo/internal/pkgtree"
)

// Source is a file to fetch. pkgspec.Source has the same fields and
// converts to it.
type Source struct {
	Name   string   // file name, used in messages, e.g. make-4.4.tar.gz
	SHA256 string   // 64 lowercase hex digits
	URLs   []string // http, https, file or mirror://NAME/path, tried in order
	Size   int64    // bytes, when pinned (a seed lock's .debs); 0: unknown, at most Fetcher.MaxSize
	// Origin and SumOrigin say where the source and its sum are declared,
	// e.g. pkg/make/fetch:3 and pkg/make/sha256sums:2 (a seed lock's line
	// for both), for the line a failure ends with; "" if nowhere.
	Origin, SumOrigin string
}

// Fetcher fetches sources into a cache directory. The zero value of every
// field but CacheDir is usable; a Fetcher may be used by several
// goroutines at once.
type Fetcher struct {
	CacheDir      string                     // e.g. $XDG_CACHE_HOME/hdo/sources
	SourceMirrors []string                   // bases serving <base>/<sha256>, tried before the URLs, e.g. https://src.example/hdo
	Mirrors       map[string][]string        // bases for mirror://NAME by lower-case NAME, e.g. "gnu": {"https://ftp.example/gnu"}
	MirrorFunc    func(name string) []string // bases for a lower-case NAME Mirrors lacks, asked when a URL first needs it; nil: none
	Client        *http.Client               // nil: a client with connect and response timeouts
	Parallel      int                        // downloads at once; 0 means 4
	MaxSize       int64                      // bytes a source of unknown size may have; 0 means 16 GiB
	Retries       int                        // extra tries of one URL after a transient error; 0 means 3, negative none
	RetryDelay    time.Duration              // backoff before the first retry, doubled for each next one; 0 means 1s
	StallTimeout  time.Duration              // a download receiving nothing this long is retried; 0 means 1m
	AnswerTimeout time.Duration              // a server sending no response this long is given up for the next URL (or, the last, retried with twice the time); 0 means 5s
	Verify        bool                       // re-hash cache hits; a bad one is removed and fetched again
	Progress      io.Writer                  // nil: quiet; on a terminal a live status line, else "fetched NAME (SIZE)" lines
	Log           func(format string, args ...any)
}

// URLError is the failure of one URL.
type URLError struct {
	URL    string // e.g. https://ftp.example/make-4.4.tar.gz
	Mirror string // the mirror:// name URL is a base of, e.g. gnu; "" if none
	Err    error
}

func (e *URLError) Error() string { return "fetch " + e.URL + ": " + e.Err.Error() }
func (e *URLError) Unwrap() error { return e.Err }

// MismatchError is a download whose content has the wrong sha256.
type MismatchError struct {
	Got, Want string // hex sha256
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("sha256 mismatch: got %s, want %s", e.Got, e.Want)
}

// SourceError is a source that no URL could provide. Its text is one
// line that says where the source is declared, the last URL's failure and
// what to check; the failures before it went to Fetcher.Log as they
// happened, so each is said once.
type SourceError struct {
	Name              string      // e.g. make-4.4.tar.gz
	Origin, SumOrigin string      // as in Source
	Want              string      // the sha256 asked for; "" for Prefetch
	Failures          []*URLError // one per URL tried, in order
}

func (e *SourceError) Error() string {
	var b strings.Builder
	if e.Origin != "" {
		b.WriteString(e.Origin + ": ")
	}
	fmt.Fprintf(&b, "fetch %s: ", e.Name)
	n := len(e.Failures)
	if n == 0 {
		b.WriteString("no URL to try; add one")
		return b.String()
	}
	k := e.Key()
	key := e.Failures[k]
	others := ""
	switch n {
	case 1:
	case 2:
		others = " (the other URL failed too)"
	default:
		others = fmt.Sprintf(" (the %d other URLs failed too)", n-1)
	}
	var mm *MismatchError
	if errors.As(key.Err, &mm) {
		fmt.Fprintf(&b, "%s serves a file with sha256 %s, not %s", key.URL, mm.Got, mm.Want)
		switch {
		case e.SumOrigin != "" && e.SumOrigin == e.Origin:
			fmt.Fprintf(&b, "%s; if it is the right file, pin its sum there", others)
		case e.SumOrigin != "":
			fmt.Fprintf(&b, " as %s says%s; if it is the right file, put its sum there", e.SumOrigin, others)
		default:
			fmt.Fprintf(&b, "%s; if it is the right file, its sum is wrong", others)
		}
		return b.String()
	}
	if n > 1 {
		fmt.Fprintf(&b, "every URL failed, %d tried, the last with ", n)
	}
	fmt.Fprintf(&b, "%s: %v; check the url", key.URL, key.Err)
	if e.Origin != "" {
		b.WriteString(" there")
	}
	for _, m := range e.mirrors() {
		fmt.Fprintf(&b, " and the mirrors of mirror://%s/, set by HDO_MIRROR_%s", m, strings.ReplaceAll(strings.ToUpper(m), "-", "_"))
	}
	return b.String()
}

// Key is the index of the failure the error's text reports: the last
// wrong sum if a URL served one (the file exists, so its sum is the
// likely mistake), else the last failure. Fetcher logs the others.
func (e *SourceError) Key() int {
	for i := len(e.Failures) - 1; i >= 0; i-- {
		var mm *MismatchError
		if errors.As(e.Failures[i].Err, &mm) {
			return i
		}
	}
	return len(e.Failures) - 1
}

// mirrors lists the mirror:// names whose bases were tried.
func (e *SourceError) mirrors() []string {
	var names []string
	for _, f := range e.Failures {
		if f.Mirror != "" && !slices.Contains(names, f.Mirror) {
			names = append(names, f.Mirror)
		}
	}
	return names
}

func (e *SourceError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f
	}
	return errs
}

// defaultClient bounds connecting and waiting for a response; a stalled
// body is caught by StallTimeout.
var defaultClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	TLSHandshakeTimeout:   30 * time.Second,
	ResponseHeaderTimeout: time.Minute,
	MaxIdleConnsPerHost:   8,
	ForceAttemptHTTP2:     true,
}}

// Path is where the file with the given sha256 is in the cache.
func (f *Fetcher) Path(sha string) string { return filepath.Join(f.CacheDir, sha) }

// Fetch makes sure every source is in the cache and returns their cache
// paths in the order of srcs. Missing files are downloaded in parallel;
// sources with one sha256 are downloaded once. If any source fails, the
// error lists each one's failures. A canceled ctx stops every download and
// returns ctx's error; it may leave .part files, never an unverified
// <sha256>.
func (f *Fetcher) Fetch(ctx context.Context, srcs []Source) ([]string, error) {
	paths, errs, err := f.FetchEach(ctx, srcs)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	switch len(failed) {
	case 0:
		return paths, nil
	case 1:
		return nil, failed[0]
	}
	return nil, errors.Join(failed...)
}

// FetchEach is Fetch reporting each source's outcome: its cache path or
// its error, in the order of srcs (a source repeated by sha256 shares the
// first one's). err is for the request as a whole: a bad sum or mirror
// name, no cache dir.
func (f *Fetcher) FetchEach(ctx context.Context, srcs []Source) (paths []string, errs []error, err error) {
	if f.CacheDir == "" {
		return nil, nil, errors.New("fetch: no source cache directory")
	}
	for _, s := range srcs {
		if !validSum(s.SHA256) {
			return nil, nil, fmt.Errorf("fetch %s: sha256 %q is not 64 lowercase hex digits", s.Name, s.SHA256)
		}
	}
	if err := f.checkMirrorNames(srcs); err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(f.CacheDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("fetch: %w", err)
	}
	// Announce the pinned sizes still to download, for a total beside
	// the count (internal/meter).
	var expect int64
	seen := map[string]bool{}
	for _, s := range srcs {
		if s.Size > 0 && !seen[s.SHA256] {
			seen[s.SHA256] = true
			if _, err := os.Stat(f.Path(s.SHA256)); err != nil {
				expect += s.Size
			}
		}
	}
	meter.Expect(ctx, expect)
	paths = make([]string, len(srcs))
	errs = make([]error, len(srcs))
	first := make(map[string]int)
	prog := newProgress(f.Progress)
	defer prog.close()
	sem := make(chan struct{}, f.parallel())
	var wg sync.WaitGroup
	for i, s := range srcs {
		if _, ok := first[s.SHA256]; ok {
			continue
		}
		first[s.SHA256] = i
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			paths[i], errs[i] = f.fetch(ctx, s, prog)
		}()
	}
	wg.Wait()
	for i, s := range srcs {
		if j := first[s.SHA256]; j != i {
			paths[i], errs[i] = paths[j], errs[j]
		}
	}
	return paths, errs, nil
}

func (f *Fetcher) parallel() int {
	if f.Parallel > 0 {
		return f.Parallel
	}
	return 4
}

// logFailures logs each URL's failure once, when the source is done: all
// of them after a later URL gave it, all but the one the error reports
// (skip) when none did.
func (f *Fetcher) logFailures(fails []*URLError, quiet []bool, skip int) {
	for i, ue := range fails {
		if i != skip && !quiet[i] {
			f.logf("%v", ue)
		}
	}
}

func (f *Fetcher) logf(format string, args ...any) {
	if f.Log != nil {
		f.Log(format, args...)
	}
}

// fetch gets one source into the cache.
func (f *Fetcher) fetch(ctx context.Context, src Source, prog *progress) (string, error) {
	final := f.Path(src.SHA256)
	if ok, err := f.cached(src, final); ok || err != nil {
		return final, err
	}
	cands := f.candidates(src)
	if len(cands) == 0 {
		return "", fmt.Errorf("fetch %s: not in the cache and no URL to fetch it from; add a url to fetch", src.Name)
	}
	part, err := lockPart(ctx, f.CacheDir, src.SHA256)
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", src.Name, err)
	}
	defer part.release()
	// Another process may have finished it while we waited for the lock.
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	if err := f.tryAll(ctx, src, cands, part, prog); err != nil {
		return "", err
	}
	if err := part.commit(final); err != nil {
		return "", fmt.Errorf("fetch %s: %w", src.Name, err)
	}
	return final, nil
}

// tryAll tries the candidates in order until one fills part with content
// of src's sum (any content, for Prefetch's empty sum). Each failure is
// logged once, when the source is done, but for the one a *SourceError
// reports when none succeeded; ctx's error ends it at once.
func (f *Fetcher) tryAll(ctx context.Context, src Source, cands []candidate, part *partFile, prog *progress) error {
	var fails []*URLError
	var quiet []bool // a source mirror's miss, which is normal, or said when it happened
	for i, c := range cands {
		if c.err == nil {
			c.err = f.tryURL(ctx, c.url, src, part, prog, i == len(cands)-1)
			if c.err == nil {
				f.logFailures(fails, quiet, -1)
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		fails = append(fails, &URLError{URL: c.url, Mirror: c.mirror, Err: c.err})
		var na *noAnswerError
		quiet = append(quiet, c.sourceMirror && notFound(c.err) || errors.As(c.err, &na))
	}
	se := &SourceError{Name: src.Name, Origin: src.Origin, SumOrigin: src.SumOrigin, Want: src.SHA256, Failures: fails}
	f.logFailures(fails, quiet, se.Key())
	return se
}

// cached reports whether final is in the cache, re-hashing it if f.Verify
// is set.
func (f *Fetcher) cached(src Source, final string) (bool, error) {
	st, err := os.Stat(final)
	if err != nil || !st.Mode().IsRegular() {
		return false, nil
	}
	if !f.Verify {
		return true, nil
	}
	got, err := hashFile(final)
	if err != nil {
		return false, fmt.Errorf("fetch %s: verify cache: %w", src.Name, err)
	}
	if got == src.SHA256 {
		return true, nil
	}
	f.logf("fetch %s: cached %s has sha256 %s; fetching it again", src.Name, final, got)
	if err := os.Remove(final); err != nil {
		return false, fmt.Errorf("fetch %s: %w", src.Name, err)
	}
	return false, nil
}

type candidate struct {
	url          string
	mirror       string // the mirror:// name url is a base of
	err          error  // set when the URL cannot be tried at all
	sourceMirror bool   // a HDO_SOURCE_MIRRORS base, where a miss is normal
}

// candidates lists the URLs to try: source mirrors first, then each URL
// with mirror:// expanded into every configured base.
func (f *Fetcher) candidates(src Source) []candidate {
	var out []candidate
	for _, b := range f.SourceMirrors {
		if src.SHA256 == "" {
			break // Prefetch: a source mirror serves files by their sum
		}
		out = append(out, candidate{url: strings.TrimRight(b, "/") + "/" + src.SHA256, sourceMirror: true})
	}
	for _, raw := range src.URLs {
		scheme, rest, ok := strings.Cut(raw, "://")
		if !ok || !strings.EqualFold(scheme, "mirror") {
			out = append(out, candidate{url: raw})
			continue
		}
		name, p, _ := strings.Cut(rest, "/")
		bases := f.Mirrors[strings.ToLower(name)]
		if len(bases) == 0 && f.MirrorFunc != nil {
			bases = f.MirrorFunc(strings.ToLower(name))
		}
		if len(bases) == 0 {
			hint := ""
			if strings.EqualFold(name, "goproxy") {
				hint = " or GOPROXY (or put go on PATH: `go env GOPROXY` is asked)"
			}
			out = append(out, candidate{
				url: "mirror://" + name,
				err: fmt.Errorf("no mirrors configured; set HDO_MIRROR_%s%s", strings.ReplaceAll(strings.ToUpper(name), "-", "_"), hint),
			})
		}
		for _, b := range bases {
			out = append(out, candidate{url: strings.TrimRight(b, "/") + "/" + p, mirror: strings.ToLower(name)})
		}
	}
	return out
}

func notFound(err error) bool {
	var se *statusError
	return errors.As(err, &se) && (se.code == http.StatusNotFound || se.code == http.StatusGone)
}

// validSum reports whether s is a sha256 as hdo names sources: 64
// lowercase hex digits.
func validSum(s string) bool { return pkgtree.IsHex64(s) }

func hashFile(name string) (string, error) {
	r, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// parseURL parses a candidate URL for download.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, err
	}
	return u, nil
}

// NotFound reports whether err is a SourceError whose every URL answered
// "not found" (HTTP 404 or 410, or a missing file:// file): the source is
// gone rather than unreachable.
func NotFound(err error) bool {
	var se *SourceError
	if !errors.As(err, &se) || len(se.Failures) == 0 {
		return false
	}
	for _, f := range se.Failures {
		if !notFound(f.Err) && !errors.Is(f.Err, fs.ErrNotExist) {
			return false
		}
	}
	return true
}
