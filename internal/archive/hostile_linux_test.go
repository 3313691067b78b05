package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hdo-build/hdo/internal/beneath"
)

// hostileCase is an archive Extract must refuse. "@S" in names and link
// targets stands for the absolute path of the sentinel directory beside
// the destination.
type hostileCase struct {
	name string
	ents []tent
	lim  Limits
	// mangle, if set, turns the valid gzipped archive of ents into the
	// stream under test.
	mangle func([]byte) []byte
	raw    bool   // ents are given uncompressed to ExtractTar
	want   string // regexp the error must match
	kind   string // "entry" or "stream": the error type
}

func hostileCases() []hostileCase {
	file := tent{name: "ok", body: "fine"}
	big := strings.Repeat("0123456789abcdef", 4096)
	return []hostileCase{
		{name: "dotdot", ents: []tent{{name: "../etc/passwd", body: "x"}},
			want: `entry "\.\./etc/passwd": path escapes the destination`, kind: "entry"},
		{name: "dotdot inside", ents: []tent{file, {name: "a/b/../../../sentinel/file", body: "x"}},
			want: `path escapes the destination`, kind: "entry"},
		{name: "dotdot dir", ents: []tent{{name: "../x/", typ: tar.TypeDir}},
			want: `path escapes the destination`, kind: "entry"},
		{name: "absolute", ents: []tent{{name: "/etc/passwd", body: "x"}},
			want: `entry "/etc/passwd": absolute path`, kind: "entry"},
		{name: "absolute sentinel", ents: []tent{{name: "@S/file", body: "x"}},
			want: `absolute path`, kind: "entry"},
		{name: "symlink then file", ents: []tent{
			{name: "link", typ: tar.TypeSymlink, link: "@S"},
			{name: "link/file", body: "pwned"},
		}, want: `entry "link/file": path goes through the symlink "link"`, kind: "entry"},
		{name: "relative symlink then file", ents: []tent{
			{name: "link", typ: tar.TypeSymlink, link: "../sentinel"},
			{name: "link/file", body: "pwned"},
		}, want: `path goes through the symlink "link"`, kind: "entry"},
		{name: "symlink then dir", ents: []tent{
			{name: "link", typ: tar.TypeSymlink, link: "../sentinel"},
			{name: "link/sub/", typ: tar.TypeDir},
		}, want: `path goes through the symlink "link"`, kind: "entry"},
		{name: "symlink dotdot chain", ents: []tent{
			{name: "a", typ: tar.TypeSymlink, link: ".."},
			{name: "a/b", typ: tar.TypeSymlink, link: ".."},
			{name: "a/b/sentinel/file", body: "pwned"},
		}, want: `entry "a/b": path goes through the symlink "a"`, kind: "entry"},
		{name: "file over symlink", ents: []tent{
			{name: "link", typ: tar.TypeSymlink, link: "@S/file"},
			{name: "link", body: "pwned"},
		}, want: `entry "link": a regular file replaces an earlier symlink`, kind: "entry"},
		{name: "symlink over dir", ents: []tent{
			{name: "d/", typ: tar.TypeDir},
			{name: "d", typ: tar.TypeSymlink, link: "@S"},
			{name: "d/file", body: "pwned"},
		}, want: `entry "d": a symlink replaces an earlier directory`, kind: "entry"},
		{name: "symlink over implicit dir", ents: []tent{
			{name: "d/x", body: "x"},
			{name: "d", typ: tar.TypeSymlink, link: "@S"},
			{name: "d/file", body: "pwned"},
		}, want: `a symlink replaces an earlier directory`, kind: "entry"},
		{name: "file over dir", ents: []tent{
			{name: "d/", typ: tar.TypeDir},
			{name: "d", body: "x"},
		}, want: `entry "d": a regular file replaces an earlier directory`, kind: "entry"},
		{name: "dir over file", ents: []tent{
			{name: "d", body: "x"},
			{name: "d/", typ: tar.TypeDir},
		}, want: `entry "d/": a directory replaces an earlier regular file`, kind: "entry"},
		{name: "file as parent", ents: []tent{
			{name: "f", body: "x"},
			{name: "f/x", body: "y"},
		}, want: `entry "f/x": path goes through "f", which is a regular file`, kind: "entry"},
		{name: "hardlink out of tree", ents: []tent{
			{name: "h", typ: tar.TypeLink, link: "../sentinel/file"},
		}, want: `entry "h": hard link target "\.\./sentinel/file": path escapes the destination`, kind: "entry"},
		{name: "hardlink absolute", ents: []tent{
			{name: "h", typ: tar.TypeLink, link: "@S/file"},
		}, want: `hard link target ".*": absolute path`, kind: "entry"},
		{name: "hardlink missing", ents: []tent{
			file,
			{name: "h", typ: tar.TypeLink, link: "nothere"},
		}, want: `entry "h": hard link target "nothere" is not an earlier entry of the archive`, kind: "entry"},
		{name: "hardlink forward", ents: []tent{
			{name: "h", typ: tar.TypeLink, link: "later"},
			{name: "later", body: "x"},
		}, want: `hard link target "later" is not an earlier entry`, kind: "entry"},
		{name: "hardlink to symlink", ents: []tent{
			{name: "s", typ: tar.TypeSymlink, link: "@S/file"},
			{name: "h", typ: tar.TypeLink, link: "s"},
		}, want: `entry "h": hard link target "s" is a symlink, not a regular file`, kind: "entry"},
		{name: "hardlink to dir", ents: []tent{
			{name: "d/", typ: tar.TypeDir},
			{name: "h", typ: tar.TypeLink, link: "d"},
		}, want: `hard link target "d" is a directory, not a regular file`, kind: "entry"},
		{name: "hardlink to itself", ents: []tent{
			{name: "h", body: "x"},
			{name: "h", typ: tar.TypeLink, link: "./h"},
		}, want: `hard link to itself`, kind: "entry"},
		{name: "hardlink over symlink", ents: []tent{
			file,
			{name: "s", typ: tar.TypeSymlink, link: "@S/file"},
			{name: "s", typ: tar.TypeLink, link: "ok"},
		}, want: `entry "s": a regular file replaces an earlier symlink`, kind: "entry"},
		{name: "char device", ents: []tent{{name: "dev/null", typ: tar.TypeChar}},
			want: `entry "dev/null": character devices are not allowed`, kind: "entry"},
		{name: "block device", ents: []tent{{name: "sda", typ: tar.TypeBlock}},
			want: `entry "sda": block devices are not allowed`, kind: "entry"},
		{name: "fifo", ents: []tent{{name: "fifo", typ: tar.TypeFifo}},
			want: `entry "fifo": fifos are not allowed`, kind: "entry"},
		{name: "unknown type", ents: []tent{{name: "x", typ: 'Z'}},
			want: `entry "x": entry type 'Z' is not supported`, kind: "entry"},
		{name: "contiguous file", ents: []tent{{name: "x", typ: tar.TypeCont}},
			want: `entry type '7' is not supported`, kind: "entry"},
		{name: "root as file", ents: []tent{{name: "./", typ: tar.TypeSymlink, link: "@S"}},
			want: `only a directory may name the destination itself`, kind: "entry"},
		{name: "huge declared size", ents: []tent{{name: "huge", size: 1 << 40}},
			want: `entry "huge": size 1099511627776 bytes is over the limit of 8589934592`, kind: "entry"},
		{name: "file over size limit", lim: Limits{MaxFileSize: 100}, ents: []tent{{name: "big", body: big}},
			want: `entry "big": size 65536 bytes is over the limit of 100`, kind: "entry"},
		{name: "total over limit", lim: Limits{MaxTotalBytes: 100 << 10}, ents: []tent{
			{name: "a", body: big}, {name: "b", body: big},
		}, want: `entry "b": files add up to more than the limit of 102400 bytes`, kind: "entry"},
		{name: "stream over limit", lim: Limits{MaxTotalBytes: 4096}, ents: []tent{
			{name: "a", typ: tar.TypeDir}, {name: "b", typ: tar.TypeDir}, {name: "c", typ: tar.TypeDir},
			{name: "d", typ: tar.TypeDir}, {name: "e", typ: tar.TypeDir}, {name: "f", typ: tar.TypeDir},
			{name: "g", typ: tar.TypeDir}, {name: "h", typ: tar.TypeDir}, {name: "i", typ: tar.TypeDir},
		}, want: `larger than the limit of 4096 bytes`, kind: "stream"},
		{name: "too many entries", lim: Limits{MaxEntries: 3}, ents: []tent{
			{name: "a"}, {name: "b"}, {name: "c"}, {name: "d"},
		}, want: `entry "d": archive has more than 3 entries`, kind: "entry"},
		{name: "long component", ents: []tent{{name: "d/" + strings.Repeat("x", 256), body: "x"}},
			want: `path component is 256 bytes long, over the limit of 255`, kind: "entry"},
		{name: "long name", lim: Limits{MaxPathLen: 64}, ents: []tent{{name: strings.Repeat("abcdefg/", 10), typ: tar.TypeDir}},
			want: `name is 80 bytes long, over the limit of 64`, kind: "entry"},
		{name: "too deep", lim: Limits{MaxDepth: 4}, ents: []tent{{name: "a/b/c/d/e", body: "x"}},
			want: `entry "a/b/c/d/e": path is 5 levels deep, over the limit of 4`, kind: "entry"},
		{name: "long symlink target", lim: Limits{MaxPathLen: 64}, ents: []tent{{name: "s", typ: tar.TypeSymlink, link: strings.Repeat("x", 65)}},
			want: `symlink target is 65 bytes long`, kind: "entry"},
		{name: "empty name", ents: []tent{{name: "", body: "x"}},
			want: `entry "": empty name`, kind: "entry"},
		{name: "NUL in PAX name", raw: true, mangle: func([]byte) []byte { return paxTar("path", "a\x00/../../x") },
			want: `invalid tar header`, kind: "stream"},
		{name: "truncated gzip", ents: []tent{{name: "a", body: big}},
			mangle: func(b []byte) []byte { return b[:len(b)/2] },
			want:   `unexpected EOF`, kind: "stream"},
		{name: "truncated tar", raw: true, ents: []tent{{name: "a", body: big}},
			mangle: func(b []byte) []byte { return b[:2048] },
			want:   `after entry "a": unexpected EOF`, kind: "stream"},
		{name: "corrupt gzip", ents: []tent{{name: "a", body: big}},
			mangle: func(b []byte) []byte {
				b = append([]byte(nil), b...)
				for i := 20; i < len(b)-8; i += 7 {
					b[i] ^= 0x5a
				}
				return b
			},
			want: `flate: corrupt input|gzip: invalid checksum|invalid tar header|unexpected EOF`, kind: "stream"},
		{name: "bad gzip checksum", ents: []tent{{name: "a", body: big}},
			mangle: func(b []byte) []byte {
				b = append([]byte(nil), b...)
				b[len(b)-6] ^= 1 // CRC-32 in the trailer
				return b
			},
			want: `gzip: invalid checksum`, kind: "stream"},
		{name: "not gzip", ents: []tent{file}, mangle: func(b []byte) []byte { return []byte("hello, world") },
			want: `gzip: invalid header`, kind: "stream"},
		{name: "empty input", ents: []tent{file}, mangle: func(b []byte) []byte { return nil },
			want: `gzip: EOF`, kind: "stream"},
		{name: "trailing garbage after gzip", ents: []tent{file},
			mangle: func(b []byte) []byte { return append(append([]byte(nil), b...), "this is trailing garbage"...) },
			want:   `gzip: invalid header`, kind: "stream"},
		{name: "trailing data after tar", raw: true, ents: []tent{file},
			mangle: func(b []byte) []byte { return append(append([]byte(nil), b...), "garbage"...) },
			want:   `after entry "ok": trailing data after the end of the archive`, kind: "stream"},
	}
}

