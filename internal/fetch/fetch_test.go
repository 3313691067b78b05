package fetch

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hdo-build/hdo/internal/meter"
)

func TestFetchSuccessAndHit(t *testing.T) {
	content, sha := payload(100_000, 1)
	srv := newServer(t, serve(content))
	f, _ := newFetcher(t)
	src := Source{Name: "a.tar.gz", SHA256: sha, URLs: []string{srv.URL + "/a.tar.gz"}}
	paths, err := f.Fetch(context.Background(), []Source{src})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(f.CacheDir, sha)
	if diff := cmp.Diff([]string{want}, paths); diff != "" {
		t.Errorf("paths diff (-want +got):\n%s", diff)
	}
	got, err := os.ReadFile(want)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("cache file: %v, content equal %v", err, bytes.Equal(got, content))
	}
	if st, _ := os.Stat(want); st.Mode().Perm() != 0o444 {
		t.Errorf("cache file mode %v, want read-only", st.Mode())
	}
	if _, err := os.Stat(filepath.Join(f.CacheDir, ".part-"+sha)); !os.IsNotExist(err) {
		t.Errorf(".part file left behind: %v", err)
	}
	// A second fetch is a cache hit: no request.
	if _, err := f.Fetch(context.Background(), []Source{src}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/a.tar.gz"}, srv.requests()); diff != "" {
		t.Errorf("requests diff (-want +got):\n%s", diff)
	}
	checkCache(t, f.CacheDir, sha, true)
}

func TestFetch404NextURL(t *testing.T) {
	content, sha := payload(1000, 2)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gone":
			http.Error(w, "gone", http.StatusGone)
		case "/ok":
			serve(content)(w, r)
		default:
			http.NotFound(w, r)
		}
	})
	f, _ := newFetcher(t)
	src := Source{Name: "a", SHA256: sha, URLs: []string{srv.URL + "/missing", srv.URL + "/gone", srv.URL + "/ok"}}
	if _, err := f.Fetch(context.Background(), []Source{src}); err != nil {
		t.Fatal(err)
	}
	// 404 and 410 are not retried.
	if diff := cmp.Diff([]string{"/missing", "/gone", "/ok"}, srv.requests()); diff != "" {
		t.Errorf("requests diff (-want +got):\n%s", diff)
	}
	checkCache(t, f.CacheDir, sha, true)
}

func TestFetchRetry500(t *testing.T) {
	content, sha := payload(1000, 3)
	var n atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		serve(content)(w, r)
	})
	f, log := newFetcher(t)
	if _, err := f.Fetch(context.Background(), []Source{{Name: "a", SHA256: sha, URLs: []string{srv.URL + "/a"}}}); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.requests()); got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
	if !strings.Contains(log.String(), "HTTP 503 Service Unavailable; retry 2 of 3") {
		t.Errorf("log does not show the retries:\n%s", log)
	}
	checkCache(t, f.CacheDir, sha, true)
}

