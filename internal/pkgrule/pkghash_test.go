package pkgrule

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/internal/pkgtree"
)

var update = flag.Bool("update", false, "rewrite testdata/hashes.golden")

// testTree copies testdata/tree into a fresh tree root.
func testTree(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	if out, err := exec.Command("cp", "-a", "testdata/tree/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	// git keeps exec bits, but make sure of the one the golden file hashes.
	os.Chmod(filepath.Join(dst, "pkg/zlib/files/helper.sh"), 0o755)
	os.Chmod(filepath.Join(dst, "pkg/zlib/files/patches/fix.patch"), 0o644)
	return dst
}

// pkghashes builds every package's .pkghash in root with the engine and
// returns them by package dir.
func pkghashes(t *testing.T, root string) map[string]string {
	t.Helper()
	e, err := engine.New(engine.Config{Root: root, Jobs: 1, Builtins: Builtins(Config{Root: root}), Status: engine.NewQuietStatus(io.Discard), Exe: "/bin/false"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	dirs, _ := filepath.Glob(filepath.Join(root, "pkg", "*"))
	var targets []string
	for _, d := range dirs {
		rel, _ := filepath.Rel(root, d)
		targets = append(targets, filepath.ToSlash(rel)+"/"+pkgtree.PkgHashFile)
	}
	if err := e.Build(context.Background(), targets, false); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tg := range targets {
		b, err := os.ReadFile(filepath.Join(root, tg))
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Dir(tg)] = strings.TrimSpace(string(b))
	}
	return out
}

func format(h map[string]string) string {
	var b strings.Builder
	for _, d := range []string{"pkg/app", "pkg/libc", "pkg/make", "pkg/zlib"} {
		fmt.Fprintf(&b, "%s %s\n", h[d], d)
	}
	return b.String()
}

// TestGolden pins the .pkghash encoding: a fixed tree must hash to the
// committed values. A change here changes every package's identity and
// needs an EncodingVersion bump.
func TestGolden(t *testing.T) {
	got := format(pkghashes(t, testTree(t)))
	if *update {
		os.WriteFile("testdata/hashes.golden", []byte(got), 0o644)
	}
	want, err := os.ReadFile("testdata/hashes.golden")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("pkghashes (-want +got):\n%s", diff)
	}
}

// TestHashInputs: every input changes the hash of the package and of what
// depends on it; what is not an input changes nothing.
func TestHashInputs(t *testing.T) {
	base := pkghashes(t, testTree(t))
	tests := []struct {
		name    string
		edit    func(root string) error
		changed []string // packages whose hash must change; all others must not
	}{
		{"build byte", appendTo("pkg/libc/build", " "), []string{"pkg/libc", "pkg/zlib", "pkg/make", "pkg/app"}},
		{"a sum", replaceIn("pkg/zlib/sha256sums", "ff0b", "ff0c"), []string{"pkg/zlib", "pkg/make", "pkg/app"}},
		{"files byte", appendTo("pkg/zlib/files/patches/fix.patch", "x"), []string{"pkg/zlib", "pkg/make", "pkg/app"}},
		{"exec bit", chmod("pkg/zlib/files/helper.sh", 0o644), []string{"pkg/zlib", "pkg/make", "pkg/app"}},
		{"new file in files/", write("pkg/zlib/files/new", "n"), []string{"pkg/zlib", "pkg/make", "pkg/app"}},
		{"symlink target", relink("pkg/zlib/files/link", "helper.sh"), []string{"pkg/zlib", "pkg/make", "pkg/app"}},
		{"a dep's build", appendTo("pkg/make/build", "\n"), []string{"pkg/make", "pkg/app"}},
		{"dep moved from run to build", func(root string) error {
			if err := os.Remove(filepath.Join(root, "pkg/app/run-deps")); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(root, "pkg/app/build-deps"), []byte("../make\n../zlib\n"), 0o644)
		}, []string{"pkg/app"}},
		{"URL", replaceIn("pkg/zlib/fetch", "zlib.example", "mirror.example"), nil},
		{"comment in deps", appendTo("pkg/app/build-deps", "# note\n"), nil},
		{"deps order", write("pkg/make/run-deps", "../libc\n../zlib\n"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := testTree(t)
			if err := tt.edit(root); err != nil {
				t.Fatal(err)
			}
			got := pkghashes(t, root)
			must := map[string]bool{}
			for _, d := range tt.changed {
				must[d] = true
			}
			for d, h := range base {
				if (got[d] != h) != must[d] {
					t.Errorf("%s: changed=%v, want %v", d, got[d] != h, must[d])
				}
			}
		})
	}
}

// Renaming a package directory (and the paths that name it) does not change
// any hash: names are not hashed.
func TestRenameKeepsHashes(t *testing.T) {
	root := testTree(t)
	base := pkghashes(t, root)
	root2 := testTree(t)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Rename(filepath.Join(root2, "pkg/zlib"), filepath.Join(root2, "pkg/libz")))
	must(os.WriteFile(filepath.Join(root2, "pkg/make/run-deps"), []byte("../libz\n../libc\n"), 0o644))
	must(os.WriteFile(filepath.Join(root2, "pkg/app/run-deps"), []byte("../libz\n"), 0o644))
	got := pkghashes(t, root2)
	if got["pkg/libz"] != base["pkg/zlib"] || got["pkg/app"] != base["pkg/app"] || got["pkg/make"] != base["pkg/make"] {
		t.Errorf("renaming pkg/zlib changed hashes:\nbefore %v\nafter  %v", base, got)
	}
}

// The same tree hashes to the same bytes twice.
func TestDeterministic(t *testing.T) {
	a := format(pkghashes(t, testTree(t)))
	b := format(pkghashes(t, testTree(t)))
	if a != b {
		t.Errorf("two hashings differ:\n%s\n%s", a, b)
	}
}

func appendTo(p, s string) func(string) error {
	return func(root string) error {
		f, err := os.OpenFile(filepath.Join(root, p), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteString(s)
		return err
	}
}

func replaceIn(p, old, new string) func(string) error {
	return func(root string) error {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(root, p), []byte(strings.Replace(string(b), old, new, 1)), 0o644)
	}
}

func write(p, s string) func(string) error {
	return func(root string) error { return os.WriteFile(filepath.Join(root, p), []byte(s), 0o644) }
}

func chmod(p string, mode os.FileMode) func(string) error {
	return func(root string) error { return os.Chmod(filepath.Join(root, p), mode) }
}

func relink(p, target string) func(string) error {
	return func(root string) error {
		os.Remove(filepath.Join(root, p))
		return os.Symlink(target, filepath.Join(root, p))
	}
}
