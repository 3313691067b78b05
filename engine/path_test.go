package engine

import (
	"os"
	"path/filepath"
	"testing"
)

// kernelPath walks ".." as the kernel does, and keeps the spelling of
// symlinks no ".." follows.
func TestKernelPath(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"y", "a/b", "real/sub"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, to := range map[string]string{"y/x": ".", "l": "real/sub", "abs": filepath.Join(root, "a/b")} {
		if err := os.Symlink(to, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		in, want string
		resolved bool
	}{
		{"a/b/c", "a/b/c", false},
		{"a/b/../c", "a/c", false},
		{"y/x/x/x", "y/x/x/x", false},         // no "..": spelling kept
		{"y/x/x/x/../static", "static", true}, // y/x/x/x is y
		{"y/x/x/x/../../z", "../z", true},
		{"l/f", "l/f", false},
		{"l/../f", "real/f", true}, // l is real/sub
		{"abs/../f", "a/f", true},
		{"missing/../f", "f", false},         // no such dir: lexical
		{"y/x/missing/../f", "y/x/f", false}, // the kernel fails: lexical
		{"..a/b", "..a/b", false},
		{"a/b..", "a/b..", false},
	} {
		got, resolved := kernelPath(root + "/" + tc.in)
		rel, err := filepath.Rel(root, got)
		if err != nil {
			t.Fatal(err)
		}
		if rel != tc.want || resolved != tc.resolved {
			t.Errorf("kernelPath(%s) = %s, %v; want %s, %v", tc.in, rel, resolved, tc.want, tc.resolved)
		}
	}
}