func TestFetchAllFail(t *testing.T) {
	_, sha := payload(10, 4)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/err" {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		http.NotFound(w, r)
	})
	src := Source{Name: "a.tgz", SHA256: sha, URLs: []string{srv.URL + "/err", srv.URL + "/nope", "mirror://debian-security/a.tgz", "gopher://h.example/a"}}
	f, log := newFetcher(t)
	f.Retries = 2
	f.SourceMirrors = []string{srv.URL + "/cache/"}
	src.Origin, src.SumOrigin = "pkg/a/fetch:2", "pkg/a/sha256sums:1"
	_, err := f.Fetch(context.Background(), []Source{src})
	// One line saying where the source is and what to check; each URL's
	// failure was logged once, as it happened (a source mirror's miss is
	// normal and not logged).
	want := "pkg/a/fetch:2: fetch a.tgz: every URL failed, 5 tried, the last with gopher://h.example/a: unsupported scheme \"gopher\"; use http, https, file or mirror; check the url there"
	if err == nil || err.Error() != want {
		t.Fatalf("got error:\n%v\nwant:\n%s", err, want)
	}
	for _, line := range []string{
		"fetch " + srv.URL + "/err: HTTP 500 Internal Server Error",
		"fetch " + srv.URL + "/nope: HTTP 404 Not Found",
		"fetch mirror://debian-security: no mirrors configured; set HDO_MIRROR_DEBIAN_SECURITY",
	} {
		if n := strings.Count(log.String()+"\n", line+"\n"); n != 1 {
			t.Errorf("log has %q %d times, want once:\n%s", line, n, log)
		}
	}
	if strings.Contains(log.String(), "gopher") {
		t.Errorf("the last failure, which the error holds, was logged too:\n%s", log)
	}
	// One URL: its failure is the error.
	f.SourceMirrors = nil
	if _, err := f.Fetch(context.Background(), []Source{{Name: "a.tgz", SHA256: sha, URLs: []string{srv.URL + "/nope"}}}); err == nil ||
		err.Error() != "fetch a.tgz: "+srv.URL+"/nope: HTTP 404 Not Found; check the url" {
		t.Errorf("one URL: %v", err)
	}
	var se *SourceError
	if !errors.As(err, &se) || len(se.Failures) != 5 {
		t.Errorf("error is not a SourceError with 5 failures: %#v", err)
	}
	wantReqs := []string{"/cache/" + sha, "/err", "/err", "/err", "/nope", "/nope"} // the last by the one-URL fetch
	if diff := cmp.Diff(wantReqs, srv.requests()); diff != "" {
		t.Errorf("requests diff (-want +got):\n%s", diff)
	}
	checkCache(t, f.CacheDir, sha, false)
	if _, err := os.Stat(filepath.Join(f.CacheDir, ".part-"+sha)); !os.IsNotExist(err) {
		t.Errorf("empty .part file left behind: %v", err)
	}
}

func TestFetchMismatch(t *testing.T) {
	content, sha := payload(1000, 5)
	wrong := append([]byte(nil), content...)
	wrong[500] ^= 1
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			serve(wrong)(w, r)
			return
		}
		serve(content)(w, r)
	})
	f, log := newFetcher(t)
	// The bad URL alone: a log line showing got, want and the URL, and
	// an error naming the sum's line and what to do.
	_, err := f.Fetch(context.Background(), []Source{{Name: "a", SHA256: sha, URLs: []string{srv.URL + "/bad"},
		Origin: "pkg/a/fetch:1", SumOrigin: "pkg/a/sha256sums:3"}})
	wantLine := srv.URL + "/bad: sha256 mismatch: got " + sum(wrong) + ", want " + sha
	wantErr := "pkg/a/fetch:1: fetch a: " + srv.URL + "/bad serves a file with sha256 " + sum(wrong) + ", not " + sha +
		" as pkg/a/sha256sums:3 says; if it is the right file, put its sum there"
	if err == nil || err.Error() != wantErr {
		t.Fatalf("got error %v\nwant %s", err, wantErr)
	}
	var mm *MismatchError
	if !errors.As(err, &mm) || mm.Got != sum(wrong) || mm.Want != sha {
		t.Errorf("error does not hold the MismatchError: %#v", err)
	}
	if strings.Contains(log.String(), wantLine) {
		t.Errorf("the failure the error holds was logged too:\n%s", log)
	}
	checkCache(t, f.CacheDir, sha, false)
	if ents, _ := os.ReadDir(f.CacheDir); len(ents) != 0 {
		t.Errorf("cache dir not empty after a mismatch: %v", ents)
	}
	// Then the next URL is tried, and not the bad one again.
	if _, err := f.Fetch(context.Background(), []Source{{Name: "a", SHA256: sha, URLs: []string{srv.URL + "/bad", srv.URL + "/good"}}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/bad", "/bad", "/good"}, srv.requests()); diff != "" {
		t.Errorf("requests diff (-want +got):\n%s", diff)
	}
	checkCache(t, f.CacheDir, sha, true)
}

