package pkgspec

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeTree creates files under root; a value starting with "-> " makes a
// symlink to the rest, a key ending in "/" a directory.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasSuffix(name, "/"):
			err = os.MkdirAll(p, 0o755)
		case strings.HasPrefix(content, "-> "):
			err = os.Symlink(strings.TrimPrefix(content, "-> "), p)
		default:
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func baseTree() map[string]string {
	return map[string]string{
		"pkg/libc/seed.lock":    "seed v1\n",
		"pkg/zlib/build":        "make install\n",
		"pkg/zlib/run-deps":     "../libc\n",
		"pkg/gcc/build":         "true\n",
		"pkg/cc":                "-> gcc",
		"pkg/make/build":        "./configure && make install\n",
		"pkg/make/build-deps":   "# tools\n../cc\n../zlib\n",
		"pkg/make/run-deps":     "../libc\n",
		"pkg/make/fetch":        "url = \"https://ftp.example/make-4.4.tar.gz\"\n-O\nurl = mirror://gnu/patch.diff\noutput = fix.diff\n",
		"pkg/make/sha256sums":   sumA + "  make-4.4.tar.gz\n" + sumB + "  fix.diff\n",
		"pkg/make/files/x":      "x",
		"pkg/nodeps/build":      "",
		"pkg/sub/real/build":    "true\n",
		"pkg/sub/real/run-deps": "../../zlib\n",
		"pkg/sub/zlib/build":    "true\n",
		"pkg/alias":             "-> sub/real",
	}
}

