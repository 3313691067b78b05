package regfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	reg := filepath.Join(dir, "f")
	os.WriteFile(reg, []byte("0123456789"), 0o644)
	link := filepath.Join(dir, "zero")
	os.Symlink("/dev/zero", link)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, p := range []string{fifo, link, "/dev/zero", dir} {
			if _, err := Open(p); !errors.Is(err, ErrNotRegular) {
				t.Errorf("Open(%s) = %v, want ErrNotRegular", p, err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Open blocked")
	}
	if b, err := ReadFile(reg, 10); err != nil || string(b) != "0123456789" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	if _, err := ReadFile(reg, 9); err == nil {
		t.Errorf("ReadFile over its bound succeeded")
	}
}
