package bootstrap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// debSeed is a lock of crafted debs served by a fakeFetch.
type debSeed struct {
	lock  *Lock
	fetch *fakeFetch
}

// newDebSeed crafts two debs (the second replacing a file of the first), a
// fixup link, and the lock pinning them.
func newDebSeed(t testing.TB) *debSeed {
	t.Helper()
	base := makeDeb(t, "base-files", "12.4+deb12u1", ".xz", []entry{
		dirEntry("./", 0o755), dirEntry("./etc/", 0o755), file("./etc/os-release", 0o644, "bookworm\n"),
		dirEntry("./tmp/", 0o1777), file("./etc/motd", 0o644, "old motd\n"),
		{name: "./dev/console", typ: 0x33, mode: 0o600, devmajor: 5},
	})
	tools := makeDeb(t, "tools", "1.0-1", ".zst", []entry{
		dirEntry("./usr/bin/", 0o755), file("./usr/bin/gcc-12", 0o755, "ELF gcc\n"),
		file("./etc/motd", 0o644, "new motd\n"),
	})
	f := &fakeFetch{dir: t.TempDir(), files: map[string][]byte{sha256Hex(base): base, sha256Hex(tools): tools}}
	text := fmt.Sprintf(`hdo-seed-lock 1
arch amd64
packages tools
deb base-files 12.4+deb12u1 mirror://debian/pool/main/b/base-files/base-files_12.4+deb12u1_amd64.deb %d %s
deb tools 1.0-1 mirror://debian-security/pool/updates/main/t/tools/tools_1.0-1_amd64.deb %d %s
link /usr/bin/cc gcc-12
`, len(base), sha256Hex(base), len(tools), sha256Hex(tools))
	l, err := ParseLock("pkg/seed/seed.lock", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return &debSeed{lock: l, fetch: f}
}

var debSeedTree = []string{
	"d 0755 etc",
	"d 0755 usr",
	"d 0755 usr/bin",
	"d 1777 tmp",
	"f 0644 etc/motd = new motd\n",
	"f 0644 etc/os-release = bookworm\n",
	"f 0755 usr/bin/gcc-12 = ELF gcc\n",
	"l usr/bin/cc -> gcc-12",
}

func TestBuildDebsDeterministic(t *testing.T) {
	s := newDebSeed(t)
	var tarballs [][]byte
	var sums []string
	for i := 0; i < 2; i++ {
		var log bytes.Buffer
		path, sum, err := Build(context.Background(), s.lock, Options{CacheDir: t.TempDir(), Fetch: s.fetch.fetch(), Log: &log})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(debSeedTree, listTarGz(t, path)); diff != "" {
			t.Errorf("seed tarball: diff (-want +got):\n%s", diff)
		}
		if !strings.Contains(log.String(), "left out 1 device nodes") {
			t.Errorf("log does not mention the device node:\n%s", log.String())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		tarballs = append(tarballs, data)
		sums = append(sums, sum)
	}
	if !bytes.Equal(tarballs[0], tarballs[1]) {
		t.Errorf("two builds of one lock gave different tarballs")
	}
	if sums[0] != sums[1] {
		t.Errorf("two builds of one lock gave content hashes %s and %s", sums[0], sums[1])
	}
	want := []string{
		"mirror://debian/pool/main/b/base-files/base-files_12.4+deb12u1_amd64.deb",
		"mirror://debian-security/pool/updates/main/t/tools/tools_1.0-1_amd64.deb",
	}
	if diff := cmp.Diff(append(want, want...), s.fetch.urls); diff != "" {
		t.Errorf("fetched URLs: diff (-want +got):\n%s", diff)
	}
}

func TestBuildCache(t *testing.T) {
	s := newDebSeed(t)
	cache := t.TempDir()
	opts := Options{CacheDir: cache, Fetch: s.fetch.fetch()}
	path, sum, err := Build(context.Background(), s.lock, opts)
	if err != nil {
		t.Fatal(err)
	}
	if want := cache + "/" + s.lock.Key() + ".tar.gz"; path != want {
		t.Errorf("tarball at %s, want %s", path, want)
	}

	// A second build is a cache hit: nothing fetched, nothing logged.
	s.fetch.urls = nil
	var log bytes.Buffer
	opts.Log = &log
	path2, sum2, err := Build(context.Background(), s.lock, opts)
	if err != nil {
		t.Fatal(err)
	}
	if path2 != path || sum2 != sum {
		t.Errorf("cache hit gave %s %s, want %s %s", path2, sum2, path, sum)
	}
	if len(s.fetch.urls) > 0 || log.Len() > 0 {
		t.Errorf("cache hit fetched %q and logged %q", s.fetch.urls, log.String())
	}

	// A malformed hash file is a miss, and the entry is rebuilt.
	if err := os.WriteFile(cache+"/"+s.lock.Key()+".blake3", []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, sum3, err := Build(context.Background(), s.lock, opts)
	if err != nil {
		t.Fatal(err)
	}
	if sum3 != sum || len(s.fetch.urls) != 2 {
		t.Errorf("after a malformed entry: got sum %s and %d fetches, want %s and 2", sum3, len(s.fetch.urls), sum)
	}
	entries, _ := os.ReadDir(cache)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	key := s.lock.Key()
	if diff := cmp.Diff([]string{key + ".blake3", key + ".lock", key + ".tar.gz"}, names); diff != "" {
		t.Errorf("cache dir holds stray files: diff (-want +got):\n%s", diff)
	}
}

func TestBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(s *debSeed)
		want   string
	}{
		{"stale deb", func(s *debSeed) { delete(s.fetch.files, s.lock.Debs[1].SHA256) },
			"pkg/seed/seed.lock:5: tools 1.0-1 is no longer on the debian-security mirror; run 'hdo bootstrap lock pkg/seed' to re-pin"},
		{"stale deb on the Debian mirror", func(s *debSeed) { s.fetch.err = fmt.Errorf("all mirrors: %w", fs.ErrNotExist) },
			"pkg/seed/seed.lock:4: base-files 12.4+deb12u1 is no longer on the Debian mirror; run 'hdo bootstrap lock pkg/seed' to re-pin"},
		{"fetch error", func(s *debSeed) { s.fetch.err = errors.New("connection refused") },
			"pkg/seed/seed.lock:4: connection refused"},
		{"wrong bytes", func(s *debSeed) { s.fetch.files[s.lock.Debs[0].SHA256] = []byte("not a deb") },
			"pkg/seed/seed.lock:4: deb base-files: "},
		{"wrong package", func(s *debSeed) { s.lock.Debs[1].Version = "2.0-1" },
			"pkg/seed/seed.lock:5: deb tools: the package says it is tools 1.0-1, want tools 2.0-1"},
		{"link over directory", func(s *debSeed) { s.lock.Links[0].Path = "/usr/bin" },
			"pkg/seed/seed.lock:6: link: /usr/bin: a directory is in the way"},
		{"no fetcher", func(s *debSeed) { s.fetch = nil },
			"pkg/seed/seed.lock: the lock has deb or gotoolchain lines but no fetcher is configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newDebSeed(t)
			tc.change(s)
			opts := Options{CacheDir: t.TempDir()}
			if s.fetch != nil {
				opts.Fetch = s.fetch.fetch()
			}
			_, _, err := Build(context.Background(), s.lock, opts)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("Build error = %v, want %q", err, tc.want)
			}
			entries, _ := os.ReadDir(opts.CacheDir)
			for _, e := range entries {
				if !strings.HasSuffix(e.Name(), ".lock") {
					t.Errorf("failed build left %s in the cache", e.Name())
				}
			}
		})
	}
}

