package cache

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"github.com/hdo-build/hdo/internal/regfile"
)

// source is one cache base URL.
type source struct {
	url  string   // as configured, e.g. https://cache.example.org/hdo
	base *url.URL // http and https
	dir  string   // file://
}

func parseSource(raw string) (*source, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("cache URL %q: %v", raw, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("cache URL %q: no host", raw)
		}
		return &source{url: raw, base: u}, nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("cache URL %q: file URLs name a local directory; want file:///path", raw)
		}
		if !filepath.IsAbs(u.Path) {
			return nil, fmt.Errorf("cache URL %q: want an absolute path, file:///path", raw)
		}
		return &source{url: raw, dir: filepath.Clean(u.Path)}, nil
	}
	return nil, fmt.Errorf("cache URL %q: unsupported scheme; use http://, https:// or file:///", raw)
}

// fetchKind sorts failures by what the client does next.
type fetchKind int

const (
	// kindMiss: the cache does not have the file (404, 410, no such file).
	kindMiss fetchKind = iota + 1
	// kindTransient: worth retrying (5xx, 408, 429, network errors,
	// stalls, truncated bodies).
	kindTransient
	// kindFatal: retrying cannot help and the cache is misconfigured (403,
	// redirect loop, bad certificate, unreadable directory).
	kindFatal
)

// fetchError is a failure to fetch one file from one cache.
type fetchError struct {
	kind  fetchKind
	url   string
	err   error
	tries int // attempts made, when more than one
}

func (e *fetchError) Error() string {
	if e.tries > 1 {
		return fmt.Sprintf("%s: %v (after %d tries)", e.url, e.err, e.tries)
	}
	return fmt.Sprintf("%s: %v", e.url, e.err)
}

func (e *fetchError) Unwrap() error { return e.err }

// badEntryError marks an entry the cache has but must not be installed: a
// malformed or oversized .info, a checksum or signature mismatch.
type badEntryError struct{ err error }

func (e *badEntryError) Error() string { return e.err.Error() }
func (e *badEntryError) Unwrap() error { return e.err }

func badEntry(format string, args ...any) error {
	return &badEntryError{fmt.Errorf(format, args...)}
}

var (
	errStalled       = errors.New("stalled")
	errRedirectLoop  = errors.New("too many redirects")
	errRedirectAway  = errors.New("redirect to a scheme other than http or https")
	errBodyTruncated = errors.New("truncated body")
)

// consumer reads one response body; length is -1 when unknown. It is called
// again, from the start, on every retry.
type consumer func(r io.Reader, length int64) error

// fetch gets name from src with retries and hands the body to consume. The
// returned error is a *fetchError, a *badEntryError or any error from
// consume (a local failure), or the context's error when ctx ends.
func (c *Client) fetch(ctx context.Context, src *source, name string, consume consumer) error {
	if src.dir != "" {
		return fetchFile(ctx, src, name, consume)
	}
	u := src.base.JoinPath(name).String()
	for try := 1; ; try++ {
		err := c.fetchHTTP(ctx, u, consume)
		var fe *fetchError
		if !errors.As(err, &fe) || fe.kind != kindTransient {
			return err
		}
		fe.tries = try
		if try >= c.Tries || c.failingReason(src) != "" {
			return fe
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(c.Backoff << (try - 1)):
		}
	}
}

func fetchFile(ctx context.Context, src *source, name string, consume consumer) error {
	p := filepath.Join(src.dir, name)
	f, err := regfile.Open(p) // a FIFO would block the open
	if errors.Is(err, fs.ErrNotExist) {
		return &fetchError{kind: kindMiss, url: p, err: fs.ErrNotExist}
	}
	if err != nil {
		return &fetchError{kind: kindFatal, url: p, err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return &fetchError{kind: kindFatal, url: p, err: err}
	}
	if !st.Mode().IsRegular() {
		return &fetchError{kind: kindFatal, url: p, err: errors.New("not a regular file")}
	}
	body := &bodyReader{r: f, ctx: ctx}
	if err := consume(body, st.Size()); err != nil {
		var fe *fetchError
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case body.err != nil:
			return &fetchError{kind: kindFatal, url: p, err: body.err}
		case errors.As(err, &fe):
			// A short file is no network hiccup: retrying cannot help.
			return badEntry("%s: %v", name, fe.err)
		}
		return err
	}
	return nil
}

