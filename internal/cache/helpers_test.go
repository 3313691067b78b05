package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hdo-build/hdo/internal/archive"

	"github.com/hdo-build/hdo/internal/logbuf"
)

// testHash returns a made-up pkghash for name.
func testHash(name string) string {
	s := sha256.Sum256([]byte("pkghash " + name))
	return hex.EncodeToString(s[:])
}

// makeTarball writes a deterministic package tarball whose single file
// holds size pseudo-random bytes seeded by name, and returns its path.
func makeTarball(t testing.TB, name string, size int) string {
	t.Helper()
	tree := filepath.Join(t.TempDir(), "tree")
	if err := os.MkdirAll(filepath.Join(tree, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "bin", name), randomBytes(name, size), 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name+".tar.gz")
	if _, err := archive.WriteTarGzFile(p, tree); err != nil {
		t.Fatal(err)
	}
	return p
}

func randomBytes(seed string, n int) []byte {
	var key [32]byte
	copy(key[:], seed)
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

// publishTest publishes one package called name into dir and returns its
// entry.
func publishTest(t testing.TB, dir, name string, key *SecretKey, closure ...string) Entry {
	t.Helper()
	e := Entry{Name: name, Version: "1.0", PkgHash: testHash(name), Tarball: makeTarball(t, name, 4000), Closure: closure}
	if _, _, err := Publish(t.Context(), dir, []Entry{e}, key); err != nil {
		t.Fatal(err)
	}
	return e
}

// testKey returns a key generated from a fixed seed.
func testKey(t testing.TB, name string) *SecretKey {
	t.Helper()
	k, err := GenerateKey(name, strings.NewReader(strings.Repeat(name, 64)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keySet(keys ...*SecretKey) KeySet {
	s := make(KeySet)
	for _, k := range keys {
		s[k.Name] = k.Public().Key
	}
	return s
}

// testClient returns a client with fast retries over urls.
func testClient(urls ...string) (*Client, *logbuf.Buf) {
	log := new(logbuf.Buf)
	return &Client{URLs: urls, Tries: 3, Backoff: time.Millisecond, Stall: 5 * time.Second, Log: log.Logf}, log
}

// serve starts a loopback server over dir. override may answer a request
// itself by returning true.
func serve(t testing.TB, dir string, override func(w http.ResponseWriter, r *http.Request) bool) *httptest.Server {
	t.Helper()
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if override != nil && override(w, r) {
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func fileURL(dir string) string { return "file://" + dir }

// listDir returns the names in dir, sorted; temp files show up here.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	slices.Sort(names)
	return names
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