func TestStaleDebError(t *testing.T) {
	s := newDebSeed(t)
	s.fetch.files = nil
	_, _, err := Build(context.Background(), s.lock, Options{CacheDir: t.TempDir(), Fetch: s.fetch.fetch()})
	var stale *StaleDebError
	if !errors.As(err, &stale) {
		t.Fatalf("Build error %v is not a *StaleDebError", err)
	}
	want := &StaleDebError{Lock: "pkg/seed/seed.lock", Line: 4, Name: "base-files", Version: "12.4+deb12u1", Mirror: "debian"}
	if diff := cmp.Diff(want, stale, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Err" }, cmp.Ignore())); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("error does not wrap ErrNotFound")
	}
}

func TestBuildGoToolchain(t *testing.T) {
	const prefix = "golang.org/toolchain@v0.0.1-go1.26.8.linux-amd64/"
	zipData := makeZip(t, map[string]string{
		prefix + "bin/go":                         "go binary",
		prefix + "pkg/tool/linux_amd64/compile":   "compile binary",
		prefix + "lib/wasm/go_js_wasm_exec":       "#!/bin/sh\n",
		prefix + "lib/time/zoneinfo.zip":          "zones",
		prefix + "src/_go.mod":                    "module std\n",
		prefix + "src/fmt/print.go":               "package fmt\n",
		prefix + "VERSION":                        "go1.26.8\n",
		prefix + "src/cmd/vendor/golang.org/x/_x": "x",
	})
	sum := sha256Hex(zipData)
	f := &fakeFetch{dir: t.TempDir(), files: map[string][]byte{sum: zipData}}
	l, err := ParseLock("seed.lock", []byte("hdo-seed-lock 1\narch amd64\ngotoolchain go1.26.8 "+sum+"\nlink /usr/bin/go ../local/go/bin/go\n"))
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{CacheDir: t.TempDir(), Fetch: f.fetch(), GoProxy: "https://goproxy.invalid/mod/,direct"}
	path, _, err := Build(context.Background(), l, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"d 0755 usr",
		"d 0755 usr/bin",
		"d 0755 usr/local",
		"d 0755 usr/local/go",
		"d 0755 usr/local/go/bin",
		"d 0755 usr/local/go/lib",
		"d 0755 usr/local/go/lib/time",
		"d 0755 usr/local/go/lib/wasm",
		"d 0755 usr/local/go/pkg",
		"d 0755 usr/local/go/pkg/tool",
		"d 0755 usr/local/go/pkg/tool/linux_amd64",
		"d 0755 usr/local/go/src",
		"d 0755 usr/local/go/src/cmd",
		"d 0755 usr/local/go/src/cmd/vendor",
		"d 0755 usr/local/go/src/cmd/vendor/golang.org",
		"d 0755 usr/local/go/src/cmd/vendor/golang.org/x",
		"d 0755 usr/local/go/src/fmt",
		"f 0644 usr/local/go/VERSION = go1.26.8\n",
		"f 0644 usr/local/go/lib/time/zoneinfo.zip = zones",
		"f 0644 usr/local/go/src/_go.mod = module std\n",
		"f 0644 usr/local/go/src/cmd/vendor/golang.org/x/_x = x",
		"f 0644 usr/local/go/src/fmt/print.go = package fmt\n",
		"f 0644 usr/local/go/src/go.mod = module std\n",
		"f 0755 usr/local/go/bin/go = go binary",
		"f 0755 usr/local/go/lib/wasm/go_js_wasm_exec = #!/bin/sh\n",
		"f 0755 usr/local/go/pkg/tool/linux_amd64/compile = compile binary",
		"l usr/bin/go -> ../local/go/bin/go",
	}
	if diff := cmp.Diff(want, listTarGz(t, path)); diff != "" {
		t.Errorf("seed: diff (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"https://goproxy.invalid/mod/golang.org/toolchain/@v/v0.0.1-go1.26.8.linux-amd64.zip"}, f.urls); diff != "" {
		t.Errorf("fetched: diff (-want +got):\n%s", diff)
	}

	// A zip for another release is refused.
	other := makeZip(t, map[string]string{"golang.org/toolchain@v0.0.1-go1.25.0.linux-amd64/bin/go": "x"})
	f.files = map[string][]byte{sha256Hex(other): other}
	l.GoToolchain.SHA256 = sha256Hex(other)
	_, _, err = Build(context.Background(), l, Options{CacheDir: t.TempDir(), Fetch: f.fetch(), GoProxy: "https://goproxy.invalid"})
	wantErr := `seed.lock:3: gotoolchain go1.26.8: zip entry "golang.org/toolchain@v0.0.1-go1.25.0.linux-amd64/bin/go" is not under golang.org/toolchain@v0.0.1-go1.26.8.linux-amd64/`
	if err == nil || err.Error() != wantErr {
		t.Errorf("Build error = %v, want %s", err, wantErr)
	}
}

func TestGoProxyURL(t *testing.T) {
	for _, tc := range []struct{ list, want, wantErr string }{
		{list: "https://a.invalid,https://b.invalid", want: "https://a.invalid"},
		{list: "direct|https://b.invalid/", want: "https://b.invalid"},
		{list: "file:///srv/proxy", want: "file:///srv/proxy"},
		{list: "off", wantErr: `GOPROXY "off" names no module proxy; the Go toolchain zip comes from one (set GOPROXY)`},
	} {
		got, err := goProxyURL(context.Background(), Options{GoProxy: tc.list})
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("goProxyURL(%q) error = %v, want %s", tc.list, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("goProxyURL(%q) = %q, %v; want %q", tc.list, got, err, tc.want)
		}
	}
}

// TestBuildConcurrent checks that concurrent builds of one seed build it
// once: the others wait for the first and reuse its tarball.
func TestBuildConcurrent(t *testing.T) {
	s := newDebSeed(t)
	cache := t.TempDir()
	var mu sync.Mutex
	fetch := s.fetch.fetch()
	opts := Options{CacheDir: cache, Fetch: func(ctx context.Context, r FetchRequest) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		return fetch(ctx, r)
	}}
	const n = 4
	sums := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, sums[i], errs[i] = Build(context.Background(), s.lock, opts)
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if sums[i] != sums[0] {
			t.Errorf("build %d gave %s, want %s", i, sums[i], sums[0])
		}
	}
	if len(s.fetch.urls) != 2 {
		t.Errorf("fetched %d times, want 2 (one build)", len(s.fetch.urls))
	}
}