func TestLoad(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, baseTree())
	tests := []struct {
		dir  string
		want *Package
	}{
		{"pkg/make", &Package{
			Dir:       "pkg/make",
			Build:     []byte("./configure && make install\n"),
			BuildDeps: []string{"pkg/gcc", "pkg/zlib"},
			RunDeps:   []string{"pkg/libc"},
			Fetch: []FetchItem{
				{"https://ftp.example/make-4.4.tar.gz", "make-4.4.tar.gz", 1},
				{"mirror://gnu/patch.diff", "fix.diff", 3},
			},
			Sums: []Sum{{"make-4.4.tar.gz", sumA, 1}, {"fix.diff", sumB, 2}},
			Sources: []Source{
				{"make-4.4.tar.gz", sumA, []string{"https://ftp.example/make-4.4.tar.gz"}, "pkg/make/fetch:1", "pkg/make/sha256sums:1"},
				{"fix.diff", sumB, []string{"mirror://gnu/patch.diff"}, "pkg/make/fetch:3", "pkg/make/sha256sums:2"},
			},
			Inputs:  []string{"pkg/make/build", "pkg/make/build-deps", "pkg/make/run-deps", "pkg/make/fetch", "pkg/make/sha256sums"},
			Missing: []string{"pkg/make/seed.lock", "pkg/make/version"},
		}},
		{"./pkg/nodeps/", &Package{
			Dir:     "pkg/nodeps",
			Build:   []byte{},
			Inputs:  []string{"pkg/nodeps/build"},
			Missing: []string{"pkg/nodeps/seed.lock", "pkg/nodeps/version", "pkg/nodeps/build-deps", "pkg/nodeps/run-deps", "pkg/nodeps/fetch", "pkg/nodeps/sha256sums"},
		}},
		{"pkg/libc", &Package{
			Dir:      "pkg/libc",
			Seed:     true,
			SeedLock: []byte("seed v1\n"),
			Inputs:   []string{"pkg/libc/seed.lock"},
			Missing:  []string{"pkg/libc/build", "pkg/libc/version", "pkg/libc/build-deps", "pkg/libc/run-deps", "pkg/libc/fetch", "pkg/libc/sha256sums"},
		}},
		// The package dir is a symlink: ../../zlib is resolved from the
		// directory it points to, as the kernel would.
		{"pkg/alias", &Package{
			Dir:     "pkg/alias",
			Build:   []byte("true\n"),
			RunDeps: []string{"pkg/zlib"},
			Inputs:  []string{"pkg/alias/build", "pkg/alias/run-deps"},
			Missing: []string{"pkg/alias/seed.lock", "pkg/alias/version", "pkg/alias/build-deps", "pkg/alias/fetch", "pkg/alias/sha256sums"},
		}},
		{filepath.Join(root, "pkg/zlib"), &Package{
			Dir:     "pkg/zlib",
			Build:   []byte("make install\n"),
			RunDeps: []string{"pkg/libc"},
			Inputs:  []string{"pkg/zlib/build", "pkg/zlib/run-deps"},
			Missing: []string{"pkg/zlib/seed.lock", "pkg/zlib/version", "pkg/zlib/build-deps", "pkg/zlib/fetch", "pkg/zlib/sha256sums"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			got, err := Load(root, tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadRelativeRoot checks that a relative root and a root reached
// through a symlink give the same answers.
func TestLoadRelativeRoot(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "tree")
	writeTree(t, root, baseTree())
	writeTree(t, dir, map[string]string{"link": "-> tree", "tree/pkg/abs": "-> " + filepath.Join(root, "pkg/zlib")})
	writeTree(t, root, map[string]string{"pkg/viaabs/build": "", "pkg/viaabs/run-deps": "../abs\n"})
	t.Chdir(dir)
	for _, r := range []string{"tree", "link", filepath.Join(dir, "link")} {
		got, err := Load(r, "pkg/viaabs")
		if err != nil {
			t.Fatalf("root %s: %v", r, err)
		}
		if diff := cmp.Diff([]string{"pkg/zlib"}, got.RunDeps); diff != "" {
			t.Errorf("root %s: RunDeps diff (-want +got):\n%s", r, diff)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{"evil/build": "true\n"})
	tests := []struct {
		name  string
		files map[string]string
		dir   string
		want  string
	}{
		{"typo", map[string]string{"pkg/make/run-deps": "../libc\n\n../zlb\n"}, "pkg/make",
			"pkg/make/run-deps:3: ../zlb is not a package directory (no build or seed.lock file); did you mean ../zlib?"},
		{"name from the pkg dir", map[string]string{"pkg/make/run-deps": "libc\n"}, "pkg/make",
			"pkg/make/run-deps:1: libc is not a package directory (no build or seed.lock file); deps are relative to the package dir pkg/make: did you mean ../libc?"},
		{"path from the root", map[string]string{"pkg/make/run-deps": "../libc\npkg/zlib\n"}, "pkg/make",
			"pkg/make/run-deps:2: pkg/zlib is not a package directory (no build or seed.lock file); deps are relative to the package dir pkg/make: did you mean ../zlib?"},
		{"nothing close", map[string]string{"pkg/make/run-deps": "../python\n"}, "pkg/make",
			"pkg/make/run-deps:1: ../python is not a package directory (no build or seed.lock file)"},
		{"dir without build", map[string]string{"pkg/empty/": "", "pkg/make/run-deps": "../empty\n"}, "pkg/make",
			"pkg/make/run-deps:1: ../empty is not a package directory (no build or seed.lock file)"},
		{"dep has a build dir", map[string]string{"pkg/odd/build/": "", "pkg/make/run-deps": "../odd\n"}, "pkg/make",
			"pkg/make/run-deps:1: ../odd is not a package directory (no build or seed.lock file)"},
		{"dep is a file", map[string]string{"pkg/make/build-deps": "../zlib/build\n"}, "pkg/make",
			"pkg/make/build-deps:1: ../zlib/build is not a package directory (not a directory)"},
		{"outside the tree", map[string]string{"pkg/make/build-deps": "../../../zlib\n"}, "pkg/make",
			"pkg/make/build-deps:1: ../../../zlib is outside the tree root"},
		{"symlink out of the tree", map[string]string{"pkg/evil": "-> " + filepath.Join(outside, "evil"), "pkg/make/build-deps": "../evil\n"}, "pkg/make",
			"pkg/make/build-deps:1: ../evil resolves to " + filepath.Join(outside, "evil") + ", outside the tree root"},
		{"self", map[string]string{"pkg/make/run-deps": "../libc\n../make\n"}, "pkg/make",
			"pkg/make/run-deps:2: ../make is the package itself"},
		{"self through a symlink", map[string]string{"pkg/me": "-> make", "pkg/make/run-deps": "../me\n"}, "pkg/make",
			"pkg/make/run-deps:1: ../me is the package itself"},
		{"same package twice", map[string]string{"pkg/make/build-deps": "../gcc\n../cc\n"}, "pkg/make",
			"pkg/make/build-deps:2: ../cc is the same package as ../gcc (line 1): pkg/gcc"},
		{"parse error", map[string]string{"pkg/make/build-deps": "/abs\n"}, "pkg/make",
			"pkg/make/build-deps:1: /abs is an absolute path; use a path relative to the package directory, like ../zlib"},
		{"both build and seed.lock", map[string]string{"pkg/make/seed.lock": "x"}, "pkg/make",
			"pkg/make: has both build and seed.lock; a package has one of them"},
		{"neither", map[string]string{"pkg/none/run-deps": "../zlib\n"}, "pkg/none",
			"pkg/none: not a package directory (no build or seed.lock file)"},
		{"no such dir", nil, "pkg/nope", "pkg/nope: no such package directory"},
		{"dir outside root", nil, "../x", "../x: package directory outside the tree root"},
		{"build is a directory", map[string]string{"pkg/d/build/": ""}, "pkg/d", "pkg/d/build: is a directory"},
		{"build symlink out of the tree", map[string]string{"pkg/make/build": "-> " + filepath.Join(outside, "evil/build")}, "pkg/make",
			"pkg/make/build: is a symlink to " + filepath.Join(outside, "evil/build") + ", outside the tree root; a package's files must be in the tree"},
		{"huge deps file", map[string]string{"pkg/make/build-deps": strings.Repeat("#", MaxFileSize+1)}, "pkg/make",
			fmt.Sprintf("pkg/make/build-deps: is %d bytes, more than the %d a package file may have", MaxFileSize+1, MaxFileSize)},
		{"empty version", map[string]string{"pkg/make/version": "\n"}, "pkg/make",
			"pkg/make/version: is empty; write the package's version on one line, or remove the file"},
		{"two-word version", map[string]string{"pkg/make/version": "4.3 beta\n"}, "pkg/make",
			`pkg/make/version:1: "4.3 beta" is not one word; write the version alone, e.g. 2.36-9`},
		{"seed with deps", map[string]string{"pkg/libc/run-deps": "\n"}, "pkg/libc",
			"pkg/libc/run-deps: a seed package (with seed.lock) has no run-deps; remove the file"},
		{"seed with fetch", map[string]string{"pkg/libc/fetch": "\n"}, "pkg/libc",
			"pkg/libc/fetch: a seed package (with seed.lock) has no fetch; remove the file"},
		{"no sha256sums", map[string]string{"pkg/f/build": "", "pkg/f/fetch": "url = http://h.example/a\n-O\n"}, "pkg/f",
			`pkg/f/sha256sums: missing, but fetch lists 1 file(s); add the lines sha256sum prints for them`},
		{"file without sum", map[string]string{"pkg/make/sha256sums": sumA + "  make-4.4.tar.gz\n"}, "pkg/make",
			`pkg/make/fetch:3: "fix.diff" has no sum in sha256sums; add the line "sha256sum fix.diff" prints`},
		{"sum without file", map[string]string{"pkg/make/sha256sums": sumA + "  make-4.4.tar.gz\n" + sumB + "  fix.diff\n" + sumB + "  old.diff\n"}, "pkg/make",
			`pkg/make/sha256sums:3: "old.diff" is not fetched; remove the line or add the file to fetch`},
		{"sums without fetch", map[string]string{"pkg/f/build": "", "pkg/f/sha256sums": sumA + "  a\n"}, "pkg/f",
			`pkg/f/sha256sums:1: "a" is not fetched; remove the line or add the file to fetch`},
		{"fetch parse error", map[string]string{"pkg/make/fetch": "url = http://h.example/a\n-O\n\n--insecure\n"}, "pkg/make",
			`pkg/make/fetch:4: unsupported curl option "--insecure"; only url, output/-o and remote-name/-O are allowed`},
		{"sums parse error", map[string]string{"pkg/make/sha256sums": "x  a\n"}, "pkg/make",
			`pkg/make/sha256sums:1: "x" is not a sha256 (64 hex digits); lines are "<sha256>  <file name>" as sha256sum prints them`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			files := baseTree()
			for k, v := range tt.files {
				files[k] = v
			}
			writeTree(t, root, files)
			_, err := Load(root, tt.dir)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got error %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestUnsummed(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"pkg/a/build":      "",
		"pkg/a/fetch":      "url = http://h.example/a-1.tar.gz\n-O\nurl = http://h.example/fix.diff\n-O\n",
		"pkg/a/sha256sums": sumA + "  a-1.tar.gz\n",
		"pkg/b/build":      "",
		"pkg/b/fetch":      "url = http://h.example/b.tar.gz\n-o b.tgz\n",
		"pkg/c/build":      "",
		"pkg/d/build":      "",
		"pkg/d/fetch":      "url = http://h.example/d\n--insecure\n",
	})
	for _, tc := range []struct {
		dir  string
		want []string // outputs
		err  string
	}{
		{"pkg/a", []string{"fix.diff"}, ""},
		{"pkg/b", []string{"b.tgz"}, ""}, // no sha256sums: every file
		{"pkg/c", nil, ""},
		{"pkg/d", nil, `pkg/d/fetch:2: unsupported curl option "--insecure"`},
		{"pkg/none", nil, "pkg/none: no such package directory"},
	} {
		items, err := Unsummed(root, tc.dir)
		if tc.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", tc.dir, err, tc.err)
			}
			continue
		}
		var got []string
		for _, it := range items {
			got = append(got, it.Output)
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, %v; want %q", tc.dir, got, err, tc.want)
		}
	}
}
