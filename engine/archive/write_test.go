package archive

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"
)

func makeTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "bin"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "lib"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "bin", "tool"), []byte("#!/bin/sh\necho hi\n"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "lib", "libz.so.1"), []byte("ELF"), 0o644))
	must(os.Symlink("libz.so.1", filepath.Join(dir, "lib", "libz.so")))
	must(os.Chmod(filepath.Join(dir, "bin", "tool"), 0o4755)) // setuid is dropped
	return dir
}

func TestWriteTarGzDeterministic(t *testing.T) {
	dir := makeTree(t)
	var a, b bytes.Buffer
	sumA, err := WriteTarGz(&a, dir)
	if err != nil {
		t.Fatal(err)
	}
	// Different mtimes must not change a byte.
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(dir, "bin", "tool"), later, later)
	sumB, err := WriteTarGz(&b, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) || sumA != sumB {
		t.Fatalf("two archives of one tree differ: %s vs %s", sumA, sumB)
	}
	got, err := ContentHash(bytes.NewReader(a.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got != sumA {
		t.Errorf("ContentHash = %s, WriteTarGz returned %s", got, sumA)
	}
}

func TestWriteTarGzEntries(t *testing.T) {
	dir := makeTree(t)
	var buf bytes.Buffer
	if _, err := WriteTarGz(&buf, dir); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	type ent struct {
		Name, Link string
		Mode       int64
		Uid, Gid   int
		Mtime      int64
	}
	var got []ent
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ent{h.Name, h.Linkname, h.Mode, h.Uid, h.Gid, h.ModTime.Unix()})
	}
	want := []ent{
		{Name: "bin/", Mode: 0o755},
		{Name: "bin/tool", Mode: 0o755},
		{Name: "lib/", Mode: 0o755},
		{Name: "lib/libz.so", Link: "libz.so.1", Mode: 0o777},
		{Name: "lib/libz.so.1", Mode: 0o644},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}
