package store

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zeebo/blake3"

	"github.com/hdo-build/hdo/internal/archive"
)

const (
	hashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hashB = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func blake3Hex(s string) string {
	h := blake3.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

var sumX, sumY = blake3Hex("x"), blake3Hex("y")

func TestManifestRoundTrip(t *testing.T) {
	m := Manifest{ContentHash: hashA, Entries: []archive.Entry{
		{Path: "bin", Type: archive.TypeDir, Mode: 0o755},
		{Path: "bin/a b\"c\n", Type: archive.TypeFile, Mode: 0o700, Size: 1, Sum: sumX},
		{Path: "lib/l", Type: archive.TypeSymlink, Mode: 0o777, Target: "../x y\x00"},
		{Path: "tmp", Type: archive.TypeDir, Mode: 0o777 | fs.ModeSticky},
		{Path: "\xff", Type: archive.TypeFile, Mode: 0o644, Sum: sumY},
	}}
	data := m.Encode()
	if !bytes.Equal(data, m.Encode()) {
		t.Fatal("Encode is not deterministic")
	}
	if !strings.Contains(string(data), "d 1777 \"tmp\"\n") {
		t.Errorf("sticky directory not written as 1777:\n%s", data)
	}
	got, err := ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestParseManifestErrors(t *testing.T) {
	head := "hdo-manifest 1\ncontent " + hashA + "\n"
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "does not end in a newline"},
		{"version", "hdo-manifest 2\ncontent " + hashA + "\n", `line 1: got "hdo-manifest 2"`},
		{"no content", "hdo-manifest 1\n", "no content line"},
		{"bad content", "hdo-manifest 1\ncontent xyz\n", "line 2"},
		{"no newline", head + `d 0755 "a"`, "does not end in a newline"},
		{"unknown type", head + `c 0755 "a"` + "\n", `line 3: unknown entry type "c"`},
		{"bad mode", head + `d 755 "a"` + "\n", `bad mode "755"`},
		{"setuid mode", head + `d 4755 "a"` + "\n", `bad mode "4755"`},
		{"unquoted path", head + `d 0755 a` + "\n", `want a quoted string`},
		{"trailing", head + `d 0755 "a" x` + "\n", `trailing`},
		{"absolute", head + `d 0755 "/a"` + "\n", `bad path "/a"`},
		{"dotdot", head + `d 0755 "a/../b"` + "\n", `bad path`},
		{"dot", head + `d 0755 "."` + "\n", `bad path`},
		{"bad size", head + `f 0644 -1 ` + sumX + ` "a"` + "\n", `bad size "-1"`},
		{"padded size", head + `f 0644 01 ` + sumX + ` "a"` + "\n", `bad size "01"`},
		{"bad sum", head + `f 0644 1 XYZ "a"` + "\n", `bad content hash "XYZ"`},
		{"missing fields", head + `f 0644 "a"` + "\n", `want 3 fields`},
		{"empty target", head + `l "" "a"` + "\n", `empty symlink target`},
		{"link without path", head + `l "x"` + "\n", `want a quoted path`},
		{"non-canonical quote", head + `d 0755 "\x61"` + "\n", `badly quoted`},
		{"out of order", head + `d 0755 "b"` + "\n" + `d 0755 "a"` + "\n", `line 4: "a" is out of order`},
		{"duplicate", head + `d 0755 "a"` + "\n" + `d 0755 "a"` + "\n", `out of order`},
		{"blank line", head + "\n", `unknown entry type ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte("hdo-manifest 1\ncontent " + hashA + "\n"))
	f.Add((Manifest{ContentHash: hashA, Entries: []archive.Entry{
		{Path: "bin", Type: archive.TypeDir, Mode: 0o755},
		{Path: "bin/x", Type: archive.TypeFile, Mode: 0o755, Size: 12, Sum: sumX},
		{Path: "l", Type: archive.TypeSymlink, Mode: 0o777, Target: "bin/x"},
	}}).Encode())
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		// Whatever parses is exactly what Encode writes.
		if enc := m.Encode(); !bytes.Equal(enc, data) {
			t.Fatalf("parsed manifest re-encodes differently:\n%q\n%q", data, enc)
		}
	})
}

func TestConflicts(t *testing.T) {
	dir := func(p string, mode uint32) archive.Entry {
		return archive.Entry{Path: p, Type: archive.TypeDir, Mode: fs.FileMode(mode)}
	}
	file := func(p string, mode uint32, sum string) archive.Entry {
		return archive.Entry{Path: p, Type: archive.TypeFile, Mode: fs.FileMode(mode), Size: 1, Sum: sum}
	}
	link := func(p, target string) archive.Entry {
		return archive.Entry{Path: p, Type: archive.TypeSymlink, Mode: 0o777, Target: target}
	}
	man := func(es ...archive.Entry) Manifest { return Manifest{ContentHash: hashA, Entries: es} }
	usr := dir("usr", 0o755)
	bin := dir("usr/bin", 0o755)
	for _, tc := range []struct {
		name  string
		named map[string]Manifest
		want  string // "" for no conflict
	}{
		{"disjoint", map[string]Manifest{
			"pkg/a": man(usr, bin, file("usr/bin/a", 0o755, sumX)),
			"pkg/b": man(usr, bin, file("usr/bin/b", 0o755, sumY)),
		}, ""},
		{"identical file and link", map[string]Manifest{
			"pkg/a": man(usr, bin, file("usr/bin/x", 0o755, sumX), link("usr/lib", "lib64")),
			"pkg/b": man(usr, bin, file("usr/bin/x", 0o755, sumX), link("usr/lib", "lib64")),
		}, ""},
		{"one package", map[string]Manifest{"pkg/a": man(usr)}, ""},
		{"nothing", nil, ""},
		{"content", map[string]Manifest{
			"pkg/b": man(usr, bin, file("usr/bin/x", 0o755, sumY)),
			"pkg/a": man(usr, bin, file("usr/bin/x", 0o755, sumX)),
		}, "pkg/a and pkg/b both provide usr/bin/x with different content"},
		{"file mode", map[string]Manifest{
			"pkg/a": man(usr, bin, file("usr/bin/x", 0o755, sumX)),
			"pkg/b": man(usr, bin, file("usr/bin/x", 0o644, sumX)),
		}, "pkg/a and pkg/b both provide usr/bin/x with different modes (0755 vs 0644)"},
		{"directory modes differ: not a conflict", map[string]Manifest{
			"pkg/a": man(dir("tmp", 0o755)),
			"pkg/b": man(dir("tmp", 0o777)),
		}, ""},
		{"symlink target", map[string]Manifest{
			"pkg/a": man(link("lib", "usr/lib")),
			"pkg/b": man(link("lib", "usr/lib64")),
		}, "pkg/a and pkg/b both provide lib with different symlink targets (usr/lib vs usr/lib64)"},
		{"symlink over directory", map[string]Manifest{
			"pkg/a": man(link("lib", "usr/lib")),
			"pkg/b": man(dir("lib", 0o755), file("lib/libc.so", 0o644, sumX)),
		}, "pkg/a and pkg/b both provide lib with different types (symlink vs directory)"},
		{"several", map[string]Manifest{
			"pkg/a": man(usr, bin, file("usr/bin/x", 0o755, sumX), file("usr/bin/y", 0o755, sumX)),
			"pkg/b": man(usr, bin, file("usr/bin/x", 0o755, sumY)),
			"pkg/c": man(usr, bin, file("usr/bin/y", 0o755, sumY)),
		}, "pkg/a and pkg/b both provide usr/bin/x with different content (and 1 more conflict)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Conflicts(tc.named)
			got := ""
			if err != nil {
				got = err.Error()
				var ce *ConflictError
				if !errors.As(err, &ce) {
					t.Errorf("error is %T, want *ConflictError", err)
				}
			}
			if got != tc.want {
				t.Errorf("Conflicts = %q, want %q", got, tc.want)
			}
		})
	}
}
