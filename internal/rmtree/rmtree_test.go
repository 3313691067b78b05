package rmtree

import (
	"os"
	"path/filepath"
	"testing"
)

// Remove takes read-only and unreadable directories with it, and leaves
// what a symlink in the tree points to alone.
func TestRemove(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	if err := os.MkdirAll(filepath.Join(outside, "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "tree")
	for _, d := range []string{"ro/sub", "none/sub"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, d, "f"), []byte("x"), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	for d, mode := range map[string]os.FileMode{"ro/sub": 0o555, "ro": 0o555, "none/sub": 0, "none": 0} {
		if err := os.Chmod(filepath.Join(dir, d), mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still there: %v", dir, err)
	}
	fi, err := os.Stat(outside)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("the symlink's target: %v, %v; want it untouched (0755)", fi, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "keep")); err != nil {
		t.Errorf("the symlink's target lost its entry: %v", err)
	}
	if err := Remove(filepath.Join(base, "missing")); err != nil {
		t.Errorf("a missing dir: %v", err)
	}
}
