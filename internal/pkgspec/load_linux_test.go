package pkgspec

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestLoadFifo checks a package file that is a named pipe is an error, not
// a read that blocks forever.
func TestLoadFifo(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, baseTree())
	if err := syscall.Mkfifo(filepath.Join(root, "pkg/gcc/run-deps"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Load(root, "pkg/gcc")
		done <- err
	}()
	select {
	case err := <-done:
		want := "pkg/gcc/run-deps: is not a regular file (p---------); a package's files are plain files"
		if err == nil || err.Error() != want {
			t.Errorf("got error %v\nwant %s", err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Load blocked on a named pipe")
	}
}
