package fetch

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hdo-build/hdo/internal/logbuf"
)

func sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// payload returns n deterministic bytes and their sha256.
func payload(n int, seed byte) ([]byte, string) {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b, sum(b)
}

func newFetcher(t *testing.T) (*Fetcher, *logbuf.Buf) {
	t.Helper()
	l := &logbuf.Buf{}
	return &Fetcher{
		CacheDir:     filepath.Join(t.TempDir(), "sources"),
		RetryDelay:   time.Millisecond,
		StallTimeout: 5 * time.Second,
		Log:          l.Logf,
	}, l
}

// checkCache fails the test if a file in dir named like a sha256 has other
// content, or if the entry sha is there when present is false (or the
// other way round).
func checkCache(t *testing.T, dir, sha string, present bool) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	found := false
	for _, e := range ents {
		name := e.Name()
		if !validSum(name) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := sum(data); got != name {
			t.Errorf("cache holds %s with sha256 %s", name, got)
		}
		if name == sha {
			found = true
		}
	}
	if found != present {
		t.Errorf("cache entry %s present = %v, want %v", sha, found, present)
	}
}

// server is an httptest server with a request log.
type server struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string // "METHOD PATH RANGE"
}

func newServer(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, strings.TrimSpace(r.URL.Path+" "+r.Header.Get("Range")))
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

// serve serves content at every path, with Range support.
func serve(content []byte) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(content))
	}
}
