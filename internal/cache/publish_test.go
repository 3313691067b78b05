package cache

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hdo-build/hdo/internal/archive"
)

func testEntries(t *testing.T) []Entry {
	t.Helper()
	libc := Entry{Name: "libc", Version: "1.2.5", PkgHash: testHash("libc"), Tarball: makeTarball(t, "libc", 3000)}
	mk := Entry{Name: "make", Version: "4.4.1", PkgHash: testHash("make"), Tarball: makeTarball(t, "make", 2000), Closure: []string{libc.PkgHash}}
	odd := Entry{Name: `<b>&"odd"`, PkgHash: testHash("odd"), Tarball: makeTarball(t, "odd", 10)}
	return []Entry{mk, libc, odd}
}

// dirFiles returns every file in dir with its contents.
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := make(map[string]string)
	for _, name := range listDir(t, dir) {
		files[name] = string(readFile(t, filepath.Join(dir, name)))
	}
	return files
}

func TestPublish(t *testing.T) {
	entries := testEntries(t)
	dir := filepath.Join(t.TempDir(), "cache") // created by Publish
	pub, skip, err := Publish(t.Context(), dir, entries, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pub != 3 || skip != 0 {
		t.Errorf("first Publish: %d published, %d skipped; want 3, 0", pub, skip)
	}
	var want []string
	for _, e := range entries {
		want = append(want, e.PkgHash+".info", e.PkgHash+".tar.gz")
	}
	want = append(want, "index.html")
	if diff := cmp.Diff(want, listDir(t, dir), cmpSorted); diff != "" {
		t.Errorf("cache dir diff (-want +got):\n%s", diff)
	}
	for _, e := range entries {
		if !bytes.Equal(readFile(t, filepath.Join(dir, e.PkgHash+".tar.gz")), readFile(t, e.Tarball)) {
			t.Errorf("%s: published tarball differs from %s", e.Name, e.Tarball)
		}
		in, err := ParseInfo(readFile(t, filepath.Join(dir, e.PkgHash+".info")))
		if err != nil {
			t.Fatal(err)
		}
		content, err := archive.ContentHashFile(e.Tarball)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(e.Tarball)
		wantInfo := &Info{Name: e.Name, Version: e.Version, PkgHash: e.PkgHash, Size: st.Size(), SHA256: sumsOf(t, readFile(t, e.Tarball)).SHA256, Content: content, Closure: e.Closure}
		if diff := cmp.Diff(wantInfo, in); diff != "" {
			t.Errorf("%s.info diff (-want +got):\n%s", e.Name, diff)
		}
	}
	before := dirFiles(t, dir)

	// Publishing again changes nothing, not even index.html.
	pub, skip, err = Publish(t.Context(), dir, entries, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pub != 0 || skip != 3 {
		t.Errorf("second Publish: %d published, %d skipped; want 0, 3", pub, skip)
	}
	if diff := cmp.Diff(before, dirFiles(t, dir)); diff != "" {
		t.Errorf("second Publish changed the cache (-before +after):\n%s", diff)
	}

	index := before["index.html"]
	for _, s := range []string{
		`<p>3 packages.`,
		`<td class="name"><a href="` + testHash("make") + `.tar.gz">make</a></td><td class="version">4.4.1</td>`,
		`&lt;b&gt;&amp;&#34;odd&#34;`,
	} {
		if !strings.Contains(index, s) {
			t.Errorf("index.html lacks %q:\n%s", s, index)
		}
	}
	if strings.Index(index, ">libc<") > strings.Index(index, ">make<") {
		t.Errorf("index.html is not sorted by name:\n%s", index)
	}
}

func TestPublishRepairsAndIndexIsDeterministic(t *testing.T) {
	entries := testEntries(t)
	a, b := t.TempDir(), t.TempDir()
	// Different orders and an interrupted earlier publish (a tarball
	// without .info, a stray temp file, a broken .info) end in the same
	// cache.
	writeFile(t, filepath.Join(b, entries[0].PkgHash+".tar.gz"), []byte("partial"))
	writeFile(t, filepath.Join(b, entries[1].PkgHash+".info"), []byte("format: 1\n"))
	if _, _, err := Publish(t.Context(), a, entries, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Publish(t.Context(), b, []Entry{entries[2], entries[1], entries[0]}, nil); err != nil {
		t.Fatal(err)
	}
	// The index shows the day each was published: the same day for both.
	day := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, d := range []string{a, b} {
		for _, e := range entries {
			os.Chtimes(filepath.Join(d, e.PkgHash+".info"), day, day)
		}
		if err := WriteIndex(d); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(dirFiles(t, a), dirFiles(t, b)); diff != "" {
		t.Errorf("caches differ (-a +b):\n%s", diff)
	}
}

func TestPublishSigning(t *testing.T) {
	k := testKey(t, "builder-1")
	entries := testEntries(t)
	dir := t.TempDir()
	if _, _, err := Publish(t.Context(), dir, entries[:1], nil); err != nil {
		t.Fatal(err)
	}
	// With a key, the unsigned entry gets a signature and the new ones are
	// signed.
	pub, skip, err := Publish(t.Context(), dir, entries, k)
	if err != nil {
		t.Fatal(err)
	}
	if pub != 3 || skip != 0 {
		t.Errorf("Publish with key: %d published, %d skipped; want 3, 0", pub, skip)
	}
	for _, e := range entries {
		in, err := ParseInfo(readFile(t, filepath.Join(dir, e.PkgHash+".info")))
		if err != nil {
			t.Fatal(err)
		}
		if signer, err := keySet(k).Verify(in); err != nil || signer != k.Name {
			t.Errorf("%s: Verify = %q, %v; want signed by %s", e.Name, signer, err, k.Name)
		}
	}
	pub, skip, err = Publish(t.Context(), dir, entries, k)
	if err != nil || pub != 0 || skip != 3 {
		t.Errorf("Publish again with key: %d published, %d skipped, %v; want 0, 3", pub, skip, err)
	}

	// A different build of the same pkghash is not signed.
	other := entries[0]
	other.Tarball = makeTarball(t, "not-make", 100)
	before := dirFiles(t, dir)
	_, _, err = Publish(t.Context(), dir, []Entry{other}, testKey(t, "builder-2"))
	if err == nil || !strings.Contains(err.Error(), "already holds this pkghash with other content") {
		t.Errorf("Publish of other content with a new key: %v, want an error", err)
	}
	if diff := cmp.Diff(before, dirFiles(t, dir)); diff != "" {
		t.Errorf("refused Publish changed the cache (-before +after):\n%s", diff)
	}
}

// A planted entry (an .info that matches our tarball, beside a tarball of
// the same size with other bytes) is not signed: publish reads the
// published tarball before it signs.
func TestPublishSigningChecksPublishedTarball(t *testing.T) {
	entries := testEntries(t)
	e := entries[1]
	dir := t.TempDir()
	if _, _, err := Publish(t.Context(), dir, []Entry{e}, nil); err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(dir, e.PkgHash+".tar.gz")
	good := readFile(t, tarPath)
	evil := readFile(t, makeTarball(t, "evil", 3000))
	evil = append(evil, make([]byte, len(good))...)[:len(good)] // same size
	if err := os.WriteFile(tarPath, evil, 0o644); err != nil {
		t.Fatal(err)
	}
	before := dirFiles(t, dir)
	_, _, err := Publish(t.Context(), dir, []Entry{e}, testKey(t, "builder-1"))
	if err == nil || !strings.Contains(err.Error(), "so it is not signed") {
		t.Errorf("Publish over a planted tarball: %v, want an error", err)
	}
	if diff := cmp.Diff(before, dirFiles(t, dir)); diff != "" {
		t.Errorf("refused Publish changed the cache (-before +after):\n%s", diff)
	}
}

func TestPublishBadEntry(t *testing.T) {
	good := testEntries(t)[1]
	notGzip := filepath.Join(t.TempDir(), "x.tar.gz")
	writeFile(t, notGzip, []byte("plain text"))
	tests := []struct {
		name    string
		entry   Entry
		wantErr string
	}{
		{"bad pkghash", Entry{Name: "x", PkgHash: "XYZ", Tarball: good.Tarball}, `publish x (XYZ): pkghash: "XYZ" is not 64 lowercase hex digits`},
		{"bad closure", Entry{Name: "x", PkgHash: hashA, Tarball: good.Tarball, Closure: []string{"libc"}}, `closure: "libc" is not`},
		{"newline in name", Entry{Name: "x\ny", PkgHash: hashA, Tarball: good.Tarball}, "name: control character"},
		{"missing tarball", Entry{Name: "x", PkgHash: hashA, Tarball: "/nonexistent.tar.gz"}, "no such file"},
		{"not gzip", Entry{Name: "x", PkgHash: hashA, Tarball: notGzip}, "x.tar.gz is not a gzipped tarball"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, _, err := Publish(t.Context(), dir, []Entry{good, tt.entry}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Publish error = %v, want %q", err, tt.wantErr)
			}
			// Nothing partial: the good entry and the index only.
			want := []string{good.PkgHash + ".info", good.PkgHash + ".tar.gz", "index.html"}
			if diff := cmp.Diff(want, listDir(t, dir), cmpSorted); diff != "" {
				t.Errorf("cache dir diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPublishThenGet(t *testing.T) {
	k := testKey(t, "builder-1")
	entries := testEntries(t)
	dir := t.TempDir()
	if _, _, err := Publish(t.Context(), dir, entries, k); err != nil {
		t.Fatal(err)
	}
	c, _ := testClient(fileURL(dir))
	c.Trusted = keySet(k)
	dest := t.TempDir()
	hits, err := c.Prefetch(t.Context(), []string{entries[0].PkgHash, entries[1].PkgHash}, func(h string) string {
		return filepath.Join(dest, h)
	})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(hits[entries[0].PkgHash].Name, " ", hits[entries[1].PkgHash].Name)
	if got != "make libc" {
		t.Errorf("hits = %s, want make libc", got)
	}
}