// prune removes a tree from the seed after the debs, never through a
// symlink, and is part of the lock's key.
func TestBuildPrune(t *testing.T) {
	s := newDebSeed(t)
	unpruned := s.lock.Key()
	text := string(s.lock.Format()) + "prune /etc\nprune /nonexistent\n"
	l, err := ParseLock("pkg/seed/seed.lock", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if l.Key() == unpruned {
		t.Error("prune lines do not change the key")
	}
	if back, err := ParseLock("x", l.Format()); err != nil || len(back.Prunes) != 2 {
		t.Errorf("prune lines do not round-trip: %v, %+v", err, back)
	}
	path, _, err := Build(context.Background(), l, Options{CacheDir: t.TempDir(), Fetch: s.fetch.fetch()})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"d 0755 usr", "d 0755 usr/bin", "d 1777 tmp", "f 0755 usr/bin/gcc-12 = ELF gcc\n", "l usr/bin/cc -> gcc-12"}
	if diff := cmp.Diff(want, listTarGz(t, path)); diff != "" {
		t.Errorf("pruned seed: diff (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"prune etc\n", "prune /etc\nprune /etc\n", "prune /a/../b\n"} {
		if _, err := ParseLock("x", []byte("hdo-seed-lock 1\narch amd64\n"+bad+"link /a b\n")); err == nil {
			t.Errorf("ParseLock accepted %q", bad)
		}
	}
}

// With Prefetch, every deb is asked for at once, before any is installed,
// and a deb it could not get fails the build with the lock line's error.
func TestBuildPrefetch(t *testing.T) {
	s := newDebSeed(t)
	var asked []string
	fetched := 0
	fetch := s.fetch.fetch()
	opts := Options{CacheDir: t.TempDir(),
		Fetch: func(ctx context.Context, r FetchRequest) (string, error) {
			fetched++
			return fetch(ctx, r)
		},
		Prefetch: func(ctx context.Context, rs []FetchRequest) []error {
			if fetched != 0 {
				t.Errorf("Prefetch came after %d fetches", fetched)
			}
			for _, r := range rs {
				asked = append(asked, r.Origin+" "+r.Name)
			}
			return make([]error, len(rs))
		}}
	if _, _, err := Build(context.Background(), s.lock, opts); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"pkg/seed/seed.lock:4 base-files_12.4+deb12u1_amd64.deb",
		"pkg/seed/seed.lock:5 tools_1.0-1_amd64.deb",
	}
	if diff := cmp.Diff(want, asked); diff != "" {
		t.Errorf("Prefetch requests (-want +got):\n%s", diff)
	}

	opts.CacheDir = t.TempDir()
	opts.Prefetch = func(ctx context.Context, rs []FetchRequest) []error {
		errs := make([]error, len(rs))
		errs[1] = fmt.Errorf("%s: fetch: %w", rs[1].Origin, ErrNotFound)
		return errs
	}
	_, _, err := Build(context.Background(), s.lock, opts)
	var stale *StaleDebError
	if !errors.As(err, &stale) || stale.Line != 5 || stale.Name != "tools" {
		t.Errorf("Build with a deb Prefetch could not get: %v, want a StaleDebError for line 5", err)
	}
}