func TestFetchTruncatedThenResume(t *testing.T) {
	content, sha := payload(200_000, 6)
	var n atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) > 1 {
			serve(content)(w, r)
			return
		}
		// Promise the whole file, send a third, hang up.
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n")
		buf.Write(content[:70_000])
		buf.Flush()
	})
	f, log := newFetcher(t)
	if _, err := f.Fetch(context.Background(), []Source{{Name: "a", SHA256: sha, URLs: []string{srv.URL + "/a"}}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/a", "/a bytes=70000-"}, srv.requests()); diff != "" {
		t.Errorf("requests diff (-want +got):\n%s", diff)
	}
	if !strings.Contains(log.String(), "unexpected EOF; retry 1 of 3") {
		t.Errorf("log does not show the retry:\n%s", log)
	}
	checkCache(t, f.CacheDir, sha, true)
}

func TestFetchResumePart(t *testing.T) {
	content, sha := payload(100_000, 7)
	tests := []struct {
		name     string
		part     []byte
		rangeOK  bool
		wantReqs []string
		wantLog  string
	}{
		{"resume", content[:40_000], true, []string{"/a bytes=40000-"}, ""},
		{"server ignores Range", content[:40_000], false, []string{"/a bytes=40000-"}, "server does not resume"},
		{"part is complete", content, true, nil, ""},
		{"part is garbage", bytes.Repeat([]byte("x"), 40_000), true, []string{"/a bytes=40000-", "/a"}, "after resuming; downloading it again from the start"},
		{"part is too long", append(append([]byte(nil), content...), 'x'), true, []string{"/a bytes=100001-", "/a"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if !tt.rangeOK {
					w.Write(content)
					return
				}
				serve(content)(w, r)
			})
			f, log := newFetcher(t)
			if err := os.MkdirAll(f.CacheDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(f.CacheDir, ".part-"+sha), tt.part, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Fetch(context.Background(), []Source{{Name: "a", SHA256: sha, URLs: []string{srv.URL + "/a"}}}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantReqs, srv.requests()); diff != "" {
				t.Errorf("requests diff (-want +got):\n%s", diff)
			}
			if !strings.Contains(log.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, log)
			}
			checkCache(t, f.CacheDir, sha, true)
		})
	}
}

func TestFetchCancel(t *testing.T) {
	content, sha := payload(100_000, 8)
	sent := make(chan struct{})
	done := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.Write(content[:1000])
		http.NewResponseController(w).Flush()
		close(sent)
		select {
		case <-r.Context().Done():
		case <-done:
		}
	})
	t.Cleanup(func() { close(done) }) // runs before srv.Close
	f, _ := newFetcher(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-sent
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	_, err := f.Fetch(ctx, []Source{{Name: "a", SHA256: sha, URLs: []string{srv.URL + "/a"}}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got error %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancel took %v", d)
	}
	checkCache(t, f.CacheDir, sha, false)
	// What arrived is kept for a later resume.
	if data, err := os.ReadFile(filepath.Join(f.CacheDir, ".part-"+sha)); err != nil || !bytes.Equal(data, content[:len(data)]) {
		t.Errorf(".part file: %v (%d bytes, a prefix: %v)", err, len(data), bytes.Equal(data, content[:len(data)]))
	}
}

func TestFetchStallRetries(t *testing.T) {
	content, sha := payload(50_000, 9)
	var n atomic.Int32
	done := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) > 1 {
			serve(content)(w, r)
			return
		}
		w.Header().Set("Content-Length", "50000")
		w.Write(content[:10_000])
		http.NewResponseController(w).Flush()
		select {
		case <-r.Context().Done():
		case <-done:
		}
	})
	t.Cleanup(func() { close(done) })
	f, log := newFetcher(t)
	f.StallTimeout = 100 * time.Millisecond
	if _, err := f.Fetch(context.Background(), []Source{{Name: "a", SHA256: sha, URLs: []string{srv.URL + "/a"}}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "stalled: nothing received for 100ms; retry 1 of 3") {
		t.Errorf("log does not show the stall:\n%s", log)
	}
	if diff := cmp.Diff([]string{"/a", "/a bytes=10000-"}, srv.requests()); diff != "" {
		t.Errorf("requests diff (-want +got):\n%s", diff)
	}
	checkCache(t, f.CacheDir, sha, true)
}

