package venv

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hdo-build/hdo/internal/archive"
)

// tarball writes a package tarball of files (path -> content; a trailing
// "/" makes a directory, "->" a symlink, a "0555 " prefix on a directory
// its mode).
func tarball(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	var ro []string
	for p, content := range files {
		full := filepath.Join(dir, p)
		if d, ok := strings.CutSuffix(p, "/"); ok {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
			if content == "0555" {
				ro = append(ro, filepath.Join(dir, d))
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range ro {
		os.Chmod(d, 0o555)
	}
	out := filepath.Join(t.TempDir(), "p.tar.gz")
	if _, err := archive.WriteTarGzFile(out, dir); err != nil {
		t.Fatal(err)
	}
	return out
}

const (
	hashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hashB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// listTree returns "path mode" lines (symlinks with their target) below dir.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := rel + " " + fi.Mode().String()
		if fi.Mode()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			line = rel + " -> " + target
		} else if fi.Mode().IsRegular() && rel != "bin/venv-run" && rel != Marker {
			data, _ := os.ReadFile(p)
			line += " " + string(data)
		}
		out = append(out, line)
		return nil
	})
	sort.Strings(out)
	return out
}

func exe(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "hdo")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCreate(t *testing.T) {
	a := tarball(t, map[string]string{"bin/a": "a", "lib/x.so": "same", "share/": "0555", "share/doc": "doc", "lib64": "->lib"})
	b := tarball(t, map[string]string{"bin/b": "b", "lib/x.so": "same", "lib/libb.so": "->x.so"})
	dir := filepath.Join(t.TempDir(), "venvs", "dev")
	info := Info{Tree: "/src/tree", Packages: []Package{{"pkg/a", hashA, a}, {"pkg/b", hashB, b}}}
	if err := Create(context.Background(), dir, info, exe(t)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		".hdo-venv -rw-r--r--",
		"bin drwxr-xr-x",
		"bin/a -rwxr-xr-x a",
		"bin/b -rwxr-xr-x b",
		"bin/venv-run -rwxr-xr-x",
		"lib drwxr-xr-x",
		"lib/libb.so -> x.so",
		"lib/x.so -rwxr-xr-x same",
		"lib64 -> lib",
		"share dr-xr-xr-x",
		"share/doc -rwxr-xr-x doc",
	}
	if diff := cmp.Diff(want, listTree(t, dir)); diff != "" {
		t.Errorf("venv (-want +got):\n%s", diff)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantInfo := &Info{Tree: "/src/tree", Packages: []Package{{Name: "pkg/a", PkgHash: hashA}, {Name: "pkg/b", PkgHash: hashB}}}
	if diff := cmp.Diff(wantInfo, got); diff != "" {
		t.Errorf("Read (-want +got):\n%s", diff)
	}
	plan, err := Plan(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range plan.Dirs {
		names = append(names, n)
	}
	sort.Strings(names)
	if diff := cmp.Diff([]string{"bin", "lib", "share"}, names); diff != "" || plan.Links["lib64"] != "lib" {
		t.Errorf("plan dirs (-want +got):\n%s\nlinks %v", diff, plan.Links)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".*"))
	if len(leftovers) > 0 {
		t.Errorf("left behind: %q", leftovers)
	}

	// Made again with other packages, the venv holds only those.
	if err := Create(context.Background(), dir, Info{Tree: "/src/tree", Packages: []Package{{"pkg/b", hashB, b}}}, exe(t)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{".hdo-venv -rw-r--r--", "bin drwxr-xr-x", "bin/b -rwxr-xr-x b", "bin/venv-run -rwxr-xr-x", "lib drwxr-xr-x", "lib/libb.so -> x.so", "lib/x.so -rwxr-xr-x same"}, listTree(t, dir)); diff != "" {
		t.Errorf("venv made again (-want +got):\n%s", diff)
	}
	leftovers, _ = filepath.Glob(filepath.Join(filepath.Dir(dir), ".*"))
	if len(leftovers) > 0 {
		t.Errorf("left behind: %q", leftovers)
	}
}

func TestCreateRefuses(t *testing.T) {
	a := tarball(t, map[string]string{"bin/x": "a"})
	b := tarball(t, map[string]string{"bin/x": "b"})
	self := tarball(t, map[string]string{"bin/venv-run": "mine"})
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "precious"), nil, 0o644)
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	for _, tc := range []struct {
		name string
		dir  string
		pkgs []Package
		want string
	}{
		{"conflict", "", []Package{{"pkg/a", hashA, a}, {"pkg/b", hashB, b}}, "the packages cannot share one tree: pkg/a and pkg/b both provide bin/x with different content"},
		{"venv-run", "", []Package{{"pkg/a", hashA, self}}, "pkg/a provides bin/venv-run, which hdo venv writes itself"},
		{"not a venv", full, []Package{{"pkg/a", hashA, a}}, "exists and is not a venv (no .hdo-venv); remove it or pick another directory"},
		{"a file", file, []Package{{"pkg/a", hashA, a}}, "exists and is not a directory"},
		{"missing tarball", "", []Package{{"pkg/a", hashA, "/nonexistent.tar.gz"}}, "unpack pkg/a (/nonexistent.tar.gz)"},
		{"twice", "", []Package{{"pkg/a", hashA, a}, {"pkg/a", hashA, a}}, "package pkg/a listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if dir == "" {
				dir = filepath.Join(t.TempDir(), "v")
			}
			err := Create(context.Background(), dir, Info{Tree: "/t", Packages: tc.pkgs}, exe(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if tc.dir == "" {
				if _, err := os.Lstat(dir); err == nil {
					t.Errorf("a failed Create left %s", dir)
				}
			}
			leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".*hdo-tmp*"))
			if len(leftovers) > 0 {
				t.Errorf("left behind: %q", leftovers)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(full, "precious")); err != nil {
		t.Errorf("the refused directory lost its file: %v", err)
	}
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"empty", "", "is empty"},
		{"header", "hdo-venv 2\n", `:1: unexpected "hdo-venv 2"`},
		{"bad hash", "hdo-venv 1\npackage xyz pkg/a\n", `:2: unexpected "package xyz pkg/a"`},
		{"unknown", "hdo-venv 1\nfoo\n", `:2: unexpected "foo"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, Marker), []byte(tc.text), 0o644)
			if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
