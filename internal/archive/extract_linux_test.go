package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zeebo/blake3"
)

func TestExtractEntries(t *testing.T) {
	for _, tc := range []struct {
		name string
		tar  []byte // when set, used instead of ents
		ents []tent
		want map[string]string
	}{
		{
			name: "modes",
			ents: []tent{
				{name: "bin/", typ: tar.TypeDir, mode: 0o755},
				{name: "bin/suid", mode: 0o4755, body: "s"},
				{name: "bin/sgid", mode: 0o2711, body: "g"},
				{name: "ro", mode: 0o444, body: "r"},
				{name: "secret", mode: 0o600, body: "p"},
				{name: "tmp/", typ: tar.TypeDir, mode: 0o1777},
				{name: "sgid-dir/", typ: tar.TypeDir, mode: 0o2755},
			},
			want: map[string]string{
				"bin":      "d 0755",
				"bin/suid": "f 0755 s",
				"bin/sgid": "f 0711 g",
				"ro":       "f 0444 r",
				"secret":   "f 0600 p",
				"tmp":      "d 1777",
				"sgid-dir": "d 0755",
			},
		},
		{
			name: "read-only directory is filled",
			ents: []tent{
				{name: "ro/", typ: tar.TypeDir, mode: 0o555},
				{name: "ro/sub/", typ: tar.TypeDir, mode: 0o500},
				{name: "ro/sub/f", mode: 0o444, body: "x"},
				{name: "ro/g", body: "y"},
			},
			want: map[string]string{"ro": "d 0555", "ro/sub": "d 0500", "ro/sub/f": "f 0444 x", "ro/g": "f 0644 y"},
		},
		{
			name: "implicit parents and dot names",
			ents: []tent{
				{name: "./", typ: tar.TypeDir, mode: 0o700},
				{name: "./a/b/c", body: "c"},
				{name: "x//y/./z", body: "z"},
			},
			want: map[string]string{"a": "d 0755", "a/b": "d 0755", "a/b/c": "f 0644 c", "x": "d 0755", "x/y": "d 0755", "x/y/z": "f 0644 z"},
		},
		{
			name: "later entries replace earlier ones of the same type",
			ents: []tent{
				{name: "d/", typ: tar.TypeDir, mode: 0o700},
				{name: "d/f", body: "old"},
				{name: "d/", typ: tar.TypeDir, mode: 0o750},
				{name: "d/f", mode: 0o600, body: "new"},
				{name: "l", typ: tar.TypeSymlink, link: "old"},
				{name: "l", typ: tar.TypeSymlink, link: "new"},
				{name: "g", body: "g"},
				{name: "g", typ: tar.TypeLink, link: "d/f"},
			},
			want: map[string]string{"d": "d 0750", "d/f": "f 0600 new", "l": "l new", "g": "f 0600 new"},
		},
		{
			name: "symlinks point anywhere",
			ents: []tent{
				{name: "lib/libz.so.1", body: "ELF"},
				{name: "lib/libz.so", typ: tar.TypeSymlink, link: "libz.so.1"},
				{name: "lib/abs", typ: tar.TypeSymlink, link: "/usr/lib/libc.so"},
				{name: "lib/up", typ: tar.TypeSymlink, link: "../../../../etc"},
				{name: "lib/dangling", typ: tar.TypeSymlink, link: "nothere"},
			},
			want: map[string]string{
				"lib": "d 0755", "lib/libz.so.1": "f 0644 ELF", "lib/libz.so": "l libz.so.1",
				"lib/abs": "l /usr/lib/libc.so", "lib/up": "l ../../../../etc", "lib/dangling": "l nothere",
			},
		},
		{
			name: "hard links",
			ents: []tent{
				{name: "bin/gzip", mode: 0o755, body: "gz"},
				{name: "bin/gunzip", typ: tar.TypeLink, link: "./bin/gzip"},
				{name: "other/zcat", typ: tar.TypeLink, link: "bin/gzip"},
			},
			want: map[string]string{"bin": "d 0755", "bin/gzip": "f 0755 gz", "bin/gunzip": "f 0755 gz", "other": "d 0755", "other/zcat": "f 0755 gz"},
		},
		{
			name: "global PAX header",
			ents: []tent{{name: "pax_global_header", typ: tar.TypeXGlobalHeader, pax: map[string]string{"comment": "hi"}}, {name: "f", body: "f"}},
			want: map[string]string{"f": "f 0644 f"},
		},
		{name: "PAX path", tar: paxTar("path", "b/c"), want: map[string]string{"b": "d 0755", "b/c": "f 0644 x"}},
		{
			name: "ustar name ends at NUL",
			tar:  append(append(rawHeader("a\x00/../../x", '0', 1), padBlock([]byte("x"))...), make([]byte, 1024)...),
			want: map[string]string{"a": "f 0644 x"},
		},
		{name: "empty archive", ents: nil, want: map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			defer makeWritable(s.dest)
			data := tc.tar
			if data == nil {
				data = tarBytes(t, tc.ents)
			}
			sum, err := Extract(context.Background(), bytes.NewReader(gzBytes(t, data)), s.dest, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			s.check(t)
			if want := blake3Hex(data); sum != want {
				t.Errorf("hash = %s, want blake3 of the tar stream %s", sum, want)
			}
			if diff := cmp.Diff(tc.want, snapshot(t, s.dest)); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}
		})
	}
}

