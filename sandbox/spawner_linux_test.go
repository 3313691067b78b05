package sandbox

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitGone waits for the processes of pid namespace ns to be gone.
func waitGone(t *testing.T, ns string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(pidsInNamespace(t, ns)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("processes %v of the sandbox still run", pidsInNamespace(t, ns))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startLong starts a build that runs until killed and returns its pid
// namespace once it runs, and Run's result.
func startLong(t *testing.T) (ns string, errc chan error) {
	t.Helper()
	f := newFixture(t, AssembleAuto)
	var out syncBuffer
	cfg := f.cfg
	cfg.Args = []string{"/bin/probe", "spawn", "/destdir", "+", "pidns", "+", "sleep", "1h"}
	cfg.Stdout, cfg.Stderr = &out, &out
	errc = make(chan error, 1)
	go func() { errc <- Run(context.Background(), &cfg) }()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if ns = field(out.String(), "pidns"); ns != "" {
			return ns, errc
		}
	}
	t.Fatalf("the build did not start: %s", out.String())
	return "", nil
}

func TestSpawnerDies(t *testing.T) {
	ns, errc := startLong(t)
	s, err := getSpawner()
	if err != nil {
		t.Fatal(err)
	}
	syscall.Kill(s.pid, syscall.SIGKILL)
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "spawner") {
			t.Errorf("Run: got %v, want an error about the spawner", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the spawner died")
	}
	waitGone(t, ns)

	// The next Run starts a new spawner.
	f := newFixture(t, AssembleAuto)
	if got := f.mustRun(t, "hostname"); got != "hostname: build\n" {
		t.Errorf("after a new spawner: got %q", got)
	}
}

// callerEnv makes the test binary run TestCallerKilled's caller side,
// which writes the pid namespace of its build to the file named.
const callerEnv = "HDO_SANDBOX_TEST_CALLER"

// TestCallerKilled checks a build dies with the process that ran it, even
// killed by SIGKILL.
func TestCallerKilled(t *testing.T) {
	if nsFile := os.Getenv(callerEnv); nsFile != "" {
		ns, _ := startLong(t)
		os.WriteFile(nsFile, []byte(ns), 0o644)
		time.Sleep(time.Hour) // until killed
		return
	}
	dir := t.TempDir()
	nsFile := filepath.Join(dir, "ns")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCallerKilled$")
	// Killed, the caller leaves its temporary files: in dir.
	cmd.Env = append(os.Environ(), callerEnv+"="+nsFile, probeEnv+"="+probePath, "TMPDIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	var ns []byte
	for deadline := time.Now().Add(10 * time.Second); len(ns) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the caller did not start its build")
		}
		ns, _ = os.ReadFile(nsFile)
	}
	if len(pidsInNamespace(t, string(ns))) == 0 {
		t.Fatal("no process of the build found while it runs")
	}
	cmd.Process.Kill()
	waitGone(t, string(ns))
}

// initOf returns the host pid of the init of pid namespace ns: the
// process that is pid 1 there.
func initOf(t *testing.T, ns string) int {
	t.Helper()
	for _, pid := range pidsInNamespace(t, ns) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "NSpid:" && f[len(f)-1] == "1" {
				return pid
			}
		}
	}
	t.Fatalf("no init in %s", ns)
	return 0
}

func TestForwardSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			ns, errc := startLong(t)
			syscall.Kill(initOf(t, ns), sig)
			select {
			case err := <-errc:
				want := &ExitError{Code: 128 + int(sig), Signal: sig}
				if got, ok := err.(*ExitError); !ok || *got != *want {
					t.Errorf("Run: got %v, want %v", err, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the build did not end")
			}
			waitGone(t, ns)
		})
	}
}
