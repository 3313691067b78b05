package bootstrap

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// entry is a file in a crafted tarball.
type entry struct {
	name     string
	typ      byte // tar.TypeReg, TypeDir, TypeSymlink, TypeLink, TypeChar...
	mode     int64
	body     string // contents, or link target
	devmajor int64
}

func file(name string, mode int64, body string) entry {
	return entry{name: name, typ: tar.TypeReg, mode: mode, body: body}
}
func dirEntry(name string, mode int64) entry { return entry{name: name, typ: tar.TypeDir, mode: mode} }
func symlink(name, target string) entry {
	return entry{name: name, typ: tar.TypeSymlink, mode: 0o777, body: target}
}

// makeTar returns a tar stream of the entries.
func makeTar(t testing.TB, entries []entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Uname: "root", Gname: "root"}
		switch e.typ {
		case tar.TypeReg:
			h.Size = int64(len(e.body))
		case tar.TypeSymlink, tar.TypeLink:
			h.Linkname = e.body
		case tar.TypeChar, tar.TypeBlock:
			h.Devmajor = e.devmajor
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			io.WriteString(tw, e.body)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// compress compresses data in the format named by a member suffix.
func compress(t testing.TB, ext string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	var err error
	switch ext {
	case "":
		return data
	case ".gz":
		w = gzip.NewWriter(&b)
	case ".xz":
		w, err = xz.NewWriter(&b)
	case ".zst":
		w, err = zstd.NewWriter(&b)
	default:
		t.Fatalf("no compressor for %q", ext)
	}
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// arMember is one member of a crafted ar archive.
type arMember struct {
	name string
	data []byte
}

func makeAr(members []arMember) []byte {
	var b bytes.Buffer
	b.WriteString(arMagic)
	for _, m := range members {
		fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.name+"/", 0, 0, 0, "100644", len(m.data))
		b.Write(m.data)
		if len(m.data)%2 == 1 {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// makeDeb crafts a .deb for package name at version, with the data
// entries compressed as dataExt (.xz, .zst, .gz or "").
func makeDeb(t testing.TB, name, version, dataExt string, data []entry) []byte {
	t.Helper()
	control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: amd64\nMaintainer: Test <t@example.invalid>\nDescription: test package\n long description\n", name, version)
	ctl := makeTar(t, []entry{dirEntry("./", 0o755), file("./control", 0o644, control)})
	return makeAr([]arMember{
		{"debian-binary", []byte("2.0\n")},
		{"control.tar.gz", compress(t, ".gz", ctl)},
		{"data.tar" + dataExt, compress(t, dataExt, makeTar(t, data))},
	})
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// listTree describes the tree under dir, one line per entry, sorted:
// "d 0755 usr", "f 0644 etc/x = contents", "l bin/sh -> bb".
func listTree(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, describe(rel, info.Mode(), func() string {
			if info.Mode()&fs.ModeSymlink != 0 {
				target, _ := os.Readlink(p)
				return target
			}
			b, _ := os.ReadFile(p)
			return string(b)
		}))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// listTarGz describes a gzipped tarball like listTree.
func listTarGz(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		mode := h.FileInfo().Mode()
		out = append(out, describe(strings.TrimSuffix(h.Name, "/"), mode, func() string {
			if h.Typeflag == tar.TypeSymlink {
				return h.Linkname
			}
			b, _ := io.ReadAll(tr)
			return string(b)
		}))
	}
	sort.Strings(out)
	return out
}

func describe(rel string, mode fs.FileMode, content func() string) string {
	bits := uint32(mode.Perm())
	if mode&fs.ModeSticky != 0 {
		bits |= 0o1000
	}
	perm := fmt.Sprintf("%04o", bits)
	switch {
	case mode&fs.ModeSymlink != 0:
		return "l " + rel + " -> " + content()
	case mode.IsDir():
		return "d " + perm + " " + rel
	default:
		body := content()
		if len(body) > 40 {
			body = fmt.Sprintf("<%d bytes>", len(body))
		}
		return "f " + perm + " " + rel + " = " + body
	}
}

// fakeFetch serves files by name from memory, as Options.Fetch, and
// records the URLs asked for.
type fakeFetch struct {
	dir   string
	files map[string][]byte // by sha256
	urls  []string
	err   error // returned for every call if set
}

func (f *fakeFetch) fetch() func(ctx context.Context, r FetchRequest) (string, error) {
	return func(ctx context.Context, r FetchRequest) (string, error) {
		f.urls = append(f.urls, r.URLs...)
		if f.err != nil {
			return "", fmt.Errorf("%s: %w", r.Origin, f.err)
		}
		data, ok := f.files[r.SHA256]
		if !ok {
			return "", fmt.Errorf("fetch %s: %w", r.Name, ErrNotFound)
		}
		p := filepath.Join(f.dir, r.SHA256)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return "", err
		}
		return p, nil
	}
}

// makeZip builds a zip of name -> contents.
func makeZip(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, files[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