func TestFetchSourceMirrorHit(t *testing.T) {
	content, sha := payload(1000, 10)
	origin := newServer(t, serve(content))
	mirror := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/src/"+sha {
			http.NotFound(w, r)
			return
		}
		serve(content)(w, r)
	})
	f, _ := newFetcher(t)
	f.SourceMirrors = []string{mirror.URL + "/empty", mirror.URL + "/src"}
	if _, err := f.Fetch(context.Background(), []Source{{Name: "a", SHA256: sha, URLs: []string{origin.URL + "/a"}}}); err != nil {
		t.Fatal(err)
	}
	if got := origin.requests(); len(got) != 0 {
		t.Errorf("origin contacted: %v", got)
	}
	if diff := cmp.Diff([]string{"/empty/" + sha, "/src/" + sha}, mirror.requests()); diff != "" {
		t.Errorf("mirror requests diff (-want +got):\n%s", diff)
	}
	checkCache(t, f.CacheDir, sha, true)
}

func TestFetchMirrorScheme(t *testing.T) {
	content, sha := payload(1000, 11)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/two/gnu/make/make%2B.tgz" && r.URL.RawPath != "/two/gnu/make/make%2B.tgz" {
			http.NotFound(w, r)
			return
		}
		serve(content)(w, r)
	})
	f, _ := newFetcher(t)
	f.Mirrors = map[string][]string{"gnu": {srv.URL + "/one", srv.URL + "/two/gnu/"}}
	if _, err := f.Fetch(context.Background(), []Source{{Name: "make+.tgz", SHA256: sha, URLs: []string{"MIRROR://GNU/make/make%2B.tgz"}}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/one/make/make+.tgz", "/two/gnu/make/make+.tgz"}, srv.requests()); diff != "" {
		t.Errorf("requests diff (-want +got):\n%s", diff)
	}
	checkCache(t, f.CacheDir, sha, true)
}

// A mirror:// name that is neither configured nor a default one is an
// error before the cache is looked at: a file already fetched does not
// hide the typo.
func TestFetchMirrorNameChecked(t *testing.T) {
	content, sha := payload(100, 17)
	srv := newServer(t, serve(content))
	f, _ := newFetcher(t)
	f.Mirrors = map[string][]string{"debian": {srv.URL}, "gnu": {srv.URL}, "empty": nil}
	good := Source{Name: "a.tgz", SHA256: sha, URLs: []string{"mirror://debian/a.tgz"}}
	if _, err := f.Fetch(t.Context(), []Source{good}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ url, want string }{
		{"mirror://debain/a.tgz", "fetch a.tgz: mirror://debain/ is not a configured mirror (configured: debian, gnu); did you mean mirror://debian/?"},
		{"mirror://GNUU/a.tgz", "fetch a.tgz: mirror://GNUU/ is not a configured mirror (configured: debian, gnu); did you mean mirror://gnu/?"},
		{"mirror://kde/a.tgz", "fetch a.tgz: mirror://kde/ is not a configured mirror (configured: debian, gnu); set HDO_MIRROR_KDE to its base URLs"},
		{"mirror://empty/a.tgz", "fetch a.tgz: mirror://empty/ is not a configured mirror (configured: debian, gnu); set HDO_MIRROR_EMPTY to its base URLs"},
	} {
		src := good
		src.URLs = []string{srv.URL + "/a.tgz", tc.url}
		_, err := f.Fetch(t.Context(), []Source{src})
		var me *MirrorNameError
		if !errors.As(err, &me) || err.Error() != tc.want {
			t.Errorf("%s (file cached): %v\nwant %s", tc.url, err, tc.want)
		}
	}
	// A default name without a base passes while its file is cached.
	f.Mirrors = nil
	if _, err := f.Fetch(t.Context(), []Source{good}); err != nil {
		t.Errorf("mirror://debian unconfigured, file cached: %v", err)
	}
	if diff := cmp.Diff([]string{"/a.tgz"}, srv.requests()); diff != "" {
		t.Errorf("requests diff (-want +got):\n%s", diff)
	}
}

