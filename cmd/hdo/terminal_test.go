package main

import (
	"io"
	"net/http/httptest"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/hdo-build/hdo/internal/ptytest"
	"golang.org/x/sys/unix"
)

// On a terminal, packages from a binary cache show in the live status
// block only: the cache client's own progress line would be drawn through
// the block, so it is off. Everything hdo printed is checked for it.
func TestTerminalStatusWithCache(t *testing.T) {
	f := newCacheFixture(t)
	fs := &faultServer{dir: f.dir, count: map[string]int{}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	h := newHdoTree(t, t.TempDir())
	writeStageTree(t, h.root, h.cache)

	ptm, pts := ptytest.Open(t)
	var tty syncBuffer
	copied := make(chan struct{})
	go func() { io.Copy(&tty, ptm); close(copied) }()
	cmd := h.command(t, "pkg/app/.pkg.tar.gz")
	cmd.Env = append(cmd.Env, "HDO_CACHE_URL="+srv.URL, "HDO_TRUSTED_KEYS="+f.pub, "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Run(); err != nil {
		t.Fatalf("hdo: %v\n%s", err, tty.String())
	}
	pts.Close() // the master reads EOF (EIO) once no one holds the terminal
	<-copied
	out := tty.String()
	if !strings.Contains(out, "\x1b[") {
		t.Fatalf("no live status on the terminal:\n%q", out)
	}
	if strings.Contains(out, "cache: ") {
		t.Errorf("the cache's progress line was drawn with the status block:\n%q", out)
	}
	for _, p := range []string{"pkg/app", "pkg/lib"} {
		if got := readFile(t, h.root+"/"+p+"/.pkg.tar.gz"); string(got) != string(f.local[p]) {
			t.Errorf("%s from the cache differs from the local build", p)
		}
	}
	if n := fs.requests(f.hash["pkg/app"] + ".tar.gz"); n != 1 {
		t.Errorf("pkg/app's tarball was requested %d times, want 1 (from the cache)", n)
	}
}

// TestShellOwnTerminal runs hdo shell on a terminal, as a user does: the
// shell gets a terminal of its own in the sandbox (the red team's TIOCSTI
// injection pushed into the caller's), relayed both ways, and the
// caller's terminal is as it was afterwards.
func TestShellOwnTerminal(t *testing.T) {
	h := newHdoTree(t, t.TempDir())
	writeStageTree(t, h.root, h.cache)
	ptm, pts := ptytest.Open(t)
	before, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	var tty syncBuffer
	copied := make(chan struct{})
	go func() { io.Copy(&tty, ptm); close(copied) }()
	// Typed ahead: the relay passes it on to the sandbox's terminal.
	ptm.Write([]byte("readlink /proc/self/fd/0; echo answer=$((6*7))\nexit 4\n"))
	cmd := h.command(t, "shell", "pkg/app")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 4 {
		t.Fatalf("hdo shell: %v, want exit status 4\n%s", err, tty.String())
	}
	after, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	pts.Close()
	<-copied
	out := tty.String()
	for _, want := range []string{"/dev/pts/0\r\n", "answer=42\r\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q on the terminal:\n%q", want, out)
		}
	}
	if *before != *after {
		t.Errorf("the caller's terminal modes changed:\nbefore %+v\nafter  %+v", *before, *after)
	}
}
