package hostroot

import (
	"runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// An inherited descriptor stays open however often InheritedFiles is
// called and however often the garbage collector runs: the *os.File values
// it made are never dropped, so their finalizers never close it.
func TestInheritedFilesStayOpen(t *testing.T) {
	fd, err := syscall.Dup(0) // no close-on-exec, as an inherited pipe
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	found := false
	for i := 0; i < 3; i++ {
		for _, f := range InheritedFiles() {
			if f != nil && int(f.Fd()) == fd {
				found = true
			}
		}
		runtime.GC()
		runtime.GC()
	}
	if !found {
		t.Fatalf("InheritedFiles lacks fd %d", fd)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		t.Errorf("fd %d was closed behind the caller's back: %v", fd, err)
	}
}
