package pkgspec

import (
	"path/filepath"
	"syscall"
	"testing"
)

func TestListFilesFifo(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"pkg/make/build": "", "pkg/make/files/a/b": "b"})
	if err := syscall.Mkfifo(filepath.Join(root, "pkg/make/files/a/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ListFiles(root, "pkg/make")
	if want := "pkg/make/files/a/fifo: is a named pipe; files/ may hold only regular files, directories and symlinks"; err == nil || err.Error() != want {
		t.Errorf("ListFiles with a fifo: error = %v, want %s", err, want)
	}
}