func blake3Hex(b []byte) string {
	h := blake3.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestExtractHardLinkSharesInode(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "d")
	data := gzBytes(t, tarBytes(t, []tent{{name: "a", body: "x"}, {name: "b", typ: tar.TypeLink, link: "a"}}))
	if _, err := Extract(context.Background(), bytes.NewReader(data), dest, Limits{}); err != nil {
		t.Fatal(err)
	}
	a, err := os.Stat(filepath.Join(dest, "a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.Stat(filepath.Join(dest, "b"))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(a, b) {
		t.Errorf("b is not a hard link of a")
	}
}

// treeWithEverything makes a tree with every kind of entry and mode a
// package has.
func treeWithEverything(t *testing.T) string {
	t.Helper()
	dir := makeTree(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "usr/share/doc/deep/er/still"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "usr/share/doc/deep/er/still/README"), bytes.Repeat([]byte("read me\n"), 10000), 0o444))
	must(os.WriteFile(filepath.Join(dir, "usr/share/empty"), nil, 0o600))
	must(os.Symlink("/usr/lib/libc.so.6", filepath.Join(dir, "lib/abs")))
	must(os.Symlink("../../nothere", filepath.Join(dir, "lib/dangling")))
	must(os.Mkdir(filepath.Join(dir, "tmp"), 0o755))
	must(os.Chmod(filepath.Join(dir, "tmp"), 0o1777))
	must(os.Mkdir(filepath.Join(dir, "ro"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "ro/file"), []byte("ro"), 0o444))
	must(os.Chmod(filepath.Join(dir, "ro"), 0o555))
	t.Cleanup(func() { makeWritable(dir) })
	return dir
}

func TestExtractRoundTrip(t *testing.T) {
	src := treeWithEverything(t)
	var a bytes.Buffer
	sumA, err := WriteTarGz(&a, src)
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "x")
	t.Cleanup(func() { makeWritable(dest) })
	sumX, err := Extract(context.Background(), bytes.NewReader(a.Bytes()), dest, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if sumX != sumA {
		t.Errorf("Extract hash %s, WriteTarGz hash %s", sumX, sumA)
	}
	want := snapshot(t, src)
	if diff := cmp.Diff(want, snapshot(t, dest)); diff != "" {
		t.Errorf("extracted tree (-want +got):\n%s", diff)
	}
	var b bytes.Buffer
	sumB, err := WriteTarGz(&b, dest)
	if err != nil {
		t.Fatal(err)
	}
	if sumB != sumA || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("re-archiving the extracted tree gives %s, want the same bytes as %s", sumB, sumA)
	}
	// Every extracted path has mtime 0.
	filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if p == dest {
			return nil
		}
		info, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.ModTime().Unix() != 0 {
			t.Errorf("%s: mtime %v, want the epoch", p, info.ModTime())
		}
		return nil
	})
}

