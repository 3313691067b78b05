package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/hdo-build/hdo/bootstrap"
)

// buildHdo returns the hdo binary, built as do.sh builds it, in a
// directory every user can read.
func buildHdo(t *testing.T) string { return realHdo(t) }

// writeStageTree writes a small package tree on stage0 into root, with the
// shared stage0 seed already in cache/hdo/bootstrap.
func writeStageTree(t *testing.T, root, cache string) {
	t.Helper()
	files := map[string]string{
		"pkg/seed/seed.lock":   string(bootstrap.Stage0Lock()),
		"pkg/lib/build-deps":   "../seed\n",
		"pkg/lib/build":        "mkdir -p \"$DESTDIR/lib\"\necho lib > \"$DESTDIR/lib/lib.txt\"\nchmod 640 \"$DESTDIR/lib/lib.txt\"\nln -s lib.txt \"$DESTDIR/lib/link\"\n",
		"pkg/app/build-deps":   "../seed\n../lib\n",
		"pkg/app/run-deps":     "../lib\n",
		"pkg/app/build":        "mkdir -p \"$DESTDIR/bin\"\ncat /lib/lib.txt > \"$DESTDIR/bin/app\"\nid -u >> \"$DESTDIR/bin/app\"\nchmod 755 \"$DESTDIR/bin/app\"\n",
		"pkg/app/files/README": "app\n",
	}
	writeFiles(t, root, files)
	os.MkdirAll(filepath.Join(root, ".hdo"), 0o755)
	installStage0(t, cache)
}

// writeFiles writes files (path relative to root -> content) under root.
func writeFiles(tb testing.TB, root string, files map[string]string) {
	tb.Helper()
	for name, text := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func chownTree(t *testing.T, dir string, uid, gid int) {
	t.Helper()
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			os.Lchown(p, uid, gid)
		}
		return nil
	})
}

// The same package built by root and by an unprivileged user (in user
// namespaces either way) has the same bytes.
func TestRootAndUnprivilegedSameTarball(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("run as root to compare a root build with an unprivileged one (the unprivileged build is covered by running the suite as a user)")
	}
	bin := buildHdo(t)
	build := func(uid int) []byte {
		base, err := os.MkdirTemp("", "hdo-unpriv-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(base) })
		os.Chmod(base, 0o755)
		root, cache := filepath.Join(base, "tree"), filepath.Join(base, "cache")
		writeStageTree(t, root, cache)
		chownTree(t, base, uid, uid)
		cmd := exec.Command(bin, "-q", "pkg/app/.pkg.tar.gz")
		cmd.Dir = root
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + base, "XDG_CACHE_HOME=" + cache}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("hdo as uid %d: %v\n%s", uid, err, out)
		}
		data, err := os.ReadFile(filepath.Join(root, "pkg/app/.pkg.tar.gz"))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	asRoot := build(0)
	asNobody := build(65534)
	if !bytes.Equal(asRoot, asNobody) {
		t.Errorf("root and uid 65534 built different tarballs (%d and %d bytes)", len(asRoot), len(asNobody))
	}
}