// MirrorFunc is asked for a mirror name Mirrors lacks, only when a URL
// needs it; without bases the error says what to set.
func TestFetchMirrorFunc(t *testing.T) {
	content, sha := payload(1000, 13)
	srv := newServer(t, serve(content))
	f, log := newFetcher(t)
	var asked []string
	f.MirrorFunc = func(name string) []string {
		asked = append(asked, name)
		if name == "goproxy" {
			return []string{srv.URL + "/mod"}
		}
		return nil
	}
	if _, err := f.Fetch(t.Context(), []Source{{Name: "a.zip", SHA256: sha, URLs: []string{"mirror://goproxy/example.org/a/@v/v1.0.0.zip"}}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/mod/example.org/a/@v/v1.0.0.zip"}, srv.requests()); diff != "" {
		t.Errorf("requests diff (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"goproxy"}, asked); diff != "" {
		t.Errorf("MirrorFunc calls diff (-want +got):\n%s", diff)
	}
	f.MirrorFunc = func(string) []string { return nil }
	_, err := f.Fetch(t.Context(), []Source{{Name: "b.zip", SHA256: sum([]byte("b")), URLs: []string{"mirror://goproxy/b.zip", "mirror://debian-security/c"}}})
	if want := "mirror://goproxy: no mirrors configured; set HDO_MIRROR_GOPROXY or GOPROXY"; !strings.Contains(log.String(), want) {
		t.Errorf("log %q\nwant it to contain %q", log, want)
	}
	if want := "mirror://debian-security: no mirrors configured; set HDO_MIRROR_DEBIAN_SECURITY; check the url"; err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("error %v\nwant it to end with %q", err, want)
	}
}

func TestFetchFileURL(t *testing.T) {
	content, sha := payload(5000, 12)
	dir := t.TempDir()
	p := filepath.Join(dir, "a b.tgz")
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ := newFetcher(t)
	paths, err := f.Fetch(context.Background(), []Source{{Name: "a", SHA256: sha, URLs: []string{"file://" + filepath.Join(dir, "missing"), "file://" + strings.ReplaceAll(p, " ", "%20")}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(paths[0]); !bytes.Equal(got, content) {
		t.Error("cached file differs")
	}
	checkCache(t, f.CacheDir, sha, true)

	// A local file with the wrong content never enters the cache.
	_, sha2 := payload(5000, 13)
	_, err = f.Fetch(context.Background(), []Source{{Name: "b", SHA256: sha2, URLs: []string{"file://" + p, "file://h.example/x"}}})
	want := "fetch b: file://" + p + " serves a file with sha256 " + sha + ", not " + sha2 + " (the other URL failed too); if it is the right file, its sum is wrong"
	if err == nil || err.Error() != want {
		t.Fatalf("got error:\n%v\nwant:\n%s", err, want)
	}
	checkCache(t, f.CacheDir, sha2, false)
}

func TestFetchParallel(t *testing.T) {
	const limit = 3
	var inflight, peak atomic.Int32
	all := make(chan struct{})
	var once sync.Once
	contents := map[string][]byte{}
	var srcs []Source
	for i := range 7 {
		c, sha := payload(1000+i, byte(20+i))
		contents["/"+sha] = c
		srcs = append(srcs, Source{Name: sha[:8], SHA256: sha})
	}
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if n == limit {
			once.Do(func() { close(all) })
		}
		// Hold each request until limit of them ran at once.
		select {
		case <-all:
		case <-time.After(2 * time.Second):
		}
		serve(contents[r.URL.Path])(w, r)
	})
	for i := range srcs {
		srcs[i].URLs = []string{srv.URL + "/" + srcs[i].SHA256}
	}
	// A duplicate sum is fetched once.
	srcs = append(srcs, Source{Name: "dup", SHA256: srcs[0].SHA256, URLs: srcs[0].URLs})
	f, _ := newFetcher(t)
	f.Parallel = limit
	paths, err := f.Fetch(context.Background(), srcs)
	if err != nil {
		t.Fatal(err)
	}
	if got := peak.Load(); got != limit {
		t.Errorf("peak parallel downloads %d, want %d", got, limit)
	}
	if got := len(srv.requests()); got != 7 {
		t.Errorf("%d requests, want 7", got)
	}
	for i, s := range srcs {
		if paths[i] != f.Path(s.SHA256) {
			t.Errorf("paths[%d] = %s, want %s", i, paths[i], f.Path(s.SHA256))
		}
		checkCache(t, f.CacheDir, s.SHA256, true)
	}
}

// TestFetchConcurrentFetchers checks that two fetchers sharing a cache
// download a file once: the second waits for the first's lock.
func TestFetchConcurrentFetchers(t *testing.T) {
	content, sha := payload(10_000, 30)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
		serve(content)(w, r)
	})
	f1, _ := newFetcher(t)
	f2 := *f1
	src := []Source{{Name: "a", SHA256: sha, URLs: []string{srv.URL + "/a"}}}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, f := range []*Fetcher{f1, &f2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.Fetch(context.Background(), src)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.requests()); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
	checkCache(t, f1.CacheDir, sha, true)
}

