package archive

import (
	"archive/tar"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDiff(t *testing.T) {
	common := []tent{
		{name: "bin/", typ: tar.TypeDir},
		{name: "bin/same", mode: 0o755, body: "same"},
		{name: "lib/libz.so", typ: tar.TypeSymlink, link: "libz.so.1"},
	}
	a := append(common[:len(common):len(common)],
		tent{name: "bin/make", mode: 0o755, body: "make 1"},
		tent{name: "bin/mode", mode: 0o755, body: "m"},
		tent{name: "bin/both", mode: 0o755, body: "b1"},
		tent{name: "lib/link", typ: tar.TypeSymlink, link: "libz.so.1"},
		tent{name: "share/doc/x", body: "only a"},
		tent{name: "var/thing/", typ: tar.TypeDir},
		tent{name: "hard", body: "h"},
		tent{name: "hard2", typ: tar.TypeLink, link: "hard"},
	)
	b := append(common[:len(common):len(common)],
		tent{name: "bin/make", mode: 0o755, body: "make 2"},
		tent{name: "bin/mode", mode: 0o644, body: "m"},
		tent{name: "bin/both", mode: 0o700, body: "b2"},
		tent{name: "lib/link", typ: tar.TypeSymlink, link: "libz.so.2"},
		tent{name: "usr/bin/y", body: "only b"},
		tent{name: "var/thing", body: "now a file"},
		tent{name: "hard", body: "h"},
		tent{name: "hard2", body: "h"}, // a copy is the same as a hard link
	)
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a.tar.gz"), filepath.Join(dir, "b.tar.gz")
	os.WriteFile(pa, gzBytes(t, tarBytes(t, a)), 0o644)
	os.WriteFile(pb, gzBytes(t, tarBytes(t, b)), 0o644)

	got, err := Diff(pa, pb)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"changed: bin/both (mode 0755 -> 0700, content)",
		"changed: bin/make (content)",
		"changed: bin/mode (mode 0755 -> 0644)",
		"changed: lib/link (symlink target libz.so.1 -> libz.so.2)",
		"only in a: share",
		"only in a: share/doc",
		"only in a: share/doc/x",
		"only in b: usr",
		"only in b: usr/bin",
		"only in b: usr/bin/y",
		"changed: var/thing (type directory -> regular file)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Diff (-want +got):\n%s", diff)
	}

	same, err := Diff(pa, pa)
	if err != nil || len(same) != 0 {
		t.Errorf("Diff of a tarball with itself = %q, %v; want nothing", same, err)
	}

	bad := filepath.Join(dir, "bad.tar.gz")
	os.WriteFile(bad, gzBytes(t, tarBytes(t, []tent{{name: "../x", body: "x"}})), 0o644)
	if _, err := Diff(pa, bad); err == nil || !strings.Contains(err.Error(), bad+`: archive: entry "../x": path escapes`) {
		t.Errorf("Diff with a hostile tarball: err = %v, want one naming it and the entry", err)
	}
}
