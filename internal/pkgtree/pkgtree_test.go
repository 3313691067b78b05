package pkgtree

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseTarballLine(t *testing.T) {
	for _, tc := range []struct {
		line, dir string
		ok        bool
	}{
		{"./pkg/zlib/.pkg.tar.gz", "pkg/zlib", true},
		{"pkg/zlib/.pkg.tar.gz", "pkg/zlib", true},
		{"./pkg/zlib/.pkghash", "", false},
		{"./.pkg.tar.gz", "", false},
		{"/abs/.pkg.tar.gz", "", false},
		{"./../x/.pkg.tar.gz", "", false},
		{"./pkg/../x/.pkg.tar.gz", "", false},
		{"./pkg//x/.pkg.tar.gz", "", false},
	} {
		d, err := ParseTarballLine(tc.line)
		if d != tc.dir || (err == nil) != tc.ok {
			t.Errorf("ParseTarballLine(%q) = %q, %v; want %q, ok %v", tc.line, d, err, tc.dir, tc.ok)
		}
		if tc.ok && TarballLine(d) != "./"+strings.TrimPrefix(tc.line, "./") {
			t.Errorf("TarballLine(%q) = %q", d, TarballLine(d))
		}
	}
}

func TestIsHex64(t *testing.T) {
	good := strings.Repeat("0123456789abcdef", 4)
	for s, want := range map[string]bool{
		good: true, good[:63]: false, good + "0": false, strings.ToUpper(good): false,
		strings.Repeat("g", 64): false, "../" + good[3:]: false, "": false,
	} {
		if IsHex64(s) != want {
			t.Errorf("IsHex64(%q) = %v", s, !want)
		}
		if _, err := ParsePkgHash(s); (err == nil) != want {
			t.Errorf("ParsePkgHash(%q): %v", s, err)
		}
		if _, err := ParseContentHash(s); (err == nil) != want {
			t.Errorf("ParseContentHash(%q): %v", s, err)
		}
	}
}

func TestReadBuilt(t *testing.T) {
	root := t.TempDir()
	h := strings.Repeat("ab", 32)
	write := func(p, s string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("pkg/app/build", "")
	write("pkg/app/.pkghash", h+"\n")
	write("pkg/app/.closure", "./pkg/lib/.pkg.tar.gz\n./pkg/libc/.pkg.tar.gz\n")
	if !IsPackageDir(root, "pkg/app") || IsPackageDir(root, "pkg") {
		t.Errorf("IsPackageDir wrong")
	}
	b, err := ReadBuilt(root, "pkg/app")
	if err != nil {
		t.Fatal(err)
	}
	want := Built{Dir: "pkg/app", PkgHash: PkgHash(h), Tarball: filepath.Join(root, "pkg/app/.pkg.tar.gz"), Closure: []string{"pkg/lib", "pkg/libc"}}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("ReadBuilt (-want +got):\n%s", diff)
	}
	for name, bad := range map[string][2]string{
		"bad hash":    {".pkghash", "nothex\n"},
		"bad closure": {".closure", "../../etc/.pkg.tar.gz\n"},
	} {
		write("pkg/bad/build", "")
		write("pkg/bad/.pkghash", h)
		write("pkg/bad/.closure", "")
		write("pkg/bad/"+bad[0], bad[1])
		if _, err := ReadBuilt(root, "pkg/bad"); err == nil || !strings.Contains(err.Error(), "pkg/bad/"+bad[0]) {
			t.Errorf("%s: err = %v, want one naming pkg/bad/%s", name, err, bad[0])
		}
	}
	os.Remove(filepath.Join(root, "pkg/bad/.closure"))
	os.Symlink("/dev/zero", filepath.Join(root, "pkg/bad/.closure"))
	if _, err := ReadBuilt(root, "pkg/bad"); err == nil {
		t.Errorf("a .closure linked to /dev/zero was read")
	}
	// A FIFO is refused, not waited on.
	os.Remove(filepath.Join(root, "pkg/bad/.closure"))
	if err := syscall.Mkfifo(filepath.Join(root, "pkg/bad/.closure"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadBuilt(root, "pkg/bad"); err == nil {
		t.Errorf("a .closure that is a FIFO was read")
	}
}

func TestReadWithClosures(t *testing.T) {
	root := t.TempDir()
	h := strings.Repeat("cd", 32)
	pkg := func(dir string, closure ...string) {
		t.Helper()
		os.MkdirAll(filepath.Join(root, dir), 0o755)
		var cl strings.Builder
		for _, m := range closure {
			cl.WriteString(TarballLine(m) + "\n")
		}
		for name, body := range map[string]string{"build": "", PkgHashFile: h + "\n", ClosureFile: cl.String()} {
			if err := os.WriteFile(filepath.Join(root, dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	pkg("pkg/libc")
	pkg("pkg/zlib", "pkg/libc")
	pkg("pkg/make", "pkg/libc")
	pkg("pkg/app", "pkg/zlib", "pkg/libc")
	got, err := ReadWithClosures(root, []string{"pkg/app", "pkg/make", "pkg/app"})
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, b := range got {
		dirs = append(dirs, b.Dir)
	}
	// The packages asked for, each once, then their closures' members.
	if want := []string{"pkg/app", "pkg/make", "pkg/zlib", "pkg/libc"}; !slices.Equal(dirs, want) {
		t.Errorf("ReadWithClosures = %q, want %q", dirs, want)
	}
	if _, err := ReadWithClosures(root, []string{"pkg/app", "pkg/none"}); err == nil {
		t.Error("a missing package was read")
	}
}