// fetchHTTP makes one attempt. A stall timer cancels the attempt when no
// byte arrives for c.Stall, so a slow but moving download of any size goes
// on while a dead one fails.
func (c *Client) fetchHTTP(ctx context.Context, u string, consume consumer) error {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stall := time.AfterFunc(c.Stall, func() { cancel(errStalled) })
	defer stall.Stop()

	fail := func(kind fetchKind, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if context.Cause(actx) == errStalled {
			return &fetchError{kind: kindTransient, url: u, err: fmt.Errorf("no data for %v", c.Stall)}
		}
		return &fetchError{kind: kind, url: u, err: err}
	}

	req, err := http.NewRequestWithContext(actx, http.MethodGet, u, nil)
	if err != nil {
		return &fetchError{kind: kindFatal, url: u, err: err}
	}
	req.Header.Set("User-Agent", "hdo")
	resp, err := c.httpc.Do(req)
	if err != nil {
		return fail(classifyNetError(err), err)
	}
	defer resp.Body.Close()
	switch s := resp.StatusCode; {
	case s == http.StatusOK:
	case s == http.StatusNotFound || s == http.StatusGone:
		return &fetchError{kind: kindMiss, url: u, err: errors.New(resp.Status)}
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		return fail(kindTransient, errors.New(resp.Status))
	default:
		return fail(kindFatal, fmt.Errorf("unexpected status %s", resp.Status))
	}
	body := &bodyReader{r: resp.Body, stall: stall, d: c.Stall}
	if err := consume(body, resp.ContentLength); err != nil {
		if body.err != nil {
			return fail(kindTransient, body.err)
		}
		var fe *fetchError
		if errors.As(err, &fe) {
			fe.url = u
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}

// classifyNetError decides whether a failed request is worth retrying.
func classifyNetError(err error) fetchKind {
	var cert *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostname x509.HostnameError
	if errors.Is(err, errRedirectLoop) || errors.Is(err, errRedirectAway) || errors.As(err, &cert) || errors.As(err, &unknownAuth) || errors.As(err, &hostname) {
		return kindFatal
	}
	return kindTransient
}

// bodyReader remembers read errors, so that a failure of the transfer is
// told apart from a failure of what consumes it, and feeds the stall timer.
type bodyReader struct {
	r     io.Reader
	err   error
	stall *time.Timer
	d     time.Duration
	ctx   context.Context // checked between reads of a local file
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.ctx != nil && b.ctx.Err() != nil {
		return 0, b.ctx.Err()
	}
	n, err := b.r.Read(p)
	if n > 0 && b.stall != nil {
		b.stall.Reset(b.d)
	}
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// newHTTPClient returns the client used when Client.HTTP is nil: keep-alive
// connections for every parallel download, raw bytes (no transparent gzip
// decoding of .tar.gz files) and redirect loops reported as such.
func newHTTPClient(parallel int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// .info and .tar.gz of each package are fetched at the same time.
	t.MaxIdleConnsPerHost = 2 * parallel
	t.MaxIdleConns = max(t.MaxIdleConns, 4*parallel)
	t.DisableCompression = true
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return fmt.Errorf("%w (%d)", errRedirectLoop, len(via))
			}
			// A cache's redirect is followed to another web server only,
			// never to a local file (file://) or anything else.
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("%w: %s", errRedirectAway, req.URL.Redacted())
			}
			return nil
		},
	}
}
