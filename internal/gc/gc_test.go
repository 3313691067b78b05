package gc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hdo-build/hdo/internal/archive"
	"github.com/hdo-build/hdo/internal/gcroots"
	"github.com/hdo-build/hdo/internal/store"
	"github.com/hdo-build/hdo/internal/venv"
)

func h(c byte) string { return strings.Repeat(string(c), 64) }

// world is a cache dir and a tree:
//
//	pkg/a  built (tarball), pkghash h(a), source h(1)
//	pkg/b  built, pkghash h(b), build-dep store entry of a
//	pkg/c  not built yet, pkghash h(c): its download h(c) is kept
//
// with store entries a, b and e (e: no package), sources 1 and 9, downloads
// c and d, a seed cache entry of key h(f) (no lock names it) and a build
// dir.
type world struct {
	cache, tree string
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newWorld(t *testing.T) *world {
	w := &world{cache: t.TempDir(), tree: t.TempDir()}
	os.Mkdir(filepath.Join(w.tree, ".hdo"), 0o755)
	for _, p := range []struct{ dir, hash string }{{"a", h('a')}, {"b", h('b')}, {"c", h('c')}} {
		d := filepath.Join(w.tree, "pkg", p.dir)
		write(t, filepath.Join(d, "build"), "true\n")
		write(t, filepath.Join(d, ".pkghash"), p.hash+"\n")
		if p.dir != "c" {
			write(t, filepath.Join(d, ".pkg.tar.gz"), "tarball")
		}
	}
	write(t, filepath.Join(w.tree, "pkg/a/sha256sums"), h('1')+"  a-1.0.tar.gz\n")
	// A hidden directory is not searched for packages.
	write(t, filepath.Join(w.tree, ".git/pkg/build"), "")

	src := t.TempDir()
	write(t, filepath.Join(src, "usr/bin/x"), "binary")
	tgz := filepath.Join(t.TempDir(), "x.tar.gz")
	if _, err := archive.WriteTarGzFile(tgz, src); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(w.cache, "store"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range "abe" {
		if _, err := st.Ensure(context.Background(), h(byte(c)), tgz, ""); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(w.cache, "sources", h('1')), "source 1")
	write(t, filepath.Join(w.cache, "sources", h('9')), "source 9")
	write(t, filepath.Join(w.cache, "downloads", h('c')+".tar.gz"), "dl c")
	write(t, filepath.Join(w.cache, "downloads", h('d')+".tar.gz"), "dl y")
	write(t, filepath.Join(w.cache, "bootstrap", h('f')+".tar.gz"), "seed")
	write(t, filepath.Join(w.cache, "bootstrap", h('f')+".blake3"), h('0')+"\n")
	write(t, filepath.Join(w.cache, "build", "app-123-1", "home", "f"), "leftover")
	write(t, filepath.Join(w.cache, "check", "app-456", "pkg.tar.gz"), "rebuilt")
	write(t, filepath.Join(w.cache, "check-789", "log"), "an older hdo's check")
	if err := gcroots.Register(w.cache, gcroots.Tree, w.tree); err != nil {
		t.Fatal(err)
	}
	return w
}

// left lists what is in the cache dir's kinds.
func (w *world) left(t *testing.T) []string {
	var out []string
	for _, d := range []string{"store", "sources", "downloads", "bootstrap", "build", "check", "check-789"} {
		ents, _ := os.ReadDir(filepath.Join(w.cache, d))
		for _, e := range ents {
			out = append(out, d+"/"+strings.ReplaceAll(e.Name(), strings.Repeat(e.Name()[:1], 64), e.Name()[:1]+"…"))
		}
	}
	sort.Strings(out)
	return out
}

func items(rep *Report) []string {
	var out []string
	for _, it := range rep.Items {
		out = append(out, it.Kind+" "+it.What)
	}
	return out
}

func TestCollect(t *testing.T) {
	w := newWorld(t)
	before := w.left(t)
	rep, err := Collect(context.Background(), Options{CacheDir: w.cache, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		Store + " " + h('e'),
		Sources + " " + h('9'),
		Downloads + " " + h('d'),
		Seeds + " " + h('f'),
		Builds + " app-123-1",
		Checks + " app-456",
		Checks + " check-789",
	}
	if diff := cmp.Diff(want, items(rep)); diff != "" {
		t.Errorf("dry run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, w.left(t)); diff != "" {
		t.Errorf("a dry run removed something (-before +after):\n%s", diff)
	}

	rep, err = Collect(context.Background(), Options{CacheDir: w.cache})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, items(rep)); diff != "" {
		t.Errorf("gc (-want +got):\n%s", diff)
	}
	wantLeft := []string{"sources/1…", "store/a…", "store/a….manifest", "store/a….tarballs", "store/b…", "store/b….manifest", "store/b….tarballs", "downloads/c….tar.gz"}
	sort.Strings(wantLeft)
	if diff := cmp.Diff(wantLeft, w.left(t)); diff != "" {
		t.Errorf("left (-want +got):\n%s", diff)
	}
	tot := rep.Totals()
	if tot[Store].Count != 1 || tot[Sources] != (Total{1, 8}) || tot[Builds] != (Total{1, 8}) || tot[Seeds] != (Total{1, 4 + 65}) {
		t.Errorf("totals = %+v", tot)
	}

	// Package b leaves the tree: its store entry goes, named from what the
	// last gc saw.
	os.RemoveAll(filepath.Join(w.tree, "pkg/b"))
	rep, err = Collect(context.Background(), Options{CacheDir: w.cache})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{Store + " " + h('b') + " (pkg/b of " + w.tree + ")"}, items(rep)); diff != "" {
		t.Errorf("after removing pkg/b (-want +got):\n%s", diff)
	}

	// Nothing left to do.
	rep, err = Collect(context.Background(), Options{CacheDir: w.cache})
	if err != nil || len(rep.Items) != 0 {
		t.Errorf("third gc: %v, %q; want nothing", err, items(rep))
	}

	// The tree goes: it is dropped, and what only it needed goes too,
	// but for what a kept package needs.
	keep := t.TempDir()
	os.Mkdir(filepath.Join(keep, ".hdo"), 0o755)
	write(t, filepath.Join(keep, "pkg/a/build"), "")
	write(t, filepath.Join(keep, "pkg/a/.pkghash"), h('a'))
	write(t, filepath.Join(keep, "pkg/a/.pkg.tar.gz"), "")
	write(t, filepath.Join(keep, "pkg/a/.closure"), "./pkg/d/.pkg.tar.gz\n")
	write(t, filepath.Join(keep, "pkg/d/seed.lock"), "not a lock")
	os.RemoveAll(w.tree)
	var logged []string
	rep, err = Collect(context.Background(), Options{CacheDir: w.cache, Keep: []string{filepath.Join(keep, "pkg/a/.pkg.tar.gz")}, SeedLock: fakeSeedLock, Log: func(f string, a ...any) { logged = append(logged, f) }})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{w.tree}, rep.Dropped); diff != "" {
		t.Errorf("dropped (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{Sources + " " + h('1'), Downloads + " " + h('c')}, items(rep)); diff != "" {
		t.Errorf("with the tree gone (-want +got):\n%s", diff)
	}
	if len(logged) != 1 {
		t.Errorf("logged %q, want one warning about the bad seed lock", logged)
	}
	if _, err := Collect(context.Background(), Options{CacheDir: w.cache, Keep: []string{t.TempDir()}}); err == nil || !strings.Contains(err.Error(), "not a tree, a package dir, a .pkg.tar.gz or a venv") {
		t.Errorf("keeping a plain directory: err = %v", err)
	}
}

// fakeSeedLock reads a lock of one line "KEY SOURCE...".
func fakeSeedLock(name string, data []byte) (string, []string, error) {
	f := strings.Fields(string(data))
	if len(f) == 0 || len(f[0]) != 64 {
		return "", nil, fmt.Errorf("%s: not a lock", name)
	}
	return f[0], f[1:], nil
}

// A seed lock keeps its seed cache entry and the sources it pins; without
// a way to read locks, gc keeps every seed and every source.
func TestCollectSeedLock(t *testing.T) {
	for _, tc := range []struct {
		name string
		read func(string, []byte) (string, []string, error)
		want []string
	}{
		{"read", fakeSeedLock, []string{Sources + " " + h('9'), Seeds + " " + h('e')}},
		{"not read", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			write(t, filepath.Join(w.tree, "pkg/seed/seed.lock"), h('f')+" "+h('8')+"\n")
			write(t, filepath.Join(w.cache, "sources", h('8')), "a .deb")
			write(t, filepath.Join(w.cache, "bootstrap", h('e')+".tar.gz"), "old seed")
			rep, err := Collect(context.Background(), Options{CacheDir: w.cache, DryRun: true, SeedLock: tc.read})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range items(rep) {
				if strings.HasPrefix(it, Sources) || strings.HasPrefix(it, Seeds) {
					got = append(got, it)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("seeds and sources removed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCollectVenv(t *testing.T) {
	w := newWorld(t)
	os.RemoveAll(w.tree)
	v := filepath.Join(t.TempDir(), "v")
	src := t.TempDir()
	write(t, filepath.Join(src, "bin/x"), "x")
	tgz := filepath.Join(t.TempDir(), "x.tar.gz")
	if _, err := archive.WriteTarGzFile(tgz, src); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(t.TempDir(), "hdo")
	write(t, exe, "")
	if err := venv.Create(context.Background(), v, venv.Info{Tree: w.tree, Packages: []venv.Package{{Name: "pkg/z", PkgHash: h('e'), Tarball: tgz}}}, exe); err != nil {
		t.Fatal(err)
	}
	if err := gcroots.Register(w.cache, gcroots.Venv, v); err != nil {
		t.Fatal(err)
	}
	rep, err := Collect(context.Background(), Options{CacheDir: w.cache})
	if err != nil {
		t.Fatal(err)
	}
	var store []string
	for _, it := range rep.Items {
		if it.Kind == Store {
			store = append(store, it.What[:1])
		}
	}
	if diff := cmp.Diff([]string{"a", "b"}, store); diff != "" {
		t.Errorf("store entries removed with only the venv as root (-want +got):\n%s", diff)
	}
	// The venv goes: so does its root, and then its package.
	os.RemoveAll(v)
	rep, err = Collect(context.Background(), Options{CacheDir: w.cache})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Dropped) != 1 || len(rep.Items) != 1 || rep.Items[0].What != h('e')+" (pkg/z of "+v+")" {
		t.Errorf("after removing the venv: dropped %q, items %q", rep.Dropped, items(rep))
	}
}

// A partial download of a needed source is kept while it may be resumed,
// and removed once no download has touched it for StalePart; a tree whose
// sha256sums is a FIFO or a link to /dev/zero neither hangs gc nor fills
// its memory.
func TestCollectStalePartAndHostileSums(t *testing.T) {
	w := newWorld(t)
	part := filepath.Join(w.cache, "sources", ".part-"+h('1'))
	write(t, part, "partial")
	write(t, filepath.Join(w.tree, "pkg/f/build"), "")
	if err := syscall.Mkfifo(filepath.Join(w.tree, "pkg/f/sha256sums"), 0o644); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(w.tree, "pkg/z/build"), "")
	if err := os.Symlink("/dev/zero", filepath.Join(w.tree, "pkg/z/sha256sums")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Collect(context.Background(), Options{CacheDir: w.cache})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("gc hangs on a FIFO or /dev/zero sha256sums")
	}
	if _, err := os.Stat(part); err != nil {
		t.Errorf("a fresh partial download of a needed source was removed: %v", err)
	}
	old := time.Now().Add(-2 * StalePart)
	os.Chtimes(part, old, old)
	if _, err := Collect(context.Background(), Options{CacheDir: w.cache}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(part); err == nil {
		t.Errorf("a stale partial download was kept")
	}
	if _, err := os.Stat(filepath.Join(w.cache, "sources", h('1'))); err != nil {
		t.Errorf("the needed source itself was removed: %v", err)
	}
}
