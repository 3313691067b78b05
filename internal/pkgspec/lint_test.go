package pkgspec

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestLint(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"clean", map[string]string{
			"build":                "patch -p1 < ../fix.patch\nfor p in patches/*; do :; done\nmake install DESTDIR=\"$DESTDIR\"\n",
			"files/fix.patch":      "x",
			"files/patches/a.diff": "y",
		}, nil},
		{"no destdir", map[string]string{"build": "make\n"}, []string{"pkg/p/build: never names $DESTDIR, where a build installs what the package holds"}},
		{"unused files", map[string]string{
			"build":                "cp deep.txt \"$DESTDIR\"\n",
			"files/unused.patch":   "x",
			"files/dir/deep.txt":   "named by its own name",
			"files/other/gone.txt": "z",
		}, []string{
			"pkg/p/files/other: not named by pkg/p/build; remove it unless the build uses it",
			"pkg/p/files/unused.patch: not named by pkg/p/build; remove it unless the build uses it",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for rel, data := range tc.files {
				p := filepath.Join(root, "pkg/p", rel)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p, err := Load(root, "pkg/p")
			if err != nil {
				t.Fatal(err)
			}
			got, err := Lint(root, p)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}
