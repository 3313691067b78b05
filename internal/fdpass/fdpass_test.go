package fdpass

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// ParseRights returns the descriptors a sender passed, as new fds of the
// same files.
func TestParseRights(t *testing.T) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pair[0])
	defer unix.Close(pair[1])
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Sendmsg(pair[0], []byte{0}, unix.UnixRights(int(f.Fd()), int(f.Fd())), nil, 0); err != nil {
		t.Fatal(err)
	}
	oob := make([]byte, unix.CmsgSpace(4*4))
	_, oobn, _, _, err := unix.Recvmsg(pair[1], make([]byte, 1), oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	fds, err := ParseRights(oob[:oobn])
	if err != nil || len(fds) != 2 {
		t.Fatalf("ParseRights = %v, %v; want 2 fds", fds, err)
	}
	var want, got unix.Stat_t
	unix.Fstat(int(f.Fd()), &want)
	for _, fd := range fds {
		unix.Fstat(fd, &got)
		if got.Ino != want.Ino || got.Dev != want.Dev {
			t.Errorf("fd %d is not the file sent", fd)
		}
		unix.Close(fd)
	}
	if fds, err := ParseRights(nil); err != nil || len(fds) != 0 {
		t.Errorf("no control message: %v, %v", fds, err)
	}
}
