package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"
)

// fixture is a cache directory holding one published package.
type fixture struct {
	dir   string
	entry Entry
}

func (f *fixture) path(ext string) string { return filepath.Join(f.dir, f.entry.PkgHash+ext) }

// rewriteInfo parses the fixture's .info, lets edit change it and writes
// it back canonically.
func (f *fixture) rewriteInfo(t *testing.T, edit func(*Info)) {
	t.Helper()
	in, err := ParseInfo(readFile(t, f.path(".info")))
	if err != nil {
		t.Fatal(err)
	}
	edit(in)
	text, err := in.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, f.path(".info"), text)
}

// hijackTruncated answers with a Content-Length of the whole file but sends
// half of it and closes the connection.
func hijackTruncated(t *testing.T, w http.ResponseWriter, data []byte) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(data))
	buf.Write(data[:len(data)/2])
	buf.Flush()
}

func TestGet(t *testing.T) {
	keyA, keyB := testKey(t, "builder-a"), testKey(t, "builder-b")
	type setup func(t *testing.T, f *fixture) []string
	missing := func(t *testing.T) string { return serve(t, t.TempDir(), nil).URL }
	tests := []struct {
		name       string
		signer     *SecretKey
		trusted    KeySet
		binaryOnly bool
		stall      time.Duration
		caches     setup
		wantHit    bool
		wantLog    string // a line of the log contains it; "" means no warning
		wantErr    string // binary-only error
	}{
		{
			name:    "file cache",
			caches:  func(t *testing.T, f *fixture) []string { return []string{fileURL(f.dir)} },
			wantHit: true,
		},
		{
			name:    "http cache",
			caches:  func(t *testing.T, f *fixture) []string { return []string{serve(t, f.dir, nil).URL} },
			wantHit: true,
		},
		{
			name: "first cache misses, second hits",
			caches: func(t *testing.T, f *fixture) []string {
				return []string{missing(t), fileURL(t.TempDir()), serve(t, f.dir, nil).URL}
			},
			wantHit: true,
		},
		{
			name: "500 twice then 200",
			caches: func(t *testing.T, f *fixture) []string {
				var mu sync.Mutex
				fails := make(map[string]int)
				return []string{serve(t, f.dir, func(w http.ResponseWriter, r *http.Request) bool {
					mu.Lock()
					defer mu.Unlock()
					fails[r.URL.Path]++
					if fails[r.URL.Path] <= 2 {
						http.Error(w, "busy", http.StatusInternalServerError)
						return true
					}
					return false
				}).URL}
			},
			wantHit: true,
		},
		{
			name: "truncated body",
			caches: func(t *testing.T, f *fixture) []string {
				data := readFile(t, f.path(".tar.gz"))
				return []string{serve(t, f.dir, func(w http.ResponseWriter, r *http.Request) bool {
					if strings.HasSuffix(r.URL.Path, ".tar.gz") {
						hijackTruncated(t, w, data)
						return true
					}
					return false
				}).URL}
			},
			wantLog: "unreachable after 3 tries",
		},
		{
			// All the bytes the server announced arrive, fewer than the
			// .info says: a bad entry, not a cache to give up on.
			name: "whole body shorter than its info",
			caches: func(t *testing.T, f *fixture) []string {
				f.rewriteInfo(t, func(in *Info) { in.Size = 1 << 40 })
				return []string{serve(t, f.dir, nil).URL}
			},
			wantLog: "bytes, want 1099511627776; treating it as a miss",
		},
		{
			name: "truncated once, then whole",
			caches: func(t *testing.T, f *fixture) []string {
				data := readFile(t, f.path(".tar.gz"))
				var once sync.Once
				return []string{serve(t, f.dir, func(w http.ResponseWriter, r *http.Request) bool {
					done := false
					if strings.HasSuffix(r.URL.Path, ".tar.gz") {
						once.Do(func() { hijackTruncated(t, w, data); done = true })
					}
					return done
				}).URL}
			},
			wantHit: true,
		},
		{
			name: "wrong bytes",
			caches: func(t *testing.T, f *fixture) []string {
				data := readFile(t, f.path(".tar.gz"))
				data[len(data)/2] ^= 0xff
				writeFile(t, f.path(".tar.gz"), data)
				return []string{serve(t, f.dir, nil).URL}
			},
			wantLog: "sha256 mismatch",
		},
		{
			name: "endless tarball",
			caches: func(t *testing.T, f *fixture) []string {
				// Without the limit the .info sets, this would fill the disk
				// (or end after 1 GB with a size mismatch).
				data := readFile(t, f.path(".tar.gz"))
				return []string{serve(t, f.dir, func(w http.ResponseWriter, r *http.Request) bool {
					if !strings.HasSuffix(r.URL.Path, ".tar.gz") {
						return false
					}
					w.Write(data)
					zeros := make([]byte, 64<<10)
					for i := 0; i < 1<<14 && r.Context().Err() == nil; i++ {
						if _, err := w.Write(zeros); err != nil {
							break
						}
					}
					return true
				}).URL}
			},
			wantLog: "larger than the",
		},
		{
			name: "content hash differs though sha256 matches",
			caches: func(t *testing.T, f *fixture) []string {
				f.rewriteInfo(t, func(in *Info) { in.Content = testHash("other") })
				return []string{fileURL(f.dir)}
			},
			wantLog: "content hash mismatch",
		},
		{
			name: "not gzip",
			caches: func(t *testing.T, f *fixture) []string {
				data := []byte("this is not a gzip stream")
				writeFile(t, f.path(".tar.gz"), data)
				f.rewriteInfo(t, func(in *Info) {
					sum := sumsOf(t, data)
					in.Size, in.SHA256 = sum.Size, sum.SHA256
				})
				return []string{fileURL(f.dir)}
			},
			wantLog: "tar.gz: bad gzip stream: gzip: invalid header",
		},
		{
			name:  "never answers",
			stall: 100 * time.Millisecond,
			caches: func(t *testing.T, f *fixture) []string {
				return []string{hangingServer(t), fileURL(f.dir)}
			},
			wantHit: true,
			wantLog: "unreachable after 3 tries: no data for 100ms; building locally",
		},
		{
			name:       "never answers, binary-only",
			binaryOnly: true,
			stall:      100 * time.Millisecond,
			caches:     func(t *testing.T, f *fixture) []string { return []string{hangingServer(t)} },
			wantLog:    "unreachable after 3 tries: no data for 100ms; not using it for the rest of this run",
			wantErr:    "unreachable after 3 tries",
		},
		{
			name: "connection refused",
			caches: func(t *testing.T, f *fixture) []string {
				srv := serve(t, f.dir, nil)
				srv.Close()
				return []string{srv.URL, fileURL(f.dir)}
			},
			wantHit: true,
			wantLog: "connection refused",
		},
		{
			name:    "signed by an untrusted key",
			signer:  keyB,
			trusted: keySet(keyA),
			caches:  func(t *testing.T, f *fixture) []string { return []string{serve(t, f.dir, nil).URL} },
			wantLog: "not signed by a trusted key (signed only by builder-b)",
		},
		{
			name:    "unsigned with trusted keys",
			trusted: keySet(keyA),
			caches:  func(t *testing.T, f *fixture) []string { return []string{serve(t, f.dir, nil).URL} },
			wantLog: "not signed by a trusted key (no signature)",
		},
		{
			name:    "signature does not match",
			signer:  keyA,
			trusted: keySet(keyA),
			caches: func(t *testing.T, f *fixture) []string {
				f.rewriteInfo(t, func(in *Info) { in.Closure = []string{testHash("sneaked-in")} })
				return []string{serve(t, f.dir, nil).URL}
			},
			wantLog: "bad signature by key builder-a",
		},
		{
			name:    "properly signed",
			signer:  keyA,
			trusted: keySet(keyA, keyB),
			caches:  func(t *testing.T, f *fixture) []string { return []string{serve(t, f.dir, nil).URL} },
			wantHit: true,
		},
		{
			name:    "recompressed by a mirror, signature still valid",
			signer:  keyA,
			trusted: keySet(keyA),
			caches: func(t *testing.T, f *fixture) []string {
				old := readFile(t, f.path(".tar.gz"))
				data := recompress(t, old)
				if bytes.Equal(data, old) {
					t.Fatal("recompressing gave the same bytes")
				}
				writeFile(t, f.path(".tar.gz"), data)
				f.rewriteInfo(t, func(in *Info) {
					sum := sumsOf(t, data)
					in.Size, in.SHA256 = sum.Size, sum.SHA256
				})
				return []string{serve(t, f.dir, nil).URL}
			},
			wantHit: true,
		},
		{
			name:       "binary-only miss",
			binaryOnly: true,
			caches: func(t *testing.T, f *fixture) []string {
				return []string{missing(t), fileURL(t.TempDir())}
			},
			wantErr: "is in no binary cache [http://127.0.0.1:",
		},
		{
			name:       "binary-only without caches",
			binaryOnly: true,
			caches:     func(t *testing.T, f *fixture) []string { return nil },
			wantErr:    "binary-only mode but no binary cache is configured; set HDO_CACHE_URL",
		},
		{
			name: "redirect loop",
			caches: func(t *testing.T, f *fixture) []string {
				return []string{serve(t, f.dir, func(w http.ResponseWriter, r *http.Request) bool {
					http.Redirect(w, r, r.URL.Path, http.StatusFound)
					return true
				}).URL}
			},
			wantLog: "too many redirects",
		},
		{
			name: "forbidden",
			caches: func(t *testing.T, f *fixture) []string {
				return []string{serve(t, f.dir, func(w http.ResponseWriter, r *http.Request) bool {
					http.Error(w, "no", http.StatusForbidden)
					return true
				}).URL}
			},
			wantLog: "unusable: unexpected status 403 Forbidden",
		},
		{
			name: "huge .info with Content-Length",
			caches: func(t *testing.T, f *fixture) []string {
				return []string{serve(t, f.dir, func(w http.ResponseWriter, r *http.Request) bool {
					if strings.HasSuffix(r.URL.Path, ".info") {
						w.Header().Set("Content-Length", "10000000")
						w.Write(bytes.Repeat([]byte("x"), 10000000))
						return true
					}
					return false
				}).URL}
			},
			wantLog: "is 10000000 bytes, more than the 262144 allowed",
		},
		{
			name: "huge .info, chunked",
			caches: func(t *testing.T, f *fixture) []string {
				return []string{serve(t, f.dir, func(w http.ResponseWriter, r *http.Request) bool {
					if strings.HasSuffix(r.URL.Path, ".info") {
						line := []byte("closure: " + testHash("x") + "\n")
						for i := 0; i < 100000 && r.Context().Err() == nil; i++ {
							w.Write(line)
							w.(http.Flusher).Flush()
						}
						return true
					}
					return false
				}).URL}
			},
			wantLog: "larger than 262144 bytes",
		},
		{
			name: "malformed .info",
			caches: func(t *testing.T, f *fixture) []string {
				writeFile(t, f.path(".info"), []byte("<html>not found</html>\n"))
				return []string{fileURL(f.dir)}
			},
			wantLog: `line 1: "<html>not found</html>" is not a "key: value" line`,
		},
		{
			name: "wrong pkghash inside .info",
			caches: func(t *testing.T, f *fixture) []string {
				f.rewriteInfo(t, func(in *Info) { in.PkgHash = testHash("other") })
				return []string{fileURL(f.dir)}
			},
			wantLog: "names pkghash " + testHash("other"),
		},
		{
			name: "newer .info format",
			caches: func(t *testing.T, f *fixture) []string {
				text := bytes.Replace(readFile(t, f.path(".info")), []byte("format: 1"), []byte("format: 2"), 1)
				writeFile(t, f.path(".info"), text)
				return []string{fileURL(f.dir)}
			},
			wantLog: "unsupported .info format 2: this hdo reads format 1; upgrade hdo",
		},
		{
			// Replay: another package's genuine, signed .info and
			// tarball, served under this pkghash.
			name:    "signed entry of another package",
			signer:  keyA,
			trusted: keySet(keyA),
			caches: func(t *testing.T, f *fixture) []string {
				other := t.TempDir()
				publishTest(t, other, "evil", keyA)
				for _, ext := range []string{".info", ".tar.gz"} {
					writeFile(t, f.path(ext), readFile(t, filepath.Join(other, testHash("evil")+ext)))
				}
				return []string{serve(t, f.dir, nil).URL}
			},
			wantLog: "names pkghash " + testHash("evil"),
		},
		{
			// A cache that redirects to a file:// URL (a local file of
			// the user's) is not followed there.
			name: "redirect to file://",
			caches: func(t *testing.T, f *fixture) []string {
				return []string{serve(t, f.dir, func(w http.ResponseWriter, r *http.Request) bool {
					http.Redirect(w, r, fileURL(f.dir)+r.URL.Path, http.StatusFound)
					return true
				}).URL}
			},
			wantLog: "redirect to a scheme other than http or https: file:///",
		},
		{
			name: ".info without tarball",
			caches: func(t *testing.T, f *fixture) []string {
				os.Remove(f.path(".tar.gz"))
				return []string{serve(t, f.dir, nil).URL}
			},
			wantLog: ".info is there but",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fixture{dir: t.TempDir()}
			f.entry = publishTest(t, f.dir, "make", tt.signer, testHash("libc"))
			want := readFile(t, f.path(".tar.gz"))
			c, log := testClient(tt.caches(t, f)...)
			c.Trusted, c.BinaryOnly = tt.trusted, tt.binaryOnly
			if tt.stall != 0 {
				c.Stall = tt.stall
			}
			destDir := t.TempDir()
			dest := filepath.Join(destDir, "make.tar.gz")

			info, err := c.Get(t.Context(), f.entry.PkgHash, dest)
			t.Logf("error: %v\nlog:\n%s", err, log)

			switch {
			case tt.wantHit:
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				got := readFile(t, dest)
				sum := sumsOf(t, got)
				if sum.SHA256 != info.SHA256 || sum.Content == "" {
					t.Errorf("installed file has sha256 %s, .info says %s", sum.SHA256, info.SHA256)
				}
				if tt.name != "recompressed by a mirror, signature still valid" && !bytes.Equal(got, want) {
					t.Errorf("installed file differs from the published tarball")
				}
				if diff := cmp.Diff([]string{testHash("libc")}, info.Closure); diff != "" {
					t.Errorf("closure diff (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff([]string{"make.tar.gz"}, listDir(t, destDir)); diff != "" {
					t.Errorf("dest dir diff (-want +got):\n%s", diff)
				}
			case tt.binaryOnly:
				if err == nil || errors.Is(err, ErrMiss) || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), f.entry.PkgHash) {
					t.Errorf("Get error = %v, want one naming %s and containing %q, not a miss", err, f.entry.PkgHash, tt.wantErr)
				}
				if got := listDir(t, destDir); len(got) != 0 {
					t.Errorf("dest dir holds %q after a failed Get", got)
				}
			default:
				if !errors.Is(err, ErrMiss) {
					t.Errorf("Get error = %v, want a miss", err)
				}
				if got := listDir(t, destDir); len(got) != 0 {
					t.Errorf("dest dir holds %q after a miss", got)
				}
			}
			if tt.wantLog != "" && log.Count(tt.wantLog) != 1 {
				t.Errorf("log:\n%s\nwant one line containing %q", log, tt.wantLog)
			}
			if tt.wantLog == "" && (log.Count("treating it as a miss") > 0 || log.Count("building locally") > 0) {
				t.Errorf("unexpected warning:\n%s", log)
			}
		})
	}
}