func TestFetchVerifyCache(t *testing.T) {
	content, sha := payload(1000, 31)
	srv := newServer(t, serve(content))
	f, log := newFetcher(t)
	src := []Source{{Name: "a", SHA256: sha, URLs: []string{srv.URL + "/a"}}}
	if _, err := f.Fetch(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	// Corrupt the cache behind the fetcher's back.
	p := f.Path(sha)
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, []byte("rot"), 0o644); err != nil {
		t.Fatal(err)
	}
	// By default the cache is trusted.
	if _, err := f.Fetch(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.requests()); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
	f.Verify = true
	if _, err := f.Fetch(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.requests()); got != 2 {
		t.Errorf("%d requests, want 2", got)
	}
	if !strings.Contains(log.String(), "fetching it again") {
		t.Errorf("log lacks the re-fetch:\n%s", log)
	}
	checkCache(t, f.CacheDir, sha, true)
}

func TestFetchBadInput(t *testing.T) {
	f, _ := newFetcher(t)
	_, sha := payload(1, 0)
	tests := []struct {
		srcs []Source
		want string
	}{
		{[]Source{{Name: "a", SHA256: strings.ToUpper(sha), URLs: []string{"http://127.0.0.1:1/a"}}}, `fetch a: sha256 "` + strings.ToUpper(sha) + `" is not 64 lowercase hex digits`},
		{[]Source{{Name: "a", SHA256: sha}}, "fetch a: not in the cache and no URL to fetch it from; add a url to fetch"},
	}
	for _, tt := range tests {
		_, err := f.Fetch(context.Background(), tt.srcs)
		if err == nil || err.Error() != tt.want {
			t.Errorf("got error %v\nwant %s", err, tt.want)
		}
	}
	if _, err := (&Fetcher{}).Fetch(context.Background(), nil); err == nil {
		t.Error("Fetch without CacheDir succeeded")
	}
}