func TestExtractHostile(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		mode := "openat2"
		if fallback {
			mode = "openat"
		}
		t.Run(mode, func(t *testing.T) {
			if fallback {
				was := beneath.UseOpenat2(false)
				defer beneath.UseOpenat2(was)
			}
			for _, tc := range hostileCases() {
				t.Run(tc.name, func(t *testing.T) {
					s := newSandbox(t)
					defer makeWritable(s.dest)
					ents := make([]tent, len(tc.ents))
					for i, e := range tc.ents {
						e.name = strings.ReplaceAll(e.name, "@S", s.sentinel)
						e.link = strings.ReplaceAll(e.link, "@S", s.sentinel)
						ents[i] = e
					}
					data := tarBytes(t, ents)
					if !tc.raw {
						data = gzBytes(t, data)
					}
					if tc.mangle != nil {
						data = tc.mangle(data)
					}
					var sum string
					var err error
					if tc.raw {
						sum, err = ExtractTar(context.Background(), strings.NewReader(string(data)), s.dest, tc.lim)
					} else {
						sum, err = Extract(context.Background(), strings.NewReader(string(data)), s.dest, tc.lim)
					}
					s.check(t)
					if err == nil {
						t.Fatalf("Extract succeeded (hash %s), want error matching %q", sum, tc.want)
					}
					if !regexp.MustCompile(tc.want).MatchString(err.Error()) {
						t.Errorf("error %q does not match %q", err, tc.want)
					}
					var ee *EntryError
					var se *StreamError
					switch {
					case tc.kind == "entry" && !errors.As(err, &ee):
						t.Errorf("error %q is %T, want *EntryError", err, err)
					case tc.kind == "stream" && !errors.As(err, &se):
						t.Errorf("error %q is %T, want *StreamError", err, err)
					}
					if sum != "" {
						t.Errorf("hash %q returned with an error", sum)
					}
					// List applies the same checks without a tree.
					if !tc.raw {
						if _, err := List(context.Background(), strings.NewReader(string(data)), tc.lim); err == nil {
							t.Errorf("List accepted what Extract refused")
						}
					}
				})
			}
		})
	}
}