func sumsOf(t *testing.T, data []byte) sums {
	t.Helper()
	h := newHasher()
	h.Write(data)
	return h.finish()
}

func recompress(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	if _, err := io.Copy(zw, zr); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return b.Bytes()
}

// hangingServer accepts requests and never answers them.
func hangingServer(t *testing.T) string {
	done := make(chan struct{})
	srv := serve(t, t.TempDir(), func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done():
		case <-done:
		}
		return true
	})
	t.Cleanup(func() { close(done) }) // runs before srv.Close
	return srv.URL
}

func TestGetNoNegativeCaching(t *testing.T) {
	dir := t.TempDir()
	c, _ := testClient(serve(t, dir, nil).URL)
	e := Entry{Name: "zlib", PkgHash: testHash("zlib"), Tarball: makeTarball(t, "zlib", 100)}
	dest := filepath.Join(t.TempDir(), "zlib.tar.gz")
	if _, err := c.Get(t.Context(), e.PkgHash, dest); !errors.Is(err, ErrMiss) {
		t.Fatalf("Get before publishing: %v, want a miss", err)
	}
	if _, _, err := Publish(t.Context(), dir, []Entry{e}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(t.Context(), e.PkgHash, dest); err != nil {
		t.Fatalf("Get after publishing: %v", err)
	}
}

func TestFailingCacheWarnsOnceAndIsSkipped(t *testing.T) {
	var mu sync.Mutex
	requests := 0
	bad := serve(t, t.TempDir(), func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		requests++
		mu.Unlock()
		http.Error(w, "down", http.StatusServiceUnavailable)
		return true
	})
	good := t.TempDir()
	c, log := testClient(bad.URL, fileURL(good))
	var entries []Entry
	for _, name := range []string{"a", "b", "c", "d"} {
		entries = append(entries, Entry{Name: name, PkgHash: testHash(name), Tarball: makeTarball(t, name, 100)})
	}
	if _, _, err := Publish(t.Context(), good, entries, nil); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	hits, err := c.Prefetch(t.Context(), []string{testHash("a"), testHash("b"), testHash("c"), testHash("d")},
		func(h string) string { return filepath.Join(dest, h+".tar.gz") })
	if err != nil || len(hits) != 4 {
		t.Fatalf("Prefetch: %d hits, %v; want 4 hits", len(hits), err)
	}
	if n := log.Count("unreachable after 3 tries: 503 Service Unavailable; building locally"); n != 1 {
		t.Errorf("log:\n%s\nwant exactly one warning for the failing cache", log)
	}
	mu.Lock()
	before := requests
	mu.Unlock()
	if _, err := c.Get(t.Context(), testHash("a"), filepath.Join(dest, "again")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if requests != before {
		t.Errorf("a failing cache got %d more requests, want none", requests-before)
	}
}

func TestPrefetch(t *testing.T) {
	dir := t.TempDir()
	var want []string
	for i := range 20 {
		e := publishTest(t, dir, fmt.Sprintf("pkg%02d", i), nil)
		want = append(want, e.PkgHash)
	}
	absent := testHash("absent")
	for _, binaryOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("binaryOnly=%v", binaryOnly), func(t *testing.T) {
			c, _ := testClient(serve(t, dir, nil).URL)
			c.BinaryOnly = binaryOnly
			c.Parallel = 4
			var progress bytes.Buffer
			c.Progress = &progress
			dest := t.TempDir()
			hits, err := c.Prefetch(t.Context(), append([]string{absent}, append(want, want[0])...),
				func(h string) string { return filepath.Join(dest, h+".tar.gz") })
			if binaryOnly {
				if err == nil || !strings.Contains(err.Error(), absent) {
					t.Errorf("Prefetch error = %v, want one naming %s", err, absent)
				}
			} else if err != nil {
				t.Errorf("Prefetch: %v", err)
			}
			var got []string
			for h, info := range hits {
				if info.PkgHash != h {
					t.Errorf("hits[%s].PkgHash = %s", h, info.PkgHash)
				}
				got = append(got, h+".tar.gz")
			}
			var wantFiles []string
			for _, h := range want {
				wantFiles = append(wantFiles, h+".tar.gz")
			}
			if diff := cmp.Diff(wantFiles, got, cmpSorted); diff != "" {
				t.Errorf("hits diff (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantFiles, listDir(t, dest), cmpSorted); diff != "" {
				t.Errorf("dest diff (-want +got):\n%s", diff)
			}
			if s := progress.String(); !finalProgress.MatchString(s) {
				t.Errorf("progress output %q, want a final line for 21 packages with 20 hits", s)
			}
		})
	}
}

