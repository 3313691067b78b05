package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hdo-build/hdo/internal/meter"
	"github.com/hdo-build/hdo/internal/regfile"
)

// errRestart means the .part file was dropped and the same URL should be
// tried again at once from the start.
var errRestart = errors.New("restart from the beginning")

// statusError is an HTTP response other than 200 or 206.
type statusError struct {
	code   int
	status string // e.g. 404 Not Found
}

func (e *statusError) Error() string { return "HTTP " + e.status }

// stallError is a download that received nothing for too long.
type stallError struct{ d time.Duration }

func (e *stallError) Error() string   { return fmt.Sprintf("stalled: nothing received for %v", e.d) }
func (e *stallError) Timeout() bool   { return true }
func (e *stallError) Temporary() bool { return true }

// noAnswerError is a server that took a connection and sent no response.
type noAnswerError struct{ d time.Duration }

func (e *noAnswerError) Error() string   { return fmt.Sprintf("no answer in %v", e.d) }
func (e *noAnswerError) Timeout() bool   { return true }
func (e *noAnswerError) Temporary() bool { return true }

// tryURL downloads raw into part and verifies it, retrying transient
// failures with exponential backoff. A server that sends no answer is
// given up at once for the next URL, unless this is the last one.
func (f *Fetcher) tryURL(ctx context.Context, raw string, src Source, part *partFile, prog *progress, last bool) error {
	retries := f.Retries
	switch {
	case retries == 0:
		retries = 3
	case retries < 0:
		retries = 0
	}
	delay := f.RetryDelay
	if delay <= 0 {
		delay = time.Second
	}
	answer := f.AnswerTimeout
	if answer <= 0 {
		answer = 5 * time.Second
	}
	for attempt := 0; ; {
		resumed, err := f.get(ctx, raw, src, part, prog, answer)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var mm *MismatchError
		var na *noAnswerError
		if errors.As(err, &na) {
			if !last {
				f.logf("fetch %s: %v; trying the next URL", raw, err)
				return err
			}
			answer *= 2 // the only server left may be slow, not dead
		}
		switch {
		case errors.Is(err, errRestart):
			continue
		case resumed && errors.As(err, &mm):
			// The bytes kept from an earlier attempt may be the bad
			// ones: get dropped them, so try once more from scratch.
			f.logf("fetch %s: %v after resuming; downloading it again from the start", raw, err)
			continue
		case !retryable(err) || attempt >= retries:
			return err
		}
		attempt++
		f.logf("fetch %s: %v; retry %d of %d in %v", raw, err, attempt, retries, delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay *= 2
	}
}

// retryable reports whether trying the same URL again may help.
func retryable(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.code >= 500 || se.code == http.StatusTooManyRequests || se.code == http.StatusRequestTimeout
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// get downloads raw into part, resuming what part holds if it can, and
// verifies the result. resumed says whether bytes from before this call
// were kept. On a mismatch part is emptied.
func (f *Fetcher) get(ctx context.Context, raw string, src Source, part *partFile, prog *progress, answer time.Duration) (resumed bool, err error) {
	u, err := parseURL(raw)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return f.getHTTP(ctx, raw, src, part, prog, answer)
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return false, fmt.Errorf("file URL with host %q; write file:///absolute/path", u.Host)
		}
		return false, f.getFile(ctx, u.Path, src, part, prog)
	}
	return false, fmt.Errorf("unsupported scheme %q; use http, https, file or mirror", u.Scheme)
}

