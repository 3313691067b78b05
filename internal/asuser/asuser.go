// Package asuser lets a test see what a normal user would: tests run as
// root ignore permission bits, so a test re-runs itself (the test binary,
// re-executed) as uid 65534 in a directory that user owns.
package asuser

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// dirEnv names the work directory of a re-executed test.
const dirEnv = "HDO_TEST_USER_DIR"

// Dir returns the work directory when this process is a test re-executed
// by Rerun, else "".
func Dir() string { return os.Getenv(dirEnv) }

// Run runs body in a directory owned by a normal user: the re-executed
// test's work directory when this process is one, a fresh temp dir when
// the test runs as a normal user already, and otherwise (as root) the
// test itself again through Rerun, with remove cleaning up after it.
func Run(t *testing.T, body func(t *testing.T, dir string), remove func(dir string) error) {
	t.Helper()
	if dir := Dir(); dir != "" {
		body(t, dir)
		return
	}
	if os.Getuid() != 0 {
		body(t, t.TempDir())
		return
	}
	Rerun(t, t.Name(), remove)
}

// Rerun re-executes the test binary running only the top-level test name,
// as uid 65534 in a fresh directory it owns, and fails t unless that test
// passed; it skips t if the system cannot run a process as that user.
// remove removes the temporary directory afterwards (trees a test made
// read-only need more than os.RemoveAll).
func Rerun(t *testing.T, name string, remove func(dir string) error) {
	t.Helper()
	base, err := os.MkdirTemp("", "hdo-user-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { remove(base) })
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
	cmd := exec.Command(self, "-test.run=^"+name+"$", "-test.v")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), dirEnv+"="+work)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Skipf("cannot run the test as uid 65534 here: %v", err)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: "+name+" (") || strings.Contains(string(out), "--- FAIL") {
		t.Fatalf("%s as uid 65534: %v\n%s", name, err, out)
	}
}