// PrefetchThen hands over each hit once its file is complete, while
// other downloads are still running, and never a miss.
func TestPrefetchThen(t *testing.T) {
	dir := t.TempDir()
	var want []string
	for i := range 8 {
		want = append(want, publishTest(t, dir, fmt.Sprintf("then%02d", i), nil).PkgHash)
	}
	release := make(chan struct{})
	last := want[len(want)-1]
	srv := serve(t, dir, func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(path.Base(r.URL.Path), last) {
			<-release // the last package waits until another one was handed over
		}
		return false
	})
	c, _ := testClient(srv.URL)
	c.Parallel = 4
	dest := t.TempDir()
	var mu sync.Mutex
	got := map[string]bool{}
	var once sync.Once
	hits, err := c.PrefetchThen(t.Context(), append(slices.Clone(want), testHash("absent")),
		func(h string) string { return filepath.Join(dest, h+".tar.gz") },
		func(h string, info *Info) {
			st, err := os.Stat(filepath.Join(dest, h+".tar.gz"))
			if err != nil || st.Size() != info.Size {
				t.Errorf("%s handed over before its file is in place: %v", h, err)
			}
			mu.Lock()
			got[h] = true
			mu.Unlock()
			once.Do(func() { close(release) })
		})
	if err != nil || len(hits) != len(want) {
		t.Fatalf("PrefetchThen: %d hits, %v", len(hits), err)
	}
	if len(got) != len(want) {
		t.Errorf("then heard of %d packages, want the %d hits", len(got), len(want))
	}
}