func TestProgress(t *testing.T) {
	content, sha := payload(2_500_000, 32)
	srv := newServer(t, serve(content))
	f, _ := newFetcher(t)
	var out bytes.Buffer
	f.Progress = &out
	if _, err := f.Fetch(context.Background(), []Source{{Name: "big.tgz", SHA256: sha, URLs: []string{srv.URL + "/a"}}}); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "fetched big.tgz (2.5 MB)\n"; got != want {
		t.Errorf("progress output %q, want %q", got, want)
	}

	// Off a terminal, a long download gets a line every few seconds.
	var log bytes.Buffer
	lp := &progress{w: &log, every: time.Hour}
	lb := lp.begin("slow.deb", 0, 74_700_000)
	lb.Write(make([]byte, 1000))
	lb.lastLine = time.Now().Add(-2 * time.Hour)
	lb.Write(make([]byte, 16_900_000-1000))
	lb.Write(make([]byte, 1000)) // within the hour: no line
	lb.end(true)
	if got := log.String(); !regexp.MustCompile(`^fetching slow.deb: 16.9 MB / 74.7 MB, [0-9.]+ [kMG]?B/s\nfetched slow.deb \(16.9 MB\)\n$`).MatchString(got) {
		t.Errorf("log output %q", got)
	}

	// On a terminal: a status line redrawn in place, then cleared.
	var term bytes.Buffer
	p := &progress{w: &term, term: true}
	b := p.begin("x.tgz", 0, 3000)
	b.Write(make([]byte, 1000))
	p.drawn = time.Time{}
	b.Write(make([]byte, 1000))
	b.end(true)
	p.close()
	got := term.String()
	if !strings.HasPrefix(got, "\r\x1b[Kfetching x.tgz: 1.0 kB / 3.0 kB, ") ||
		!strings.Contains(got, "\r\x1b[Kfetching x.tgz: 2.0 kB / 3.0 kB, ") ||
		!strings.HasSuffix(got, "\r\x1b[Kfetched x.tgz (2.0 kB)\n") {
		t.Errorf("terminal output %q", got)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 1_234_567: "1.2 MB", 5_000_000_000: "5.0 GB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// A download larger than its pinned size (or than MaxSize when no size is
// pinned) stops there: an error naming the URL, nothing in the cache, no
// part file, whether the server announces its length or not.
func TestFetchTooLarge(t *testing.T) {
	content, sha := payload(10_000, 9)
	endless := func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 4096)
		for i := 0; i < 1<<14; i++ { // 64 MiB, far past any limit here
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/endless":
			endless(w, r)
		default:
			serve(content)(w, r)
		}
	})
	file := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(file, content, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		url     string
		size    int64
		maxSize int64
		want    string
	}{
		{"pinned, with Content-Length", srv.URL + "/a", 9_999, 0, "larger than the 9999 bytes pinned for it"},
		{"pinned, streamed", srv.URL + "/endless", 5_000, 0, "larger than the 5000 bytes pinned for it"},
		{"pinned, file URL", "file://" + file, 100, 0, "larger than the 100 bytes pinned for it"},
		{"MaxSize, with Content-Length", srv.URL + "/a", 0, 1_000, "larger than 1000 bytes, the most a source may have"},
		{"MaxSize, streamed", srv.URL + "/endless", 0, 1 << 20, "larger than 1048576 bytes, the most a source may have"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := newFetcher(t)
			f.MaxSize = tt.maxSize
			_, err := f.Fetch(t.Context(), []Source{{Name: "a", SHA256: sha, Size: tt.size, URLs: []string{tt.url}}})
			if err == nil || !strings.Contains(err.Error(), tt.url+": "+tt.want) {
				t.Fatalf("got error %v\nwant one with %q", err, tt.url+": "+tt.want)
			}
			if ents, _ := os.ReadDir(f.CacheDir); len(ents) != 0 {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Errorf("cache dir holds %v after a refused download", names)
			}
		})
	}
	// The right size passes.
	f, _ := newFetcher(t)
	if _, err := f.Fetch(t.Context(), []Source{{Name: "a", SHA256: sha, Size: int64(len(content)), URLs: []string{srv.URL + "/a"}}}); err != nil {
		t.Fatal(err)
	}
	checkCache(t, f.CacheDir, sha, true)
}

