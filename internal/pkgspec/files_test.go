package pkgspec

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestListFiles(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"pkg/make/build":             "",
		"pkg/make/files/a.txt":       "a",
		"pkg/make/files/a/b":         "b",
		"pkg/make/files/a/link":      "-> ../a.txt",
		"pkg/make/files/empty/":      "",
		"pkg/make/files/run.sh":      "#!/bin/sh\n",
		"pkg/make/files/a-b/z":       "z",
		"pkg/nofiles/build":          "",
		"pkg/filelink/build":         "",
		"pkg/filelink/files":         "-> ../make/files",
		"pkg/filesfile/build":        "",
		"pkg/filesfile/files":        "not a dir",
		"pkg/make/files/sub/dir/x.c": "int x;",
	})
	if err := os.Chmod(filepath.Join(root, "pkg/make/files/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := ListFiles(root, "pkg/make")
	if err != nil {
		t.Fatal(err)
	}
	p := func(rel string) string { return "pkg/make/files/" + rel }
	want := []FileEntry{
		{Rel: "a", Kind: KindDir, Path: p("a")},
		{Rel: "a-b", Kind: KindDir, Path: p("a-b")},
		{Rel: "a-b/z", Kind: KindFile, Path: p("a-b/z")},
		{Rel: "a.txt", Kind: KindFile, Path: p("a.txt")},
		{Rel: "a/b", Kind: KindFile, Path: p("a/b")},
		{Rel: "a/link", Kind: KindSymlink, Target: "../a.txt", Path: p("a/link")},
		{Rel: "empty", Kind: KindDir, Path: p("empty")},
		{Rel: "run.sh", Kind: KindFile, Exec: true, Path: p("run.sh")},
		{Rel: "sub", Kind: KindDir, Path: p("sub")},
		{Rel: "sub/dir", Kind: KindDir, Path: p("sub/dir")},
		{Rel: "sub/dir/x.c", Kind: KindFile, Path: p("sub/dir/x.c")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}

	got, err = ListFiles(root, "pkg/nofiles")
	if err != nil || got != nil {
		t.Errorf("ListFiles without files/ = %v, %v; want nil, nil", got, err)
	}

	for dir, want := range map[string]string{
		"pkg/filelink":  "pkg/filelink/files: is a symlink; files/ must be a directory",
		"pkg/filesfile": "pkg/filesfile/files: is a regular file; files/ must be a directory",
	} {
		if _, err := ListFiles(root, dir); err == nil || err.Error() != want {
			t.Errorf("ListFiles(%s) error = %v, want %s", dir, err, want)
		}
	}
}
