package store

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"

	"github.com/hdo-build/hdo/internal/archive"
	"github.com/hdo-build/hdo/internal/rmtree"
)

// writeTarball archives a small package tree and returns the tarball's
// path.
func writeTarball(t testing.TB, files map[string]string) string {
	t.Helper()
	src := t.TempDir()
	for name, body := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(body, "-> "); ok {
			err = os.Symlink(target, p)
		} else {
			mode := fs.FileMode(0o644)
			if strings.HasPrefix(body, "#!") {
				mode = 0o755
			}
			err = os.WriteFile(p, []byte(body), mode)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	tarball := filepath.Join(t.TempDir(), "pkg.tar.gz")
	if _, err := archive.WriteTarGzFile(tarball, src); err != nil {
		t.Fatal(err)
	}
	return tarball
}

var makeFiles = map[string]string{
	"usr/bin/make":      "#!/bin/sh\necho make\n",
	"usr/lib/libz.so.1": "ELF",
	"usr/lib/libz.so":   "-> libz.so.1",
	"usr/share/doc/x":   "doc",
}

// openStore opens a store in a fresh directory and makes sure the test
// can remove it afterwards.
func openStore(t testing.TB) *Store {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rmtree.Remove(dir) })
	return s
}

// dirNames lists the store directory.
func dirNames(t testing.TB, s *Store) []string {
	t.Helper()
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// tree describes every path under dir with its full mode.
func tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := info.Mode().String()
		switch {
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += " " + string(b)
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " " + target
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEnsure(t *testing.T) {
	s := openStore(t)
	tarball := writeTarball(t, makeFiles)
	dir, err := s.Ensure(context.Background(), hashA, tarball, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(s.Dir, hashA); dir != want {
		t.Errorf("dir = %s, want %s", dir, want)
	}
	// The tarball's modes, exactly.
	want := map[string]string{
		".":                 "drwxr-xr-x",
		"usr":               "drwxr-xr-x",
		"usr/bin":           "drwxr-xr-x",
		"usr/bin/make":      "-rwxr-xr-x #!/bin/sh\necho make\n",
		"usr/lib":           "drwxr-xr-x",
		"usr/lib/libz.so.1": "-rw-r--r-- ELF",
		"usr/lib/libz.so":   "Lrwxrwxrwx libz.so.1",
		"usr/share":         "drwxr-xr-x",
		"usr/share/doc":     "drwxr-xr-x",
		"usr/share/doc/x":   "-rw-r--r-- doc",
	}
	if diff := cmp.Diff(want, tree(t, dir)); diff != "" {
		t.Errorf("tree (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{hashA, hashA + ".manifest", hashA + ".tarballs"}, dirNames(t, s)); diff != "" {
		t.Errorf("store directory (-want +got):\n%s", diff)
	}

	// A second Ensure with a tarball hash the store checked does not
	// read the tarball.
	fileHash := strings.TrimSpace(dirFile(t, s, hashA+".tarballs"))
	if err := os.Remove(tarball); err != nil {
		t.Fatal(err)
	}
	again, err := s.Ensure(context.Background(), hashA, tarball, fileHash)
	if err != nil || again != dir {
		t.Errorf("second Ensure = %q, %v; want %q", again, err, dir)
	}
	list, err := s.List()
	if err != nil || !cmp.Equal(list, []string{hashA}) {
		t.Errorf("List = %q, %v; want [%s]", list, err, hashA)
	}
}

func TestEnsureConcurrent(t *testing.T) {
	s := openStore(t)
	tarball := writeTarball(t, makeFiles)
	var wg sync.WaitGroup
	dirs := make([]string, 8)
	errs := make([]error, 8)
	for i := range dirs {
		wg.Go(func() { dirs[i], errs[i] = s.Ensure(context.Background(), hashA, tarball, "") })
	}
	wg.Wait()
	for i := range dirs {
		if errs[i] != nil || dirs[i] != s.Path(hashA) {
			t.Errorf("Ensure %d = %q, %v; want %q", i, dirs[i], errs[i], s.Path(hashA))
		}
	}
	if diff := cmp.Diff([]string{hashA, hashA + ".manifest", hashA + ".tarballs"}, dirNames(t, s)); diff != "" {
		t.Errorf("store directory (-want +got):\n%s", diff)
	}
}

// TestInstallLoses covers the process that extracts a package another
// process has installed meanwhile: it keeps the winner's tree and removes
// its own read-only temporary tree.
func TestInstallLoses(t *testing.T) {
	s := openStore(t)
	tarball := writeTarball(t, makeFiles)
	dir, err := s.Ensure(context.Background(), hashA, tarball, "")
	if err != nil {
		t.Fatal(err)
	}
	before := tree(t, dir)
	got, err := s.install(context.Background(), hashA, tarball, "")
	if err != nil || got != dir {
		t.Fatalf("install = %q, %v; want %q", got, err, dir)
	}
	if diff := cmp.Diff([]string{hashA, hashA + ".manifest", hashA + ".tarballs"}, dirNames(t, s)); diff != "" {
		t.Errorf("store directory (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, tree(t, dir)); diff != "" {
		t.Errorf("the winner's tree changed (-before +after):\n%s", diff)
	}
}

func hostileTarball(t testing.TB) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range []*tar.Header{
		{Name: "ok/", Typeflag: tar.TypeDir, Mode: 0o555},
		{Name: "ok/file", Typeflag: tar.TypeReg, Mode: 0o444, Size: 2},
		{Name: "escape", Typeflag: tar.TypeSymlink, Linkname: "/tmp"},
		{Name: "escape/pwned", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte("hi"))
		}
	}
	tw.Close()
	zw.Close()
	p := filepath.Join(t.TempDir(), "hostile.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEnsureRefuses(t *testing.T) {
	good := writeTarball(t, makeFiles)
	truncated := filepath.Join(t.TempDir(), "truncated.tar.gz")
	data, _ := os.ReadFile(good)
	os.WriteFile(truncated, data[:len(data)-20], 0o644)
	hostile := hostileTarball(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name, hash, tarball string
		ctx                 context.Context
		want                string
	}{
		{"hostile", hashA, hostile, nil, `store: unpack ` + hostile + `: archive: entry "escape/pwned": path goes through the symlink "escape"`},
		{"truncated", hashA, truncated, nil, `store: unpack ` + truncated + `: archive: bad stream`},
		{"missing", hashA, filepath.Join(t.TempDir(), "nothere"), nil, `no such file`},
		{"cancelled", hashA, good, cancelled, `context canceled`},
		{"dotdot hash", "../" + hashA[3:], good, nil, `store: invalid package hash "../aaa`},
		{"upper case hash", strings.ToUpper(hashB), good, nil, `want 64 lowercase hex digits`},
		{"short hash", hashA[1:], good, nil, `want 64 lowercase hex digits`},
		{"empty hash", "", good, nil, `invalid package hash ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			dir, err := s.Ensure(ctx, tc.hash, tc.tarball, "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Ensure = %q, %v; want an error containing %q", dir, err, tc.want)
			}
			if names := dirNames(t, s); len(names) != 0 {
				t.Errorf("the store holds %q after a refused tarball", names)
			}
			if _, err := os.Lstat(filepath.Join(filepath.Dir(s.Dir), "pwned")); err == nil {
				t.Errorf("wrote outside the store")
			}
		})
	}
	t.Run("cancel is context.Canceled", func(t *testing.T) {
		_, err := openStore(t).Ensure(cancelled, hashA, good, "")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

func TestManifest(t *testing.T) {
	s := openStore(t)
	tarball := writeTarball(t, makeFiles)
	if _, err := s.Ensure(context.Background(), hashA, tarball, ""); err != nil {
		t.Fatal(err)
	}
	content, err := archive.ContentHashFile(tarball)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.manifestPath(hashA))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`hdo-manifest 1
content %s
d 0755 "usr"
d 0755 "usr/bin"
f 0755 20 %s "usr/bin/make"
d 0755 "usr/lib"
l "libz.so.1" "usr/lib/libz.so"
f 0644 3 %s "usr/lib/libz.so.1"
d 0755 "usr/share"
d 0755 "usr/share/doc"
f 0644 3 %s "usr/share/doc/x"
`, content, blake3Hex("#!/bin/sh\necho make\n"), blake3Hex("ELF"), blake3Hex("doc"))
	if diff := cmp.Diff(want, string(data)); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
	m, err := s.Manifest(hashA)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Encode(), data) {
		t.Errorf("Manifest(...).Encode() differs from the file")
	}

	// Determinism: another store, another extraction, the same bytes.
	s2 := openStore(t)
	if _, err := s2.Ensure(context.Background(), hashA, writeTarball(t, makeFiles), ""); err != nil {
		t.Fatal(err)
	}
	data2, err := os.ReadFile(s2.manifestPath(hashA))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, data2) {
		t.Errorf("two extractions of one tree give different manifests:\n%s\n%s", data, data2)
	}

	if _, err := s.Manifest(hashB); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Manifest of a missing package: err = %v, want not exist", err)
	}
}

func TestRemove(t *testing.T) {
	s := openStore(t)
	tarball := writeTarball(t, makeFiles)
	for _, h := range []string{hashA, hashB} {
		if _, err := s.Ensure(context.Background(), h, tarball, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Remove(hashA); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{hashB, hashB + ".manifest", hashB + ".tarballs"}, dirNames(t, s)); diff != "" {
		t.Errorf("store directory after Remove (-want +got):\n%s", diff)
	}
	if err := s.Remove(hashA); err != nil {
		t.Errorf("removing a missing package: %v", err)
	}
	if err := s.Remove("../x"); err == nil {
		t.Errorf("Remove accepted a bad hash")
	}
	list, err := s.List()
	if err != nil || !cmp.Equal(list, []string{hashB}) {
		t.Errorf("List = %q, %v; want [%s]", list, err, hashB)
	}
	// A tree whose manifest was lost is extracted again.
	os.Remove(s.manifestPath(hashB))
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("List = %q, want a tree without manifest left out", list)
	}
	if _, err := s.Ensure(context.Background(), hashB, tarball, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Manifest(hashB); err != nil {
		t.Error(err)
	}
}

func TestCleanTemp(t *testing.T) {
	s := openStore(t)
	old := time.Now().Add(-2 * StaleAge)
	for _, name := range []string{".tmp-old", ".tmp-new"} {
		p := filepath.Join(s.Dir, name)
		os.MkdirAll(filepath.Join(p, "ro/sub"), 0o755)
		os.WriteFile(filepath.Join(p, "ro/sub/f"), []byte("x"), 0o444)
		os.Chmod(filepath.Join(p, "ro/sub"), 0o555)
		os.Chmod(filepath.Join(p, "ro"), 0o500)
		os.Chmod(p, 0o555)
		if name == ".tmp-old" {
			os.Chtimes(p, old, old)
		}
	}
	os.WriteFile(filepath.Join(s.Dir, "."+hashA+".manifest123"), nil, 0o644)
	os.Chtimes(filepath.Join(s.Dir, "."+hashA+".manifest123"), old, old)
	if _, err := Open(s.Dir); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{".tmp-new"}, dirNames(t, s)); diff != "" {
		t.Errorf("store directory after Open (-want +got):\n%s", diff)
	}
}

func TestKnownContent(t *testing.T) {
	s := openStore(t)
	if c, ok := s.KnownContent(hashA); ok {
		t.Fatalf("KnownContent of an unknown package = %q, true", c)
	}
	content := strings.Repeat("c", 64)
	if err := s.NoteContent(hashA, content); err != nil {
		t.Fatal(err)
	}
	if c, ok := s.KnownContent(hashA); !ok || c != content {
		t.Errorf("KnownContent after NoteContent = %q, %v; want %q", c, ok, content)
	}
	for _, bad := range [][2]string{{"../x", content}, {hashA, "../../etc"}, {hashA, strings.ToUpper(content)}} {
		if err := s.NoteContent(bad[0], bad[1]); err == nil {
			t.Errorf("NoteContent(%q, %q) accepted a bad hash", bad[0], bad[1])
		}
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("List = %q: a note is not a package", list)
	}
	// An extracted package's manifest says its content.
	tarball := writeTarball(t, makeFiles)
	if _, err := s.Ensure(context.Background(), hashB, tarball, ""); err != nil {
		t.Fatal(err)
	}
	m, err := s.Manifest(hashB)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := s.KnownContent(hashB); !ok || c != m.ContentHash {
		t.Errorf("KnownContent of an extracted package = %q, %v; want %q", c, ok, m.ContentHash)
	}
	// Remove forgets the note too.
	if err := s.Remove(hashA); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.KnownContent(hashA); ok {
		t.Errorf("KnownContent after Remove still knows the package")
	}
}

func dirFile(t *testing.T, s *Store, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.Dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The store does not trust its key: a tarball with other content under a
// pkghash the store holds (a hand-made tarball for another tree's
// package, say) gets its own content, never the entry's, and a later
// Ensure with the first tarball gets that one's back.
func TestEnsureNotTrustingKey(t *testing.T) {
	s := openStore(t)
	good := writeTarball(t, makeFiles)
	if _, err := s.Ensure(context.Background(), hashA, good, ""); err != nil {
		t.Fatal(err)
	}
	evil := writeTarball(t, map[string]string{"usr/bin/make": "#!/bin/sh\necho pwned\n"})
	dir, replaced, err := s.EnsureReplaced(context.Background(), hashA, evil, "")
	if err != nil {
		t.Fatal(err)
	}
	if !replaced {
		t.Errorf("EnsureReplaced with other content: replaced = false")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "usr/bin/make")); string(b) != "#!/bin/sh\necho pwned\n" {
		t.Errorf("the entry serving the second tarball holds %q", b)
	}
	dir, replaced, err = s.EnsureReplaced(context.Background(), hashA, good, "")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "usr/bin/make")); !replaced || string(b) != "#!/bin/sh\necho make\n" {
		t.Errorf("back to the first tarball: replaced %v, make = %q", replaced, b)
	}
	// The same tarball again is known: nothing replaced.
	if _, replaced, err = s.EnsureReplaced(context.Background(), hashA, good, ""); err != nil || replaced {
		t.Errorf("the same tarball again: replaced %v, %v", replaced, err)
	}
	if list, _ := s.List(); !cmp.Equal(list, []string{hashA}) {
		t.Errorf("List = %q", list)
	}
}

// No entry is writable by other users, whatever its tarball says: a
// package's 1777 tmp dir (stage0 has one) or a 0666 file must not let
// another user write into this user's (or root's) store.
func TestEnsurePrivate(t *testing.T) {
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(src, "tmp"), fs.ModeSticky|0o777)
	os.Chmod(filepath.Join(src, "f"), 0o666)
	tgz := filepath.Join(t.TempDir(), "p.tar.gz")
	if _, err := archive.WriteTarGzFile(tgz, src); err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	dir, err := s.Ensure(context.Background(), hashA, tgz, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{"tmp": fs.ModeDir | fs.ModeSticky | 0o755, "f": 0o644} {
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (fs.ModeType | fs.ModePerm | fs.ModeSticky); got != want {
			t.Errorf("%s: mode %v in the store, want %v", name, got, want)
		}
	}
}

// TestGiveTo checks an entry, symlinks included, is given to the builds'
// user, once, and the store dir becomes its owner's alone.
func TestGiveTo(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: only root gives entries to another user")
	}
	s := openStore(t)
	dir, err := s.Ensure(context.Background(), hashA, writeTarball(t, makeFiles), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.GiveTo(hashA, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{".", "usr", "usr/bin/make", "usr/lib/libz.so"} {
		fi, err := os.Lstat(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || st.Gid != 65534 {
			t.Errorf("%s: owned by %d:%d, want 65534:65534", rel, st.Uid, st.Gid)
		}
	}
	if fi, err := os.Stat(s.Dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("store dir: %v %v, want mode 0700", fi.Mode(), err)
	}
	// Done once: the top dir's owner says so.
	os.Lchown(filepath.Join(dir, "usr/bin/make"), 0, 0)
	if err := s.GiveTo(hashA, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(filepath.Join(dir, "usr/bin/make")); fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("GiveTo walked an entry already given")
	}
	if err := s.GiveTo("../x", 1, 1); err == nil {
		t.Errorf("GiveTo took a bad hash")
	}
}
