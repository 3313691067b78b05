package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// probeEnv names a prebuilt probe binary, set by TestUnprivileged for the
// test binary it runs as another user.
const probeEnv = "HDO_SANDBOX_TEST_PROBE"

// probePath is the probe binary (testdata/probe) built by TestMain.
var probePath string

func TestMain(m *testing.M) {
	Main()
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	probePath = os.Getenv(probeEnv)
	if probePath == "" {
		dir, err := os.MkdirTemp("", "hdo-sandbox-probe")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		// Readable by the user TestUnprivileged runs as.
		if err := os.Chmod(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		probePath = filepath.Join(dir, "probe")
		cmd := exec.Command("go", "build", "-o", probePath, "./testdata/probe")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build the probe: %v\n%s", err, out)
			return 1
		}
	}
	defer func() {
		if benchRoot != "" {
			os.RemoveAll(benchRoot)
		}
	}()
	return m.Run()
}

// testEnv is the environment the tests give builds.
var testEnv = []string{"HOME=/home/build", "PATH=/bin:/usr/bin", "TMPDIR=/tmp", "LC_ALL=C", "X=a b=c"}

// writeTree creates files in dir: path -> content; a content starting with
// "->" makes a symlink, a path ending in "/" a directory.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(content, "->"); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// baseLayer makes a layer holding /bin/probe and /bin/true (the probe
// again, which exits at once when so named).
func baseLayer(t testing.TB, dir string) Layer {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(probePath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/probe"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("probe", filepath.Join(dir, "bin/true")); err != nil {
		t.Fatal(err)
	}
	return Layer{Name: "pkg/base", Dir: dir}
}

// fixture is a sandbox configuration over a base layer with work and
// destdir directories, for running the probe.
type fixture struct {
	cfg  Config
	base string // the base layer's directory
}

func newFixture(t testing.TB, mode Assembly, extra ...Layer) *fixture {
	t.Helper()
	base := baseLayer(t, t.TempDir())
	return &fixture{
		base: base.Dir,
		cfg: Config{
			Layers:   append(extra, base),
			Assembly: mode,
			Work:     t.TempDir(),
			DestDir:  t.TempDir(),
			Env:      testEnv,
			Timeout:  time.Minute,
		},
	}
}

// run runs the probe with args in the sandbox and returns what it
// printed.
func (f *fixture) run(t testing.TB, args ...string) (string, *report, error) {
	t.Helper()
	var out syncBuffer
	cfg := f.cfg
	cfg.Args = append([]string{"/bin/probe"}, args...)
	cfg.Stdout = &out
	cfg.Stderr = &out
	rep, err := run(context.Background(), &cfg)
	return out.String(), rep, err
}

// mustRun is run for a probe that must succeed.
func (f *fixture) mustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, _, err := f.run(t, args...)
	if err != nil {
		t.Fatalf("probe %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// syncBuffer is a bytes.Buffer safe to read while a build writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ io.Writer = (*syncBuffer)(nil)

// pidsInNamespace lists the host pids of processes in the pid namespace
// ns (as read from /proc/PID/ns/pid, e.g. "pid:[4026532473]").
func pidsInNamespace(t testing.TB, ns string) []int {
	t.Helper()
	des, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, de := range des {
		pid, err := strconv.Atoi(de.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/" + de.Name() + "/ns/pid"); err == nil && l == ns {
			pids = append(pids, pid)
		}
	}
	return pids
}

// field returns the result the probe printed for command cmd.
func field(out, cmd string) string {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, cmd+": "); ok {
			return v
		}
	}
	return ""
}
