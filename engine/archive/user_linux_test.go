package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// userDirEnv names the work directory of a test re-executed as a normal
// user by runAsUser.
const userDirEnv = "HDO_TEST_USER_DIR"

// runAsUser runs body in a directory owned by the current user. Tests run
// as root ignore permission bits, so as root it re-executes the test
// binary as uid 65534 to see what a normal user would.
func runAsUser(t *testing.T, body func(t *testing.T, dir string)) {
	t.Helper()
	if dir := os.Getenv(userDirEnv); dir != "" {
		body(t, dir)
		return
	}
	if os.Getuid() != 0 {
		body(t, t.TempDir())
		return
	}
	base, err := os.MkdirTemp("", "hdo-user-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		makeWritable(base)
		os.RemoveAll(base)
	})
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	self := filepath.Join(base, "test.bin")
	if err := os.WriteFile(self, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(base, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(work, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), userDirEnv+"="+work)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Skipf("cannot run the test as uid 65534 here: %v", err)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("%s as uid 65534: %v\n%s", t.Name(), err, out)
	}
}

func TestExtractAsUser(t *testing.T) {
	runAsUser(t, func(t *testing.T, dir string) {
		if os.Getuid() == 0 {
			t.Fatal("still root")
		}
		data := gzBytes(t, tarBytes(t, []tent{
			{name: "ro/", typ: tar.TypeDir, mode: 0o555},
			{name: "ro/sub/", typ: tar.TypeDir, mode: 0o500},
			{name: "ro/sub/f", mode: 0o444, body: "x"},
			{name: "ro/sub/f", mode: 0o400, body: "replaced"},
			{name: "ro/h", typ: tar.TypeLink, link: "ro/sub/f"},
			{name: "ro/l", typ: tar.TypeSymlink, link: "sub/f"},
			{name: "none/", typ: tar.TypeDir, mode: 0o000},
			{name: "none/x", body: "x"},
		}))
		want := map[string]string{
			"ro": "d 0555", "ro/sub": "d 0500", "ro/sub/f": "f 0400 replaced", "ro/h": "f 0400 replaced",
			"ro/l": "l sub/f", "none": "d 0000",
		}
		dest := filepath.Join(dir, "a")
		if _, err := Extract(context.Background(), bytes.NewReader(data), dest, Limits{}); err != nil {
			t.Fatal(err)
		}
		makeWritable(filepath.Join(dest, "none"))
		want["none"], want["none/x"] = "d 0755", "f 0644 x"
		if diff := cmp.Diff(want, snapshot(t, dest)); diff != "" {
			t.Errorf("tree (-want +got):\n%s", diff)
		}
		ro := filepath.Join(dir, "b")
		if _, err := ExtractListing(context.Background(), bytes.NewReader(data), ro, Options{ReadOnly: true}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ro, "new"), nil, 0o644); err == nil {
			t.Errorf("created a file in a read-only extraction")
		}
		for _, d := range []string{dest, ro} {
			makeWritable(d)
			if err := os.RemoveAll(d); err != nil {
				t.Error(err)
			}
		}
	})
}