// rawHeader is a ustar header block built by hand, for names tar.Writer
// would refuse.
func rawHeader(name string, typ byte, size int64) []byte {
	b := make([]byte, 512)
	copy(b[0:100], name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], "00000000000\x00")
	b[156] = typ
	copy(b[257:], "ustar\x0000")
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// padBlock pads data to a multiple of 512 bytes.
func padBlock(data []byte) []byte {
	if n := len(data) % 512; n != 0 {
		data = append(data, make([]byte, 512-n)...)
	}
	return data
}

// paxTar is a tar stream of one PAX record key=value followed by the
// regular file "a" holding "x".
func paxTar(key, value string) []byte {
	rec := fmt.Sprintf(" %s=%s\n", key, value)
	n := len(rec) + 1
	for len(fmt.Sprint(n))+len(rec) != n {
		n++
	}
	rec = fmt.Sprint(n) + rec
	var out []byte
	out = append(out, rawHeader("PaxHeaders/a", 'x', int64(len(rec)))...)
	out = append(out, padBlock([]byte(rec))...)
	out = append(out, rawHeader("a", '0', 1)...)
	out = append(out, padBlock([]byte("x"))...)
	return append(out, make([]byte, 1024)...)
}

// sparseTar is a hand-made PAX (GNU sparse 1.0) archive of one file that
// claims realsize bytes, almost all of them a hole: archive/tar reads
// such files but cannot write them.
func sparseTar(realsize int64) []byte {
	var out []byte
	header := func(name string, typ byte, size int) {
		out = append(out, rawHeader(name, typ, int64(size))...)
	}
	pad := func(b []byte) {
		out = append(out, b...)
		if r := len(b) % 512; r != 0 {
			out = append(out, make([]byte, 512-r)...)
		}
	}
	rec := func(k, v string) string {
		line := " " + k + "=" + v + "\n"
		n := len(line)
		for len(fmt.Sprint(n+len(fmt.Sprint(n)))) != len(fmt.Sprint(n)) {
			n++
		}
		return fmt.Sprintf("%d%s", n+len(fmt.Sprint(n)), line)
	}
	pax := rec("GNU.sparse.major", "1") + rec("GNU.sparse.minor", "0") + rec("GNU.sparse.name", "big") + rec("GNU.sparse.realsize", fmt.Sprint(realsize))
	header("PaxHeaders/big", 'x', len(pax))
	pad([]byte(pax))
	sparseMap := fmt.Sprintf("1\n%d\n1\n", realsize-1)
	mapBlock := make([]byte, 512)
	copy(mapBlock, sparseMap)
	header("GNUSparseFile.0/big", '0', 512+1)
	out = append(out, mapBlock...)
	pad([]byte("x"))
	return append(out, make([]byte, 1024)...)
}

// A sparse entry is refused before anything is written: 2 KiB of
// archive must not become an 8 GiB file.
func TestExtractSparse(t *testing.T) {
	raw := sparseTar(8 << 30)
	tr := tar.NewReader(bytes.NewReader(raw))
	hdr, err := tr.Next()
	if err != nil {
		t.Fatalf("the crafted archive does not read: %v", err)
	}
	if hdr.Size != 8<<30 {
		t.Fatalf("the crafted archive's file has size %d, want %d", hdr.Size, int64(8<<30))
	}
	dir := t.TempDir()
	_, err = ExtractTar(context.Background(), bytes.NewReader(raw), dir, Limits{})
	var ee *EntryError
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), "sparse files are not allowed in packages") {
		t.Fatalf("ExtractTar of a sparse file: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left %d entries behind", len(ents))
	}
}