var cmpSorted = cmp.Transformer("sort", func(in []string) []string {
	return slices.Sorted(slices.Values(in))
})

var finalProgress = regexp.MustCompile(`\rcache: 21/21 packages, 20 hits, [0-9.]+ [kMG]?B, [0-9.]+ [kMG]?B/s\x1b\[K\n$`)

func TestClientFromEnv(t *testing.T) {
	k := testKey(t, "builder-a")
	keyFile := filepath.Join(t.TempDir(), "a.pub")
	writeFile(t, keyFile, []byte(k.Public().String()+"\n"))
	tests := []struct {
		name    string
		env     []string
		want    *Client
		wantErr string
	}{
		{
			name: "nothing set",
			env:  []string{"HOME=/root"},
			want: &Client{Trusted: KeySet{}},
		},
		{
			name: "both variables, in order, without repeats",
			env:  []string{"PKG_CACHE_URL=http://b.test/c file:///srv/c", "HDO_CACHE_URL=https://a.test/x  http://b.test/c"},
			want: &Client{URLs: []string{"https://a.test/x", "http://b.test/c", "file:///srv/c"}, Trusted: KeySet{}},
		},
		{
			name: "trusted keys and binary-only",
			env:  []string{"HDO_TRUSTED_KEYS=" + keyFile + " " + k.Public().String(), "HDO_BINARY_ONLY=1"},
			want: &Client{Trusted: keySet(k), BinaryOnly: true},
		},
		{name: "bad scheme", env: []string{"HDO_CACHE_URL=ftp://x/y"}, wantErr: `HDO_CACHE_URL: cache URL "ftp://x/y": unsupported scheme`},
		{name: "relative file URL", env: []string{"PKG_CACHE_URL=file://cache"}, wantErr: "PKG_CACHE_URL: cache URL \"file://cache\": file URLs name a local directory"},
		{name: "bad binary-only", env: []string{"HDO_BINARY_ONLY=maybe"}, wantErr: `HDO_BINARY_ONLY="maybe": want 1 or 0`},
		{name: "bad key", env: []string{"HDO_TRUSTED_KEYS=/nonexistent.pub"}, wantErr: `HDO_TRUSTED_KEYS: "/nonexistent.pub" is neither`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ClientFromEnv(tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ClientFromEnv error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			type view struct {
				URLs       []string
				Trusted    KeySet
				BinaryOnly bool
			}
			want := view{tt.want.URLs, tt.want.Trusted, tt.want.BinaryOnly}
			got := view{c.URLs, c.Trusted, c.BinaryOnly}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRedirectLoopWithOwnHTTPClient(t *testing.T) {
	srv := serve(t, t.TempDir(), func(w http.ResponseWriter, r *http.Request) bool {
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
		return true
	})
	c, log := testClient(srv.URL)
	c.HTTP = &http.Client{Timeout: time.Minute}
	if _, err := c.Get(t.Context(), testHash("x"), filepath.Join(t.TempDir(), "x")); !errors.Is(err, ErrMiss) {
		t.Fatalf("Get = %v, want a miss", err)
	}
	if log.Count("unusable: ") != 1 || log.Count("too many redirects") != 1 {
		t.Errorf("log:\n%s\nwant one warning about a redirect loop, without retries", log)
	}
}

func TestGetCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	srv := serve(t, t.TempDir(), func(w http.ResponseWriter, r *http.Request) bool {
		cancel()
		<-r.Context().Done()
		return true
	})
	c, log := testClient(srv.URL)
	dir := t.TempDir()
	_, err := c.Get(ctx, testHash("x"), filepath.Join(dir, "x"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Get = %v, want context.Canceled", err)
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("dest dir holds %q after a canceled Get", got)
	}
	if log.String() != "" {
		t.Errorf("a canceled Get logged:\n%s", log)
	}
}

// A bad entry is a miss with one warning per process, however often it is
// asked for; the next cache is still tried each time.
func TestBadEntryWarnsOnce(t *testing.T) {
	badDir, goodDir := t.TempDir(), t.TempDir()
	e := publishTest(t, badDir, "zlib", nil)
	data := readFile(t, filepath.Join(badDir, e.PkgHash+".tar.gz"))
	data[len(data)/2] ^= 0xff // wrong bytes, right size
	writeFile(t, filepath.Join(badDir, e.PkgHash+".tar.gz"), data)
	var mu sync.Mutex
	requests := 0
	bad := serve(t, badDir, func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		requests++
		mu.Unlock()
		return false
	})
	c, log := testClient(bad.URL, fileURL(goodDir))
	dest := t.TempDir()
	destFor := func(h string) string { return filepath.Join(dest, h+".tar.gz") }
	for range 3 {
		if hits, err := c.Prefetch(t.Context(), []string{e.PkgHash}, destFor); err != nil || len(hits) != 0 {
			t.Fatalf("Prefetch: %d hits, %v; want a miss", len(hits), err)
		}
		if _, err := c.Get(t.Context(), e.PkgHash, destFor(e.PkgHash)); !errors.Is(err, ErrMiss) {
			t.Fatalf("Get: %v, want a miss", err)
		}
	}
	if n := log.Count("treating it as a miss"); n != 1 {
		t.Errorf("log:\n%s\nwant exactly one warning for the bad entry", log)
	}
	mu.Lock()
	if requests != 2 { // the .info and the tarball, once
		t.Errorf("the cache with the bad entry got %d requests, want 2", requests)
	}
	mu.Unlock()
	if got := listDir(t, dest); len(got) != 0 {
		t.Errorf("dest holds %v after bad entries, want nothing", got)
	}
	// The other cache is still asked: a package published there now is a hit.
	if _, _, err := Publish(t.Context(), goodDir, []Entry{e}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(t.Context(), e.PkgHash, destFor(e.PkgHash)); err != nil {
		t.Fatalf("Get after publishing to the good cache: %v", err)
	}
}

// Gets of one package into one file at the same time download it once.
func TestConcurrentGetsShareOneDownload(t *testing.T) {
	dir := t.TempDir()
	e := publishTest(t, dir, "zlib", nil)
	release := make(chan struct{})
	var mu sync.Mutex
	tarballs := 0
	srv := serve(t, dir, func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, ".tar.gz") {
			mu.Lock()
			tarballs++
			mu.Unlock()
			<-release
		}
		return false
	})
	c, _ := testClient(srv.URL)
	dest := filepath.Join(t.TempDir(), "zlib.tar.gz")
	errs := make([]error, 4)
	waiting := make(chan struct{}, len(errs))
	testHookWaiting = func() { waiting <- struct{}{} }
	defer func() { testHookWaiting = nil }()
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.Get(t.Context(), e.PkgHash, dest) })
	}
	for range len(errs) - 1 { // all but the one downloading
		<-waiting
	}
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Get %d: %v", i, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if tarballs != 1 {
		t.Errorf("the tarball was requested %d times, want 1", tarballs)
	}
}

