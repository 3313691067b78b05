package engine

import (
	"encoding/json"
	"fmt"
	"github.com/hdo-build/hdo/internal/sockdir"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// An engine's socket dir is not stale while the engine runs.
func TestSocketDirOfRunningEngineNotStale(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	s, err := (&Engine{}).listen()
	if err != nil {
		t.Fatal(err)
	}
	if got := sockdir.Stale(os.TempDir()); len(got) != 0 {
		t.Errorf("sockdir.Stale = %q while the engine listens", got)
	}
	s.close()
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("socket dir %s after close: %v", s.dir, err)
	}
}

// TestControlSocketPrivate: the socket redo-ifchange and friends talk to
// is in a directory of this user's alone, another user cannot connect to
// it, and a request naming no running job of this hdo is refused (the
// red team's "control socket from another user", held; kept as a test).
func TestControlSocketPrivate(t *testing.T) {
	s, err := (&Engine{}).listen()
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	fi, err := os.Lstat(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode() != os.ModeDir|0o700 || int(st.Uid) != os.Geteuid() {
		t.Errorf("socket dir %s: mode %v, owner %d; want drwx------ and %d", s.dir, fi.Mode(), st.Uid, os.Geteuid())
	}
	if err := Send(s.path, &Request{Job: "1234", Op: "ifchange", Args: []string{"x"}}, nil); err == nil || !strings.Contains(err.Error(), "HDO_JOB=1234 is not a running job of this hdo") {
		t.Errorf("a request for no job: %v", err)
	}
	if os.Geteuid() != 0 {
		return
	}
	// As another user (the fsuid the kernel checks, on this thread only).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	unix.Setfsuid(65534)
	err = unix.Connect(fd, &unix.SockaddrUnix{Name: s.path})
	unix.Setfsuid(0)
	if err != unix.EACCES {
		t.Errorf("another user connecting: %v, want EACCES", err)
	}
}

// Send passes the request whole, however long, with the caller's stderr:
// the descriptor that arrives is the file sent.
func TestSendRequest(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(dir, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errf.Close()
	long := strings.Repeat("x", 3*firstChunk)
	for _, tc := range []struct {
		name   string
		req    Request
		stderr *os.File
	}{
		{"short, no stderr", Request{Job: "1", Op: "ifchange", Args: []string{"a"}}, nil},
		{"short", Request{Job: "1", Op: "redo", Args: []string{"a", "b"}, Env: []string{"FOO=bar"}, KeepGoing: true}, errf},
		{"longer than the first chunk", Request{Job: "2", Op: "stamp", Data: []byte(long), Env: []string{"LONG=" + long}, Trace: true, Jobs: 4}, errf},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					got <- err
					return
				}
				defer c.Close()
				req, f, err := readRequest(c)
				if err == nil {
					switch {
					case !reflect.DeepEqual(*req, tc.req):
						err = fmt.Errorf("got request %+.80v, want %+.80v", *req, tc.req)
					case (f == nil) != (tc.stderr == nil):
						err = fmt.Errorf("got stderr %v, want %v", f, tc.stderr)
					case f != nil && fileID(f) != fileID(tc.stderr):
						err = fmt.Errorf("got stderr %v, not the file sent", fileID(f))
					}
				}
				if f != nil {
					f.Close()
				}
				json.NewEncoder(c).Encode(Response{})
				got <- err
			}()
			req := tc.req
			if err := Send(ln.Addr().String(), &req, tc.stderr); err != nil {
				t.Fatal(err)
			}
			if err := <-got; err != nil {
				t.Error(err)
			}
		})
	}
}
