package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hdo-build/hdo/internal/asuser"
)

// runAsUser runs body in a directory owned by the current user. Tests run
// as root ignore permission bits, so as root it re-executes the test
// binary as uid 65534 to see what a normal user would.
func runAsUser(t *testing.T, body func(t *testing.T, dir string)) {
	t.Helper()
	asuser.Run(t, body, func(dir string) error {
		makeWritable(dir)
		return os.RemoveAll(dir)
	})
}

func TestExtractAsUser(t *testing.T) {
	runAsUser(t, func(t *testing.T, dir string) {
		if os.Getuid() == 0 {
			t.Fatal("still root")
		}
		data := gzBytes(t, tarBytes(t, []tent{
			{name: "ro/", typ: tar.TypeDir, mode: 0o555},
			{name: "ro/sub/", typ: tar.TypeDir, mode: 0o500},
			{name: "ro/sub/f", mode: 0o444, body: "x"},
			{name: "ro/sub/f", mode: 0o400, body: "replaced"},
			{name: "ro/h", typ: tar.TypeLink, link: "ro/sub/f"},
			{name: "ro/l", typ: tar.TypeSymlink, link: "sub/f"},
			{name: "none/", typ: tar.TypeDir, mode: 0o000},
			{name: "none/x", body: "x"},
		}))
		want := map[string]string{
			"ro": "d 0555", "ro/sub": "d 0500", "ro/sub/f": "f 0400 replaced", "ro/h": "f 0400 replaced",
			"ro/l": "l sub/f", "none": "d 0000",
		}
		dest := filepath.Join(dir, "a")
		if _, err := Extract(context.Background(), bytes.NewReader(data), dest, Limits{}); err != nil {
			t.Fatal(err)
		}
		makeWritable(filepath.Join(dest, "none"))
		want["none"], want["none/x"] = "d 0755", "f 0644 x"
		if diff := cmp.Diff(want, snapshot(t, dest)); diff != "" {
			t.Errorf("tree (-want +got):\n%s", diff)
		}
		ro := filepath.Join(dir, "b")
		if _, err := ExtractListing(context.Background(), bytes.NewReader(data), ro, Options{ReadOnly: true}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ro, "new"), nil, 0o644); err == nil {
			t.Errorf("created a file in a read-only extraction")
		}
		for _, d := range []string{dest, ro} {
			makeWritable(d)
			if err := os.RemoveAll(d); err != nil {
				t.Error(err)
			}
		}
	})
}