func (f *Fetcher) getHTTP(ctx context.Context, raw string, src Source, part *partFile, prog *progress, answer time.Duration) (bool, error) {
	h := sha256.New()
	off, err := part.size()
	if err != nil {
		return false, err
	}
	if off > 0 {
		// Hash what is there: it is either complete already (a crash
		// before the rename) or the prefix to resume.
		if _, err := io.Copy(h, io.NewSectionReader(part.f, 0, off)); err != nil {
			return false, err
		}
		if src.SHA256 != "" && hex.EncodeToString(h.Sum(nil)) == src.SHA256 {
			part.sum = src.SHA256
			return true, nil
		}
	}
	stall := f.StallTimeout
	if stall <= 0 {
		stall = time.Minute
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stalled := &stallError{stall}
	watchdog := time.AfterFunc(stall, func() { cancel(stalled) })
	defer watchdog.Stop()
	silent := &noAnswerError{answer}
	answered := time.AfterFunc(answer, func() { cancel(silent) })
	defer answered.Stop()
	wrap := func(err error) error {
		switch context.Cause(ctx) {
		case stalled:
			return stalled
		case silent:
			return silent
		}
		return err
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return false, err
	}
	// Sources are often .gz files: never let the transport decompress, or
	// the bytes would not be the ones the sum is of.
	req.Header.Set("Accept-Encoding", "identity")
	if off > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
	}
	client := f.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	answered.Stop()
	if err != nil {
		// URLError names the URL already: drop *url.Error's copy of it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return false, wrap(err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		if off > 0 {
			f.logf("fetch %s: server does not resume; downloading from the start", raw)
		}
		off = 0
		h.Reset()
		if err := part.truncate(); err != nil {
			return false, err
		}
	case resp.StatusCode == http.StatusPartialContent && off > 0:
		if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != off {
			if err := part.truncate(); err != nil {
				return false, err
			}
			return false, fmt.Errorf("resume at byte %d: bad Content-Range %q: %w", off, resp.Header.Get("Content-Range"), errRestart)
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && off > 0:
		if err := part.truncate(); err != nil {
			return false, err
		}
		return false, errRestart
	default:
		return false, &statusError{resp.StatusCode, resp.Status}
	}
	if _, err := part.f.Seek(off, io.SeekStart); err != nil {
		return false, err
	}
	total := int64(-1)
	max := f.maxSize(src)
	if resp.ContentLength >= 0 {
		total = off + resp.ContentLength
		if total > max {
			return false, tooLarge(src, max, part)
		}
	}
	bar := prog.begin(src.Name, off, total)
	body := &watchReader{r: resp.Body, watchdog: watchdog, d: stall}
	_, err = io.Copy(io.MultiWriter(part.f, h, bar, meter.Writer(ctx)), io.LimitReader(body, max-off+1))
	if err != nil {
		bar.end(false)
		return off > 0, wrap(err)
	}
	if n, _ := part.size(); n > max {
		bar.end(false)
		return false, tooLarge(src, max, part)
	}
	bar.end(true)
	return off > 0, verify(h, src.SHA256, part)
}

// maxSize is the most bytes src may have: its pinned size, else MaxSize.
func (f *Fetcher) maxSize(src Source) int64 {
	switch {
	case src.Size > 0:
		return src.Size
	case f.MaxSize > 0:
		return f.MaxSize
	}
	return 16 << 30
}

// tooLarge empties part and returns the error for a download larger than
// max bytes.
func tooLarge(src Source, max int64, part *partFile) error {
	if err := part.truncate(); err != nil {
		return err
	}
	if src.Size > 0 {
		return fmt.Errorf("larger than the %d bytes pinned for it", max)
	}
	return fmt.Errorf("larger than %d bytes, the most a source may have", max)
}

// verify checks the sum of a finished download, emptying part if it is
// wrong, and records it in part; want "" (Prefetch) takes any sum.
func verify(h hash.Hash, want string, part *partFile) error {
	got := hex.EncodeToString(h.Sum(nil))
	if got == want || want == "" {
		part.sum = got
		return nil
	}
	if err := part.truncate(); err != nil {
		return err
	}
	return &MismatchError{Got: got, Want: want}
}

// rangeStart returns the first byte of a Content-Range: bytes START-END/SIZE.
func rangeStart(cr string) (int64, bool) {
	rest, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, false
	}
	start, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(start, 10, 64)
	return n, err == nil
}

// watchReader pushes the stall watchdog back whenever data arrives.
type watchReader struct {
	r        io.Reader
	watchdog *time.Timer
	d        time.Duration
}

func (w *watchReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.watchdog.Reset(w.d)
	}
	return n, err
}

// getFile copies a local file into part and verifies it.
func (f *Fetcher) getFile(ctx context.Context, name string, src Source, part *partFile, prog *progress) error {
	// Only a regular file: a FIFO would block the open, /dev/zero never
	// ends.
	r, err := regfile.Open(name)
	if err != nil {
		var perr *os.PathError
		if errors.As(err, &perr) {
			err = perr.Err
		}
		return err
	}
	defer r.Close()
	if err := part.truncate(); err != nil {
		return err
	}
	total := int64(-1)
	if st, err := r.Stat(); err == nil && st.Mode().IsRegular() {
		total = st.Size()
	}
	max := f.maxSize(src)
	if total > max {
		return tooLarge(src, max, part)
	}
	h := sha256.New()
	bar := prog.begin(src.Name, 0, total)
	n, err := io.Copy(io.MultiWriter(part.f, h, bar, meter.Writer(ctx)), io.LimitReader(&ctxReader{ctx, r}, max+1))
	if err != nil {
		bar.end(false)
		return err
	}
	if n > max {
		bar.end(false)
		return tooLarge(src, max, part)
	}
	bar.end(true)
	return verify(h, src.SHA256, part)
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