// A cache that trickles the .info while it streams a huge tarball cannot
// make hdo download more than PreInfoBytes (plus what the sockets buffer)
// before the .info says how large the tarball is.
func TestGetBoundedBeforeInfo(t *testing.T) {
	dir := t.TempDir()
	e := Entry{Name: "zlib", PkgHash: testHash("zlib"), Tarball: makeTarball(t, "zlib", 100)}
	if _, _, err := Publish(t.Context(), dir, []Entry{e}, nil); err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	srv := serve(t, dir, func(w http.ResponseWriter, r *http.Request) bool {
		switch {
		case strings.HasSuffix(r.URL.Path, ".info"):
			time.Sleep(2 * time.Second) // the huge tarball streams meanwhile
			return false
		case strings.HasSuffix(r.URL.Path, ".tar.gz"):
			buf := make([]byte, 1<<20)
			for i := 0; i < 2048; i++ { // 2 GiB
				n, err := w.Write(buf)
				sent.Add(int64(n))
				if err != nil {
					return true
				}
			}
			return true
		}
		return false
	})
	c, _ := testClient(srv.URL)
	_, err := c.Get(t.Context(), e.PkgHash, filepath.Join(t.TempDir(), "x"))
	if err == nil {
		t.Fatal("Get of a 2 GiB tarball under a 100-byte .info succeeded")
	}
	if got := sent.Load(); got > PreInfoBytes+32<<20 {
		t.Errorf("the cache got %d bytes out before the .info came, want at most about %d", got, PreInfoBytes)
	}
}
