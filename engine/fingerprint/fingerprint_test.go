package fingerprint

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestHashFileSpecial checks that a named pipe or a device is identified by
// its kind without being read: a read of a pipe without a writer blocks
// forever, one of /dev/zero never ends.
func TestHashFileSpecial(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	hashes := map[Hash]string{}
	for _, p := range []string{fifo, "/dev/zero", "/dev/null", file} {
		st, err := Of(p)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan Hash, 1)
		go func() {
			h, err := HashFile(p, st)
			if err != nil {
				t.Error(err)
			}
			done <- h
		}()
		select {
		case h := <-done:
			if other, dup := hashes[h]; dup && !(other == "/dev/zero" && p == "/dev/null") {
				t.Errorf("%s has the same identity as %s", p, other)
			}
			hashes[h] = p
		case <-time.After(10 * time.Second):
			t.Fatalf("HashFile(%s) blocked", p)
		}
	}
}
