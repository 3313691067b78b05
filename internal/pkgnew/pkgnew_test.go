package pkgnew

import (
	"archive/tar"
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"

	"github.com/hdo-build/hdo/internal/pkgspec"
)

// tarball builds a .tar.gz of the names (a trailing / makes a directory).
func tarball(t *testing.T, names ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for _, n := range names {
		h := &tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg}
		if strings.HasSuffix(n, "/") {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		if n == "pax_global_header" {
			h = &tar.Header{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "x"}}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	zw.Close()
	return b.Bytes()
}

func TestProbe(t *testing.T) {
	for _, tc := range []struct {
		name  string
		names []string
		want  Layout
	}{
		{"autotools", []string{"pax_global_header", "hello-2.12/", "hello-2.12/configure", "hello-2.12/Makefile.in", "hello-2.12/src/hello.c"},
			Layout{TopDir: "hello-2.12", System: Autotools, C: true}},
		{"dot slash", []string{"./x-1/", "./x-1/meson.build", "./x-1/src/x.h"}, Layout{TopDir: "x-1", System: Meson, C: true}},
		{"cmake", []string{"y/CMakeLists.txt", "y/Makefile", "y/a.cpp"}, Layout{TopDir: "y", System: CMake, C: true}},
		{"configure wins", []string{"z/Makefile", "z/meson.build", "z/configure"}, Layout{TopDir: "z", System: Autotools}},
		{"make only", []string{"m/GNUmakefile", "m/m.sh"}, Layout{TopDir: "m", System: Make}},
		{"deeper configure is not the top's", []string{"d/sub/configure", "d/README"}, Layout{TopDir: "d", System: None}},
		{"no top dir", []string{"configure", "a.c"}, Layout{System: Autotools, C: true}},
		{"two tops", []string{"a/configure", "b/x"}, Layout{System: None}},
		{"one file", []string{"README"}, Layout{System: None}},
	} {
		got, err := Probe("src.tar.gz", bytes.NewReader(tarball(t, tc.names...)))
		if err != nil || got != tc.want {
			t.Errorf("%s: Probe = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	if _, err := Probe("src.tar.gz", strings.NewReader("not gzip")); err == nil || !strings.HasPrefix(err.Error(), "src.tar.gz: ") {
		t.Errorf("bad tarball: %v", err)
	}
	if !IsTarball("a_1.0.orig.tar.xz") || IsTarball("fix.diff") || IsTarball("a.zip") {
		t.Error("IsTarball")
	}
}

func TestFiles(t *testing.T) {
	const sum = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	tree := map[string]bool{"seed": true, "make": true, "libc": true}
	o := Options{
		Sources: []Source{
			{URL: "mirror://debian/pool/main/h/hello/hello_2.12.orig.tar.gz", Name: "hello_2.12.orig.tar.gz", SHA256: sum},
			{URL: "https://h.example/fix?x=1", Name: "fix.diff", SHA256: sum},
		},
		Layout:     &Layout{TopDir: "hello-2.12", System: Autotools, C: true},
		Archive:    "hello_2.12.orig.tar.gz",
		HasPackage: func(n string) bool { return tree[n] },
	}
	files := map[string]string{}
	for _, f := range Files(o) {
		files[f.Name] = f.Text
	}
	want := map[string]string{
		"build": buildHeader + `
tar -xf hello_2.12.orig.tar.gz
cd hello-2.12
./configure --prefix=/usr
make
make install DESTDIR="$DESTDIR"
`,
		"build-deps": "../seed\n../make\n",
		"run-deps":   "../libc\n",
		"fetch":      "url = \"mirror://debian/pool/main/h/hello/hello_2.12.orig.tar.gz\"\n-O\nurl = \"https://h.example/fix?x=1\"\noutput = \"fix.diff\"\n",
		"sha256sums": sum + "  hello_2.12.orig.tar.gz\n" + sum + "  fix.diff\n",
	}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
	// What hdo new writes is what hdo reads back.
	items, err := pkgspec.ParseFetch("fetch", []byte(files["fetch"]))
	if err != nil || len(items) != 2 || items[0].Output != "hello_2.12.orig.tar.gz" || items[1].Output != "fix.diff" {
		t.Errorf("ParseFetch: %+v, %v", items, err)
	}
	if sums, err := pkgspec.ParseSums("sha256sums", []byte(files["sha256sums"])); err != nil || len(sums) != 2 {
		t.Errorf("ParseSums: %+v, %v", sums, err)
	}

	// A tool the seed has is the seed's: a package of it would conflict.
	o.SeedHas = func(tool string) bool { return tool == "make" }
	for _, f := range Files(o) {
		if f.Name == "build-deps" && f.Text != "../seed\n" {
			t.Errorf("build-deps with the seed's make = %q, want ../seed alone", f.Text)
		}
	}
	o.SeedHas = nil

	// Tools the tree lacks are named in comments; deps files still parse.
	o.Layout = &Layout{TopDir: "x", System: Meson, C: true}
	o.HasPackage = nil
	for _, f := range Files(o) {
		switch f.Name {
		case "build-deps", "run-deps":
			deps, err := pkgspec.ParseDeps(f.Name, []byte(f.Text))
			if err != nil || len(deps) != 0 || !strings.Contains(f.Text, "# ../") {
				t.Errorf("%s = %q: %v, %v", f.Name, f.Text, deps, err)
			}
		case "build":
			if !strings.Contains(f.Text, "meson setup build --prefix=/usr\n") {
				t.Errorf("meson build:\n%s", f.Text)
			}
		}
	}
	// Every build script is valid sh.
	for _, l := range []*Layout{nil, {System: None}, {TopDir: "it's", System: Make}, {System: CMake}} {
		o.Layout = l
		for _, f := range Files(o) {
			if f.Name != "build" {
				continue
			}
			cmd := exec.Command("sh", "-n")
			cmd.Stdin = strings.NewReader(f.Text)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("sh -n of the build for %+v: %v\n%s\n%s", l, err, out, f.Text)
			}
		}
	}
}

func TestSourceFor(t *testing.T) {
	for _, tc := range []struct{ url, name, err string }{
		{"https://h.example/pub/hello-2.12.tar.gz", "hello-2.12.tar.gz", ""},
		{"mirror://debian/pool/main/h/hello/hello_2.12.orig.tar.gz", "hello_2.12.orig.tar.gz", ""},
		{"https://h.example/a%20b.tar.gz", "a b.tar.gz", ""},
		{"https://h.example/", "", "--fetch https://h.example/: "},
		{"ftp://h.example/a.tar.gz", "", "--fetch ftp://h.example/a.tar.gz: url "},
	} {
		s, err := SourceFor(tc.url)
		if tc.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("%s: %v, want an error starting %q", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil || s.Name != tc.name || s.URL != tc.url {
			t.Errorf("%s: %+v, %v; want name %q", tc.url, s, err, tc.name)
		}
	}
}
