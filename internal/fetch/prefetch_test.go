package fetch

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Prefetch learns a source's sum by downloading it through the mirrors,
// and leaves it in the cache, where Fetch then finds it.
func TestPrefetch(t *testing.T) {
	content, sha := payload(50_000, 21)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/two/a.tar.gz" {
			serve(content)(w, r)
			return
		}
		http.NotFound(w, r)
	})
	f, log := newFetcher(t)
	f.Mirrors = map[string][]string{"gnu": {srv.URL + "/one", srv.URL + "/two"}}
	f.SourceMirrors = []string{srv.URL + "/cache"}
	src := Source{Name: "a.tar.gz", URLs: []string{"mirror://gnu/a.tar.gz"}}
	got, path, err := f.Prefetch(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	if got != sha || path != filepath.Join(f.CacheDir, sha) {
		t.Errorf("Prefetch = %s, %s; want %s in the cache", got, path, sha)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, content) {
		t.Error("the cache file is not the download")
	}
	// Source mirrors are not asked: they serve files by their sum.
	if diff := cmp.Diff([]string{"/one/a.tar.gz", "/two/a.tar.gz"}, srv.requests()); diff != "" {
		t.Errorf("requests diff (-want +got):\n%s", diff)
	}
	// Fetch with the learnt sum is a cache hit.
	src.SHA256 = sha
	if _, err := f.Fetch(t.Context(), []Source{src}); err != nil {
		t.Fatal(err)
	}
	// Again: same answer, the cache entry kept, no part file left.
	if got, _, err := f.Prefetch(t.Context(), src); err != nil || got != sha {
		t.Errorf("second Prefetch = %s, %v", got, err)
	}
	ents, _ := os.ReadDir(f.CacheDir)
	if len(ents) != 1 || ents[0].Name() != sha {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("cache holds %q, want only %s", names, sha)
	}

	// Every URL failing is a SourceError, and leaves nothing.
	_, _, err = f.Prefetch(t.Context(), Source{Name: "b.tar.gz", URLs: []string{srv.URL + "/nope", "mirror://gnu/b.tar.gz"}})
	var se *SourceError
	want := "fetch b.tar.gz: every URL failed, 3 tried, the last with " + srv.URL + "/two/b.tar.gz: HTTP 404 Not Found; check the url and the mirrors of mirror://gnu/, set by HDO_MIRROR_GNU"
	if !errors.As(err, &se) || len(se.Failures) != 3 || err.Error() != want {
		t.Errorf("failing prefetch: %v\nwant %s", err, want)
	}
	if !strings.Contains(log.String(), "/nope: HTTP 404 Not Found") {
		t.Errorf("log lacks the first failure:\n%s", log)
	}
	if ents, _ := os.ReadDir(f.CacheDir); len(ents) != 1 {
		t.Errorf("a failed prefetch left %d files", len(ents)-1)
	}
	// A mirror name nobody configured is refused before any request.
	if _, _, err := f.Prefetch(t.Context(), Source{Name: "c", URLs: []string{"mirror://gnuu/c"}}); !strings.Contains(err.Error(), "did you mean mirror://gnu/?") {
		t.Errorf("misspelt mirror: %v", err)
	}
}
