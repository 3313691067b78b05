package sandbox

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// testUserEnv names the user TestUnprivileged runs the tests as; the
// default is nobody.
const testUserEnv = "HDO_TEST_USER"

// TestUnprivileged runs every test again as an unprivileged user, when run
// as root (run unprivileged, the other tests are that check already).
func TestUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: the other tests already run unprivileged")
	}
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil && strings.TrimSpace(string(b)) == "0" {
		t.Skip("user namespaces are disabled (user.max_user_namespaces=0): hdo cannot sandbox builds here")
	}
	name := os.Getenv(testUserEnv)
	if name == "" {
		name = "nobody"
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Skipf("no user to run the tests as: %v; set %s to one", err, testUserEnv)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)

	// The test binary lives in a directory only we may enter.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sandbox.test")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "-test.v", "-test.run=^Test")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, probeEnv + "=" + probePath}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("tests as user %s (uid %d): %v\n%s", name, uid, err, out.String())
	}
	for _, test := range []string{"TestBasic", "TestCallerKilled", "TestErrors", "TestExitStatus",
		"TestExtraFiles", "TestForwardSignals", "TestHostInvisible", "TestHostNetwork", "TestInteractive",
		"TestKilled", "TestLayerUnion", "TestManyLayers", "TestNoNetwork", "TestNoPrivileges",
		"TestNoProcessOutlivesBuild", "TestReadOnlyRoot", "TestReapsOrphans", "TestSpawnerDies", "TestStdin",
		"TestTmpSize", "TestMainNotCalled", "TestCgroupLimits", "TestEscapes"} {
		if !strings.Contains(out.String(), "--- PASS: "+test+" ") {
			t.Errorf("%s did not pass as user %s", test, name)
		}
	}
	if t.Failed() {
		t.Logf("output of the tests as user %s:\n%s", name, out.String())
	}
}
