package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
	type ent struct {
		Name, Link string
		Mode       int64
		Uid, Gid   int
		Mtime      int64
	}
	var got []ent
	for _, h := range tarHeaders(t, buf.Bytes()) {
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

// Packing refuses at once what the store would refuse to unpack: a sparse
// 9 GiB file made in no time took 48 s to pack before the store said no.
// A canceled context stops packing.
func TestWriteTarGzLimited(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 9<<30); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := WriteTarGzLimited(context.Background(), io.Discard, dir, Limits{})
	if err == nil || !strings.Contains(err.Error(), "big is 9663676416 bytes, more than the 8589934592 a file in a package may have") {
		t.Errorf("packing a 9 GiB file: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusing took %v", d)
	}
	os.Truncate(big, 1<<20)
	for i := range 5 {
		os.WriteFile(filepath.Join(dir, fmt.Sprint("f", i)), []byte("x"), 0o644)
	}
	if _, err := WriteTarGzLimited(context.Background(), io.Discard, dir, Limits{MaxEntries: 3}); err == nil || !strings.Contains(err.Error(), "6 entries, more than the 3") {
		t.Errorf("packing 6 entries under a limit of 3: %v", err)
	}
	if _, err := WriteTarGzLimited(context.Background(), io.Discard, dir, Limits{MaxTotalBytes: 1 << 20}); err == nil || !strings.Contains(err.Error(), "more than the 1048576 a package may have") {
		t.Errorf("packing over MaxTotalBytes: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := WriteTarGzLimited(ctx, io.Discard, dir, Limits{}); !errors.Is(err, context.Canceled) {
		t.Errorf("packing with a canceled context: %v", err)
	}
}

// TestWriteTarGzHardLinks is the red team's amplification: 1 MiB linked
// 2000 times packed as 2000 copies (2.1 GB). A file is stored once, its
// other paths as hard links to the first in path order, the same bytes
// every time, and they extract as one file again.
func TestWriteTarGzHardLinks(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i*7919 + i>>8)
	}
	first := filepath.Join(dir, "a", "big")
	os.MkdirAll(filepath.Dir(first), 0o755)
	if err := os.WriteFile(first, data, 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "links"), 0o755)
	for i := range 2000 {
		if err := os.Link(first, filepath.Join(dir, "links", fmt.Sprintf("l%04d", i))); err != nil {
			t.Fatal(err)
		}
	}
	var b1, b2 bytes.Buffer
	sum1, err := WriteTarGz(&b1, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteTarGz(&b2, dir); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Errorf("two packings of one tree differ")
	}
	if n := b1.Len(); n > 2<<20 {
		t.Errorf("tarball is %d bytes, want about 1 MiB: the links were copied", n)
	}
	links := 0
	for _, h := range tarHeaders(t, b1.Bytes()) {
		if h.Typeflag == tar.TypeLink {
			links++
			if h.Linkname != "a/big" {
				t.Errorf("%s links to %s, want a/big (the first path)", h.Name, h.Linkname)
			}
		}
	}
	if links != 2000 {
		t.Errorf("%d hard link entries, want 2000", links)
	}
	out := filepath.Join(t.TempDir(), "x")
	got, err := Extract(context.Background(), bytes.NewReader(b1.Bytes()), out, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got != sum1 {
		t.Errorf("content hash %s on extraction, %s on packing", got, sum1)
	}
	a, err := os.Stat(filepath.Join(out, "a/big"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := os.Stat(filepath.Join(out, "links/l1999"))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(a, l) || a.Size() != 1<<20 {
		t.Errorf("links/l1999 is not a/big again")
	}
}

// TestWriteTarGzIrregular: a destdir holding a FIFO, a socket or a device
// node (a build made it) is refused by name, and nothing is written.
func TestWriteTarGzIrregular(t *testing.T) {
	tests := []struct {
		name string
		make func(p string) error
		root bool
	}{
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o644) }, false},
		{"socket", func(p string) error {
			l, err := net.Listen("unix", p)
			if err == nil {
				l.(*net.UnixListener).SetUnlinkOnClose(false)
				l.Close()
			}
			return err
		}, false},
		{"device", func(p string) error { return syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root && os.Geteuid() != 0 {
				t.Skip("making a device node needs root")
			}
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "a"), []byte("a"), 0o644)
			if err := tt.make(filepath.Join(dir, "odd")); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			_, err := WriteTarGz(&out, dir)
			if err == nil || !strings.Contains(err.Error(), "odd is not a regular file, directory or symlink; packages cannot contain it") {
				t.Fatalf("got %v, want odd refused", err)
			}
			if out.Len() > 0 {
				t.Errorf("%d bytes written before the refusal", out.Len())
			}
		})
	}
}

// TestWriteTarGzOddNames: names with a newline, an escape sequence or a
// byte that is not UTF-8, and symlinks pointing anywhere, pack and unpack
// as they are: a symlink is stored, never followed (the red team's "odd
// names and symlinks in /destdir", held; kept as a test).
func TestWriteTarGzOddNames(t *testing.T) {
	dir := t.TempDir()
	names := []string{"a\nb", "esc\x1b[31m", "bad\xff"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{"up": "../../../etc", "abs": "/etc/passwd"}
	for n, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if _, err := WriteTarGz(&b, dir); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b.Bytes(), []byte("root:x:0")) {
		t.Errorf("a symlink was followed")
	}
	out := filepath.Join(t.TempDir(), "x")
	if _, err := Extract(context.Background(), bytes.NewReader(b.Bytes()), out, Limits{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if got, err := os.ReadFile(filepath.Join(out, n)); err != nil || string(got) != n {
			t.Errorf("%q: %q, %v", n, got, err)
		}
	}
	for n, target := range links {
		if got, err := os.Readlink(filepath.Join(out, n)); err != nil || got != target {
			t.Errorf("%s -> %q, %v; want %q", n, got, err, target)
		}
	}
}

// tarHeaders returns the headers of the gzipped tar stream gz, in order.
func tarHeaders(t *testing.T, gz []byte) []*tar.Header {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var hs []*tar.Header
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs
		}
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
}
