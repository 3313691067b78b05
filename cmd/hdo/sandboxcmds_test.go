package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
)

var (
	probeOnce sync.Once
	probeBin  string
	probeErr  error
)

// cmdProbe is "probe FILE": a static build of sandbox/testdata/probe, the
// program that tries things from inside a sandbox and reports errnos.
func cmdProbe(ts *testscript.TestScript, neg bool, args []string) {
	bin, err := probeBinary()
	if err != nil {
		ts.Fatalf("%v", err)
	}
	dst := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(filepath.Dir(dst), 0o755))
	data, err := os.ReadFile(bin)
	ts.Check(err)
	ts.Check(os.WriteFile(dst, data, 0o755))
}

// probeBinary builds the probe once per test run and returns its path.
func probeBinary() (string, error) {
	probeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hdo-probe-")
		if err != nil {
			probeErr = err
			return
		}
		probeBin = filepath.Join(dir, "probe")
		cmd := exec.Command("go", "build", "-trimpath", "-o", probeBin, "../../sandbox/testdata/probe")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			probeErr = err
			probeBin = string(out)
		}
	})
	if probeErr != nil {
		return "", fmt.Errorf("building probe: %v\n%s", probeErr, probeBin)
	}
	return probeBin, nil
}

// cmdListen is "listen FILE": a TCP server on the host's loopback, for the
// rest of the script; its address goes into FILE, and "reached" into
// FILE.reached if anything connects.
func cmdListen(ts *testscript.TestScript, neg bool, args []string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	ts.Defer(func() { ln.Close() })
	file := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(filepath.Dir(file), 0o755))
	ts.Check(os.WriteFile(file, []byte(ln.Addr().String()+"\n"), 0o644))
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			os.WriteFile(file+".reached", []byte("reached\n"), 0o644)
			c.Close()
		}
	}()
}

// cmdMarker is "marker NAME": a file NAME in the host's /tmp and in /, for
// the rest of the script, that no build may read.
func cmdMarker(ts *testscript.TestScript, neg bool, args []string) {
	for _, dir := range []string{os.TempDir(), "/"} {
		p := filepath.Join(dir, args[0])
		if err := os.WriteFile(p, []byte("host secret\n"), 0o644); err != nil {
			if dir == "/" && os.Getuid() != 0 {
				continue // only root can write /; /tmp still counts
			}
			ts.Fatalf("%v", err)
		}
		ts.Defer(func() { os.Remove(p) })
	}
}

// cmdHostmake is "hostmake DIR": the host's GNU make and the shared
// libraries it needs, at their paths under DIR, so a package can carry a
// make into a sandbox (stage0 has none).
func cmdHostmake(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: hostmake DIR")
	}
	cmdHostbin(ts, neg, []string{args[0], "make"})
}

// cmdHostbin is "hostbin DIR PROG...": each host program at DIR/usr/bin/PROG
// and the shared libraries they need at their paths under DIR, for a
// package that stands in for the GNU tools a real seed has.
func cmdHostbin(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: hostbin DIR PROG...")
	}
	dir := ts.MkAbs(args[0])
	for _, prog := range args[1:] {
		bin, err := exec.LookPath(prog)
		if err != nil {
			ts.Fatalf("no %s on the host", prog)
		}
		bin, _ = filepath.EvalSymlinks(bin)
		files := map[string]string{bin: filepath.Join(dir, "usr/bin", prog)}
		out, err := exec.Command("ldd", bin).Output()
		ts.Check(err)
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			for _, f := range strings.Fields(sc.Text()) {
				if strings.HasPrefix(f, "/") {
					files[f] = filepath.Join(dir, f)
				}
			}
		}
		for src, dst := range files {
			ts.Check(os.MkdirAll(filepath.Dir(dst), 0o755))
			real, err := filepath.EvalSymlinks(src)
			ts.Check(err)
			data, err := os.ReadFile(real)
			ts.Check(err)
			ts.Check(os.WriteFile(dst, data, 0o755))
		}
	}
}

// cmdServe is "serve DIR": a static file server for DIR on the host's
// loopback for the rest of the script; HDO_CACHE_URL points at it.
func cmdServe(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: serve DIR [VAR]")
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(ts.MkAbs(args[0]))))
	ts.Defer(srv.Close)
	v := "HDO_CACHE_URL"
	if len(args) == 2 {
		v = args[1]
	}
	ts.Setenv(v, srv.URL)
}
