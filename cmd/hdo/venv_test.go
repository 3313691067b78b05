package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hdo-build/hdo/bootstrap"
)

// helloTree writes a tree with the stage0 seed (already in
// cache/hdo/bootstrap) and pkg/hello, whose bin/hello (a /bin/sh script)
// prints its working directory and lists its argument.
func helloTree(tb testing.TB, root, cache string) {
	tb.Helper()
	files := map[string]string{
		".hdo/.keep":            "",
		"pkg/seed/seed.lock":    string(bootstrap.Stage0Lock()),
		"pkg/hello/build-deps":  "../seed\n",
		"pkg/hello/run-deps":    "../seed\n",
		"pkg/hello/build":       "mkdir -p \"$DESTDIR/bin\"\ncp hello \"$DESTDIR/bin/hello\"\nchmod 755 \"$DESTDIR/bin/hello\"\n",
		"pkg/hello/files/hello": "#!/bin/sh\necho \"hello in $(pwd)\"\ngrep ^Uid: /proc/self/status\nls \"$1\"\ntest -e /bin/bash || echo no host bash\n",
		"hostdir/marker.txt":    "marker\n",
		"elsewhere/sub/.keep":   "",
	}
	for name, text := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	tgz, err := sharedStage0()
	if err != nil {
		tb.Fatal(err)
	}
	bc := filepath.Join(cache, "hdo", "bootstrap")
	if err := os.MkdirAll(bc, 0o755); err != nil {
		tb.Fatal(err)
	}
	key := strings.TrimSuffix(filepath.Base(tgz), ".tar.gz")
	for _, suffix := range []string{".tar.gz", ".blake3"} {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(tgz), key+suffix))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bc, key+suffix), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestVenvAndRunUnprivileged makes a venv and runs commands in it and
// with hdo run as uid 65534, whose user namespace maps only itself.
func TestVenvAndRunUnprivileged(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("run as root to test as uid 65534 (as a user, the venv and run scripts cover it)")
	}
	bin := buildHdo(t)
	base, err := os.MkdirTemp("", "hdo-venv-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("rm", "-rf", base).Run() })
	os.Chmod(base, 0o755)
	root, cache := filepath.Join(base, "tree"), filepath.Join(base, "cache")
	helloTree(t, root, cache)
	chownTree(t, base, 65534, 65534)
	hdo := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + base, "XDG_CACHE_HOME=" + cache}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%q as uid 65534: %v\n%s", args, err, out)
		}
		return string(out)
	}
	hdo(root, bin, "venv", "-q", "-o", "venv", "pkg/hello")
	want := "hello in " + root + "/elsewhere/sub\nUid:\t65534\t65534\t65534\t65534\nmarker.txt\nno host bash\n"
	if got := hdo(filepath.Join(root, "elsewhere/sub"), filepath.Join(root, "venv/bin/venv-run"), "hello", filepath.Join(root, "hostdir")); got != want {
		t.Errorf("venv-run as uid 65534:\n%s\nwant:\n%s", got, want)
	}
	if got := hdo(filepath.Join(root, "elsewhere/sub"), bin, "run", "../../pkg/hello", "--", "hello", filepath.Join(root, "hostdir")); got != want {
		t.Errorf("hdo run as uid 65534:\n%s\nwant:\n%s", got, want)
	}
}

// BenchmarkRun measures hdo run on an up-to-date package: open the tree,
// check the targets, find the store entries and their manifests, start
// the command in a new root (/bin an overlay of two store trees) and wait
// for it, in-process as the CLI would.
func BenchmarkRun(b *testing.B) {
	root, cache := b.TempDir(), b.TempDir()
	helloTree(b, root, cache)
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	environ := []string{"PATH=/bin:/usr/bin", "XDG_CACHE_HOME=" + cache, "HOME=" + root}
	e := &env{stdin: null, stdout: null, stderr: null, cwd: root, environ: environ, getenv: func(k string) string {
		for _, kv := range environ {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return ""
	}}
	args := []string{"run", "-q", "pkg/hello", "--", "true"}
	if err := dispatch(context.Background(), e, "hdo", args); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := dispatch(context.Background(), e, "hdo", args); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/run")
}
