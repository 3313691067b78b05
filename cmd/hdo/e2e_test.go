package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hdo-build/hdo/internal/archive"
	"github.com/hdo-build/hdo/sandbox"
)

// TestEndToEnd is the main job on the real seed: it builds GNU make from
// Debian's source archive with the tree's own pkg/seed (pinned .debs from
// the host's Debian mirror), runs the make it built inside a sandbox that
// holds only make's closure, and checks that two packages rebuild to the
// same content. It needs the Debian mirror; set HDO_E2E=0 to skip it. The
// user's source and seed caches make repeat runs fast.
func TestEndToEnd(t *testing.T) {
	if os.Getenv("HDO_E2E") == "0" {
		t.Skip("HDO_E2E=0: skipping the end-to-end build of pkg/make on the real seed")
	}
	bin := buildHdo(t)
	root := t.TempDir()
	for _, p := range []string{"seed", "libc", "make", "userland"} {
		if out, err := exec.Command("cp", "-a", filepath.Join("..", "..", "pkg", p), filepath.Join(root, p)).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v\n%s", err, out)
		}
	}
	os.MkdirAll(filepath.Join(root, "pkg"), 0o755)
	for _, p := range []string{"seed", "libc", "make", "userland"} {
		os.Rename(filepath.Join(root, p), filepath.Join(root, "pkg", p))
	}
	os.Mkdir(filepath.Join(root, ".hdo"), 0o755)
	hdo := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "HDO_ROOT=", "MAKEFLAGS=")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("hdo %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		t.Logf("hdo %s: %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
		return out.String()
	}
	hdo("-j2", "-q", "pkg/make/.pkg.tar.gz")
	closure, err := os.ReadFile(filepath.Join(root, "pkg/make/.closure"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(closure)); got != "./pkg/libc/.pkg.tar.gz" {
		t.Errorf("pkg/make/.closure = %q, want ./pkg/libc/.pkg.tar.gz", got)
	}

	// make's closure, and nothing else, as a sandbox root.
	var layers []sandbox.Layer
	for _, p := range []string{"pkg/make/.pkg.tar.gz", "pkg/libc/.pkg.tar.gz"} {
		dir := t.TempDir()
		f, err := os.Open(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		_, err = archive.Extract(context.Background(), f, dir, archive.Limits{})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, sandbox.Layer{Name: p, Dir: dir})
	}
	var out bytes.Buffer
	err = sandbox.Run(context.Background(), &sandbox.Config{
		Layers: layers,
		Args:   []string{"/usr/bin/make", "--version"},
		Env:    []string{"PATH=/usr/bin:/bin", "LC_ALL=C"},
		Stdout: &out, Stderr: &out,
	})
	if err != nil {
		t.Fatalf("make --version in the sandbox: %v\n%s", err, out.String())
	}
	if !strings.HasPrefix(out.String(), "GNU Make 4.3") {
		t.Errorf("make --version printed %q, want GNU Make 4.3", out.String())
	}

	// The README's showcase: in a venv of the userland and make, make
	// runs a Makefile's recipes with the userland's sh and tools.
	hdo("venv", "-q", "-o", "v", "pkg/userland", "pkg/make")
	work := t.TempDir()
	mk := "all: greeting.txt\n\tcat greeting.txt\n\ngreeting.txt:\n\techo hello from make in a venv | tr a-z A-Z > $@\n"
	if err := os.WriteFile(filepath.Join(work, "Makefile"), []byte(mk), 0o644); err != nil {
		t.Fatal(err)
	}
	run := exec.Command(filepath.Join(root, "v", "bin", "venv-run"), "make")
	run.Dir = work
	run.Env = append(os.Environ(), "MAKEFLAGS=")
	if out, err := run.CombinedOutput(); err != nil || !strings.Contains(string(out), "\nHELLO FROM MAKE IN A VENV\n") {
		t.Errorf("make in the venv: %v\n%s", err, out)
	}

	// Two packages rebuild to the same content.
	got := hdo("check", "pkg/libc", "pkg/make")
	for _, p := range []string{"pkg/libc", "pkg/make"} {
		if !strings.Contains(got, p+": reproducible") {
			t.Errorf("hdo check %s: %s", p, got)
		}
	}
}
