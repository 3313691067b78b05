package pkgrule

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestSanitizeTree(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []struct {
		name string
		mode fs.FileMode
	}{
		{"suid", fs.ModeSetuid | fs.ModeSetgid | 0o755},
		{"shared", 0o666},
		{"pub/", fs.ModeSticky | 0o777},
		{"pub/file", 0o644},
	} {
		name, mode := f.name, f.mode
		p := filepath.Join(dir, name)
		if name[len(name)-1] == '/' {
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("suid", filepath.Join(dir, "link"))
	sanitizeTree(dir)
	for name, want := range map[string]fs.FileMode{
		"suid":     0o755,
		"shared":   0o644,
		"pub":      fs.ModeDir | 0o755,
		"pub/file": 0o644,
	} {
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode(); got != want {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}
}
