package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hdo-build/hdo/internal/fetch"
)

// helloSource is a GNU-hello-like source tree: a configure script, a
// Makefile and a C program, as hello_2.10.orig.tar.gz lays them out.
var helloSource = map[string]string{
	"hello-2.10/configure": "#!/bin/sh\n" +
		"prefix=/usr/local\n" +
		"for a; do case $a in --prefix=*) prefix=${a#--prefix=} ;; esac; done\n" +
		"echo \"prefix = $prefix\" > config.mk\n",
	"hello-2.10/Makefile": "include config.mk\n" +
		"hello: hello.c\n\tgcc -O2 -o hello hello.c\n" +
		"install: hello\n\tmkdir -p $(DESTDIR)$(prefix)/bin\n\tcp hello $(DESTDIR)$(prefix)/bin/hello\n",
	"hello-2.10/hello.c": "#include <stdio.h>\nint main(void) { puts(\"Hello, world!\"); return 0; }\n",
}

// TestREADMEFirstPackage runs every command of the README's "Your first
// package" in a fresh tree holding the real tree's seed, libc and make,
// with mirror://debian/ served from loopback first (the hello tarball)
// and then the host's Debian mirror (the seed's .debs, unless cached).
func TestREADMEFirstPackage(t *testing.T) {
	if os.Getenv("HDO_E2E") == "0" {
		t.Skip("HDO_E2E=0: skipping the README's first package on the real seed")
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- first-package:")
	_, rest, ok2 := strings.Cut(rest, "\n```\n")
	block, _, ok3 := strings.Cut(rest, "\n```\n")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README has no first-package block")
	}
	cmds := strings.Split(block, "\n")
	if len(cmds) < 6 {
		t.Fatalf("first-package block has %d lines", len(cmds))
	}

	// The mirror: hello's tarball on loopback.
	mirror := t.TempDir()
	pool := filepath.Join(mirror, "pool/main/h/hello")
	if err := os.MkdirAll(pool, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pool, "hello_2.10.orig.tar.gz"), tarGz(t, helloSource), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(mirror)))
	defer srv.Close()
	bases := srv.URL
	if apt, err := fetch.AptDebianMirror("/"); err == nil {
		bases += " " + apt
	}

	bin := buildHdo(t)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"seed", "libc", "make"} {
		if out, err := exec.Command("cp", "-a", filepath.Join("..", "..", "pkg", p), filepath.Join(root, "pkg", p)).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v\n%s", err, out)
		}
		// A fresh tree: no targets built yet.
		for _, f := range []string{".pkghash", ".closure", ".bclosure", ".pkg.tar.gz"} {
			os.Remove(filepath.Join(root, "pkg", p, f))
		}
	}
	os.Mkdir(filepath.Join(root, ".hdo"), 0o755)
	cache := filepath.Join(t.TempDir(), "mycache")

	outs := map[string]string{}
	for _, line := range cmds {
		line = strings.ReplaceAll(line, "/tmp/mycache", cache)
		args := strings.Fields(line)
		if args[0] == "./do.sh" {
			args[0] = bin
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "HDO_ROOT=", "MAKEFLAGS=", "HDO_MIRROR_DEBIAN="+bases, "HDO_CACHE_URL=", "HDO_TRUSTED_KEYS=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		outs[strings.Join(strings.Fields(line)[:2], " ")] = string(out)
	}
	for cmd, want := range map[string]string{
		"./do.sh new":         "created pkg/hello from hello_2.10.orig.tar.gz (autotools build, C sources)",
		"cat pkg/hello/build": "./configure --prefix=/usr\nmake\nmake install DESTDIR=\"$DESTDIR\"\n../seed\n../libc\n",
		"./do.sh run":         "Hello, world!\n",
		"./do.sh check":       "pkg/hello: reproducible",
		"./do.sh publish":     "published 2 packages, 0 already there",
	} {
		if !strings.Contains(outs[cmd], want) {
			t.Errorf("%s printed:\n%s\nwant it to contain %q", cmd, outs[cmd], want)
		}
	}
	// The cache holds hello and libc, signed, and an index.
	infos, _ := filepath.Glob(filepath.Join(cache, "*.info"))
	if len(infos) != 2 {
		t.Errorf("the cache has %d .info files, want 2", len(infos))
	}
	for _, info := range infos {
		if b, _ := os.ReadFile(info); !bytes.Contains(b, []byte("\nsig: mycache:")) {
			t.Errorf("%s is not signed by mycache:\n%s", info, b)
		}
	}
	if _, err := os.Stat(filepath.Join(cache, "index.html")); err != nil {
		t.Error(err)
	}
}

// tarGz makes a .tar.gz of files (path -> content); configure is
// executable.
func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		mode := int64(0o644)
		if strings.HasSuffix(name, "/configure") {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	return b.Bytes()
}
