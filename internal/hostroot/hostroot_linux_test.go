package hostroot

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hdo-build/hdo/internal/asuser"
)

// TestMain makes the test binary the probe the tests run inside new
// roots (installed as bin/probe of a tree), and the re-executed child.
func TestMain(m *testing.M) {
	Main()
	if filepath.Base(os.Args[0]) == "probe" {
		os.Exit(probe(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// probe does one thing inside the new root and prints what it saw.
func probe(args []string) int {
	switch args[0] {
	case "ls":
		ents, err := os.ReadDir(args[1])
		if err != nil {
			fmt.Println(err)
			return 1
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		fmt.Println(strings.Join(names, " "))
	case "pwd":
		wd, _ := os.Getwd()
		fmt.Println(wd)
	case "env":
		fmt.Println(os.Getenv(args[1]))
	case "readlink":
		t, err := os.Readlink(args[1])
		fmt.Println(t, err)
	case "cat":
		b, err := os.ReadFile(args[1])
		if err != nil {
			fmt.Println(err)
			return 1
		}
		os.Stdout.Write(b)
	case "write":
		err := os.WriteFile(args[1], []byte("x"), 0o644)
		fmt.Println(err != nil)
	case "id":
		fmt.Println(os.Getuid(), os.Getgid())
	case "capeff":
		b, _ := os.ReadFile("/proc/self/status")
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
				fmt.Println(strings.TrimSpace(v))
			}
		}
	case "mountopts":
		// The per-mount options of the mount at args[1], e.g. ro,nosuid.
		b, _ := os.ReadFile("/proc/self/mountinfo")
		opts := ""
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 5 && f[4] == args[1] {
				opts = f[5]
			}
		}
		fmt.Println(opts)
	case "exit":
		n, _ := strconv.Atoi(args[1])
		return n
	case "fd":
		_, err := os.Stat("/proc/self/fd/" + args[1])
		fmt.Println(err == nil)
	case "waitterm":
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		os.WriteFile(args[1], nil, 0o644)
		<-ch
		return 42
	}
	return 0
}

// testTrees makes two package-like trees: a has bin/probe, opt/a and a
// top-level symlink and file; b has opt/b.
func testTrees(t *testing.T, base string) (a, b string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	a, b = filepath.Join(base, "a"), filepath.Join(base, "b")
	for _, d := range []string{a + "/bin", a + "/opt/a", b + "/opt/b", a + "/tmp", a + "/.hidden"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(a+"/bin/probe", bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("opt/a", a+"/hdo-test-link"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a+"/hdo-test-file", []byte("top file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// runProbe runs the probe with args in the new root of plan from dir and
// returns its exit status and output.
func runProbe(t *testing.T, plan Plan, dir string, args ...string) (int, string) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	code, err := Run(context.Background(), plan, Command{
		Args:   append([]string{"probe"}, args...),
		Env:    []string{"PATH=/bin", "HDO_TEST_VAR=kept"},
		Dir:    dir,
		Name:   "test",
		Stdout: out,
		Stderr: out,
	})
	if err != nil {
		t.Fatalf("Run %q: %v", args, err)
	}
	data, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return code, strings.TrimSpace(string(data))
}

func TestFromTrees(t *testing.T) {
	a, b := testTrees(t, t.TempDir())
	p, err := FromTrees([]Tree{{Name: "a", Dir: a}, {Name: "b", Dir: b}})
	if err != nil {
		t.Fatal(err)
	}
	want := Plan{
		Dirs:  map[string][]string{"bin": {a + "/bin"}, "opt": {a + "/opt", b + "/opt"}},
		Links: map[string]string{"hdo-test-link": "opt/a"},
		Files: map[string]string{"hdo-test-file": a + "/hdo-test-file"},
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}

	c := filepath.Join(t.TempDir(), "c")
	os.MkdirAll(c, 0o755)
	os.WriteFile(c+"/opt", nil, 0o644)
	_, err = FromTrees([]Tree{{Name: "a", Dir: a}, {Name: "c", Dir: c}})
	if err == nil || !strings.Contains(err.Error(), "a and c both provide /opt") {
		t.Errorf("a directory and a file at /opt: err = %v, want one naming a and c", err)
	}
}

func TestRun(t *testing.T) {
	runAsUser(t, testRun)
}

func testRun(t *testing.T, base string) {
	a, b := testTrees(t, base)
	plan, err := FromTrees([]Tree{{Name: "a", Dir: a}, {Name: "b", Dir: b}})
	if err != nil {
		t.Fatal(err)
	}
	// A directory of the host's, outside what the plan replaces.
	hostDir := filepath.Join(base, "host")
	os.MkdirAll(hostDir+"/sub", 0o755)
	os.WriteFile(hostDir+"/sub/f", []byte("host file\n"), 0o644)
	uid, gid := os.Getuid(), os.Getgid()
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"bin replaced", []string{"ls", "/bin"}, 0, "probe"},
		{"overlay merges", []string{"ls", "/opt"}, 0, "a b"},
		{"host dir visible", []string{"ls", hostDir}, 0, "sub"},
		{"host file readable", []string{"cat", hostDir + "/sub/f"}, 0, "host file"},
		{"host /usr visible", []string{"ls", "/usr"}, 0, ""},
		{"cwd kept", []string{"pwd"}, 0, hostDir + "/sub"},
		{"env kept", []string{"env", "HDO_TEST_VAR"}, 0, "kept"},
		{"plan env removed", []string{"env", configEnv}, 0, ""},
		{"symlink", []string{"readlink", "/hdo-test-link"}, 0, "opt/a <nil>"},
		{"file", []string{"cat", "/hdo-test-file"}, 0, "top file"},
		{"kept tmp", []string{"ls", filepath.Dir(hostDir)}, 0, ""},
		{"no oldroot", []string{"ls", "/" + oldRootName}, 1, "open /" + oldRootName + ": no such file or directory"},
		{"root read-only", []string{"write", "/newfile"}, 0, "true"},
		{"ids", []string{"id"}, 0, fmt.Sprint(uid, gid)},
		{"exit status", []string{"exit", "7"}, 7, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runProbe(t, plan, hostDir+"/sub", tc.args...)
			if code != tc.code {
				t.Errorf("exit status %d, want %d; output:\n%s", code, tc.code, out)
			}
			switch tc.name {
			case "host /usr visible":
				if !strings.Contains(out, "bin") || !strings.Contains(out, "lib") {
					t.Errorf("ls /usr = %q, want the host's /usr", out)
				}
			case "kept tmp":
				if !strings.Contains(out, "host") {
					t.Errorf("ls %s = %q, want the host's temp dir", filepath.Dir(hostDir), out)
				}
			default:
				if out != tc.out {
					t.Errorf("output %q, want %q", out, tc.out)
				}
			}
		})
	}
	t.Run("no capabilities", func(t *testing.T) {
		if uid == 0 {
			t.Skip("root keeps its capabilities")
		}
		code, out := runProbe(t, plan, "/", "capeff")
		if code != 0 || out != "0000000000000000" {
			t.Errorf("CapEff = %q (exit %d), want none: the command must not keep the child's CAP_SYS_ADMIN", out, code)
		}
	})
	t.Run("overlay flags", func(t *testing.T) {
		// A merged directory is mounted as the sandbox's root is:
		// read-only, and no setuid or device file in a package works.
		code, out := runProbe(t, plan, "/", "mountopts", "/opt")
		opts := strings.Split(out, ",")
		for _, want := range []string{"ro", "nosuid", "nodev"} {
			if code != 0 || !slices.Contains(opts, want) {
				t.Errorf("mount options of the overlay /opt: %q (exit %d), want %s among them", out, code, want)
			}
		}
	})
	t.Run("read-only binds", func(t *testing.T) {
		if code, out := runProbe(t, plan, "/", "write", "/bin/new"); code != 0 || out != "false" {
			t.Errorf("write /bin/new in a writable plan: %d, %q; want it written", code, out)
		}
		ro := plan
		ro.ReadOnly = true
		if code, out := runProbe(t, ro, "/", "write", "/bin/new2"); code != 0 || out != "true" {
			t.Errorf("write /bin/new2 in a read-only plan: %d, %q; want a failure", code, out)
		}
		if code, out := runProbe(t, ro, "/", "ls", "/bin"); code != 0 || out != "new probe" {
			t.Errorf("ls /bin = %d, %q", code, out)
		}
	})
	t.Run("not found", func(t *testing.T) {
		code, err := Run(context.Background(), plan, Command{Args: []string{"nosuchcommand"}, Env: []string{"PATH=/bin"}, Dir: "/", Stderr: devNull(t)})
		if err != nil || code != ExitNotFound {
			t.Errorf("Run = %d, %v; want %d", code, err, ExitNotFound)
		}
	})
	t.Run("cwd replaced", func(t *testing.T) {
		code, out := runProbe(t, plan, "/opt/nosuchdir", "pwd")
		if code != ExitSetup || !strings.Contains(out, "the working directory /opt/nosuchdir is not in the new root") {
			t.Errorf("Run = %d, %q; want %d and a message naming the directory", code, out, ExitSetup)
		}
	})
	t.Run("inherited fd", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close()
		out, _ := os.CreateTemp(t.TempDir(), "out")
		code, err := Run(context.Background(), plan, Command{Args: []string{"probe", "fd", "5"}, Env: []string{"PATH=/bin"}, Dir: "/", Stdout: out, ExtraFiles: []*os.File{nil, nil, w}})
		data, _ := os.ReadFile(out.Name())
		if err != nil || code != 0 || strings.TrimSpace(string(data)) != "true" {
			t.Errorf("Run = %d, %v, %q; want fd 5 open", code, err, data)
		}
	})
	t.Run("signal forwarded", func(t *testing.T) {
		ready := filepath.Join(base, "ready")
		go func() {
			for i := 0; i < 3000; i++ {
				if _, err := os.Stat(ready); err == nil {
					syscall.Kill(os.Getpid(), syscall.SIGTERM)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
		code, out := runProbe(t, plan, "/", "waitterm", ready)
		if code != 42 {
			t.Errorf("exit status %d (%q), want 42 from the probe's SIGTERM handler", code, out)
		}
	})
}

func TestRunRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		plan Plan
		want string
	}{
		{"kept", Plan{Dirs: map[string][]string{"proc": {"/x"}}}, "/proc always stays the host's"},
		{"slash", Plan{Links: map[string]string{"a/b": "x"}}, `bad top-level name "a/b"`},
		{"relative", Plan{Dirs: map[string][]string{"bin": {"x"}}}, `"x" is not absolute`},
		{"twice", Plan{Dirs: map[string][]string{"bin": {"/x"}}, Links: map[string]string{"bin": "x"}}, "/bin is planned twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), tc.plan, Command{Args: []string{"true"}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func devNull(t *testing.T) *os.File {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// BenchmarkRun measures starting a command in a new root that replaces
// /bin and merges /opt from two trees: re-exec, namespaces, about 25 host
// binds, one overlay, exec.
func BenchmarkRun(b *testing.B) {
	t := &testing.T{}
	a, bb := testTrees(t, b.TempDir())
	plan, err := FromTrees([]Tree{{Name: "a", Dir: a}, {Name: "b", Dir: bb}})
	if err != nil {
		b.Fatal(err)
	}
	null, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	defer null.Close()
	for b.Loop() {
		code, err := Run(context.Background(), plan, Command{Args: []string{"probe", "exit", "0"}, Env: []string{"PATH=/bin"}, Dir: "/", Stdin: null, Stdout: null, Stderr: null})
		if err != nil || code != 0 {
			b.Fatalf("Run = %d, %v", code, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/run")
}

// runAsUser runs body as this user in a fresh directory and, when the
// tests run as root, again as uid 65534 (the test binary re-executed), so
// both the root and the user-namespace paths are covered.
func runAsUser(t *testing.T, body func(t *testing.T, dir string)) {
	t.Helper()
	if dir := asuser.Dir(); dir != "" {
		body(t, dir)
		return
	}
	t.Run("as "+strconv.Itoa(os.Getuid()), func(t *testing.T) { body(t, t.TempDir()) })
	if os.Getuid() != 0 {
		return
	}
	t.Run("as 65534", func(t *testing.T) {
		asuser.Rerun(t, strings.SplitN(t.Name(), "/", 2)[0], os.RemoveAll)
	})
}