func TestExtractListing(t *testing.T) {
	src := treeWithEverything(t)
	var buf bytes.Buffer
	sum, err := WriteTarGz(&buf, src)
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "x")
	t.Cleanup(func() { makeWritable(dest) })
	got, err := ExtractListing(context.Background(), bytes.NewReader(buf.Bytes()), dest, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.ContentHash != sum {
		t.Errorf("ContentHash = %s, want %s", got.ContentHash, sum)
	}
	// The listing agrees with the tree on disk, modes as in the archive.
	var want []Entry
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if p == src {
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		info, _ := os.Lstat(p)
		e := Entry{Path: rel, Mode: info.Mode() & (fs.ModePerm | fs.ModeSticky)}
		switch {
		case info.IsDir():
			e.Type = TypeDir
		case info.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			e.Type, e.Size, e.Sum = TypeFile, int64(len(b)), blake3Hex(b)
		default:
			e.Type, e.Mode = TypeSymlink, 0o777
			e.Target, _ = os.Readlink(p)
		}
		want = append(want, e)
		return nil
	})
	if diff := cmp.Diff(want, got.Entries); diff != "" {
		t.Errorf("listing (-want +got):\n%s", diff)
	}
	// ReadOnly: no write bit anywhere, dest included.
	filepath.WalkDir(dest, func(p string, d fs.DirEntry, walkErr error) error {
		if walkErr != nil {
			t.Fatal(walkErr)
		}
		info, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode()&fs.ModeSymlink == 0 && info.Mode()&0o222 != 0 {
			t.Errorf("%s: mode %v has write bits", p, info.Mode())
		}
		return nil
	})
	// List gives the same listing without extracting.
	listed, err := List(context.Background(), bytes.NewReader(buf.Bytes()), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, listed); diff != "" {
		t.Errorf("List differs from ExtractListing (-extract +list):\n%s", diff)
	}
}

func TestExtractPaddingAndHash(t *testing.T) {
	// GNU tar pads archives to 10 KiB records: the padding is part of the
	// stream, so it is part of the hash, and it is not an error.
	data := tarBytes(t, []tent{{name: "f", body: "x"}})
	data = append(data, make([]byte, 10240-len(data)%10240)...)
	gz := gzBytes(t, data)
	sum, err := Extract(context.Background(), bytes.NewReader(gz), filepath.Join(t.TempDir(), "d"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := ContentHash(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if sum != want || sum != blake3Hex(data) {
		t.Errorf("Extract hash %s, ContentHash %s, blake3 %s", sum, want, blake3Hex(data))
	}
}

func TestExtractDest(t *testing.T) {
	data := gzBytes(t, tarBytes(t, []tent{{name: "f", body: "x"}}))
	t.Run("empty existing", func(t *testing.T) {
		if _, err := Extract(context.Background(), bytes.NewReader(data), t.TempDir(), Limits{}); err != nil {
			t.Error(err)
		}
	})
	t.Run("not empty", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
		_, err := Extract(context.Background(), bytes.NewReader(data), dir, Limits{})
		if err == nil || !strings.Contains(err.Error(), "the directory is not empty") {
			t.Errorf("err = %v, want a not-empty error", err)
		}
	})
	t.Run("parent missing", func(t *testing.T) {
		_, err := Extract(context.Background(), bytes.NewReader(data), filepath.Join(t.TempDir(), "a", "b"), Limits{})
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("err = %v, want not exist", err)
		}
	})
	t.Run("a file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "f")
		os.WriteFile(f, nil, 0o644)
		_, err := Extract(context.Background(), bytes.NewReader(data), f, Limits{})
		if !errors.Is(err, syscall.ENOTDIR) {
			t.Errorf("err = %v, want ENOTDIR", err)
		}
	})
}

// cancelReader cancels a context once n bytes have been read.
type cancelReader struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= n; c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func TestExtractCancel(t *testing.T) {
	data := gzBytes(t, tarBytes(t, []tent{{name: "big", body: strings.Repeat("x", 4<<20)}, {name: "after", body: "x"}}))
	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		dest := filepath.Join(t.TempDir(), "d")
		if _, err := Extract(ctx, bytes.NewReader(data), dest, Limits{}); err != context.Canceled {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("during", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		dest := filepath.Join(t.TempDir(), "d")
		r := &cancelReader{r: bytes.NewReader(data), n: 1, cancel: cancel}
		if _, err := Extract(ctx, r, dest, Limits{}); err != context.Canceled {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if _, err := os.Lstat(filepath.Join(dest, "after")); err == nil {
			t.Errorf("extraction went on after cancellation")
		}
	})
}