// silentServer accepts connections on loopback and never answers.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "http://" + ln.Addr().String()
}

// A mirror that takes the connection and never answers is given up within
// seconds, with the default timeouts, for the next base, and hdo says so.
func TestFetchSilentMirror(t *testing.T) {
	content, sha := payload(1000, 41)
	good := newServer(t, serve(content))
	silent := silentServer(t)
	f, log := newFetcher(t)
	f.StallTimeout = 0 // the defaults, as hdo runs
	f.Mirrors = map[string][]string{"debian": {silent, good.URL}}
	start := time.Now()
	if _, err := f.Fetch(t.Context(), []Source{{Name: "a.deb", SHA256: sha, URLs: []string{"mirror://debian/pool/a.deb"}}}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("took %v to give the silent mirror up, want under 10s", el)
	}
	want := "fetch " + silent + "/pool/a.deb: no answer in 5s; trying the next URL"
	if n := strings.Count(log.String(), want); n != 1 {
		t.Errorf("log has %q %d times, want once:\n%s", want, n, log)
	}

	// The last URL left is retried with more time before it is given up.
	f.AnswerTimeout, f.Retries = 50*time.Millisecond, 1
	_, err := f.Fetch(t.Context(), []Source{{Name: "b.deb", SHA256: sum([]byte("b")), URLs: []string{silent + "/b.deb"}}})
	if err == nil || !strings.HasSuffix(err.Error(), silent+"/b.deb: no answer in 100ms; check the url") {
		t.Errorf("silent last URL: %v", err)
	}
}

// Fetch announces the pinned sizes it is about to download (not what the
// cache has) and counts what it downloads, for a total beside the count.
func TestFetchMeter(t *testing.T) {
	a, shaA := payload(3000, 51)
	b, shaB := payload(5000, 52)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			serve(a)(w, r)
		default:
			serve(b)(w, r)
		}
	})
	f, _ := newFetcher(t)
	if _, err := f.Fetch(t.Context(), []Source{{Name: "a", SHA256: shaA, Size: 3000, URLs: []string{srv.URL + "/a"}}}); err != nil {
		t.Fatal(err)
	}
	var expected, counted int64
	ctx := meter.WithExpect(meter.With(t.Context(), func(n int64) { counted += n }), func(n int64) { expected += n })
	srcs := []Source{
		{Name: "a", SHA256: shaA, Size: 3000, URLs: []string{srv.URL + "/a"}}, // cached
		{Name: "b", SHA256: shaB, Size: 5000, URLs: []string{srv.URL + "/b"}},
		{Name: "b again", SHA256: shaB, Size: 5000, URLs: []string{srv.URL + "/b"}},
	}
	if _, err := f.Fetch(ctx, srcs); err != nil {
		t.Fatal(err)
	}
	if expected != 5000 || counted != 5000 {
		t.Errorf("expected %d and counted %d bytes, want 5000 and 5000", expected, counted)
	}
}

// FetchEach reports each source's outcome on its own.
func TestFetchEach(t *testing.T) {
	content, sha := payload(100, 53)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/good" {
			serve(content)(w, r)
			return
		}
		http.NotFound(w, r)
	})
	f, _ := newFetcher(t)
	paths, errs, err := f.FetchEach(t.Context(), []Source{
		{Name: "good", SHA256: sha, URLs: []string{srv.URL + "/good"}},
		{Name: "gone", SHA256: sum([]byte("x")), URLs: []string{srv.URL + "/gone"}},
		{Name: "good again", SHA256: sha, URLs: []string{srv.URL + "/good"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || errs[2] != nil || paths[0] != f.Path(sha) || paths[2] != paths[0] {
		t.Errorf("good sources: %q, %v", paths, errs)
	}
	if !NotFound(errs[1]) || paths[1] != "" {
		t.Errorf("gone source: %q, %v", paths[1], errs[1])
	}
}
