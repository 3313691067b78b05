package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// modes are the assembly methods every property is checked under.
var modes = []Assembly{AssembleOverlay, assembleOverlayLegacy, AssembleBind}

func forModes(t *testing.T, test func(t *testing.T, mode Assembly)) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) { test(t, mode) })
	}
}

func TestBasic(t *testing.T) {
	forModes(t, func(t *testing.T, mode Assembly) {
		f := newFixture(t, mode)
		out, rep, err := f.run(t, "id", "+", "user", "+", "cwd", "+", "hostname", "+", "env", "+", "caps", "+", "read", "/etc/hosts", "+", "ls", "/")
		if err != nil {
			t.Fatalf("run: %v\n%s", err, out)
		}
		env, _ := json.Marshal(testEnv)
		want := "id: uid=1000 gid=1000\n" +
			"user: build\n" +
			"cwd: /home/build\n" +
			"hostname: build\n" +
			"env: " + string(env) + "\n" +
			"caps: 0000000000000000\n" +
			`read /etc/hosts: "127.0.0.1\tlocalhost build\n::1\tlocalhost build\n"` + "\n" +
			"ls /: bin destdir dev etc home proc tmp\n"
		if diff := cmp.Diff(want, out); diff != "" {
			t.Errorf("probe output: diff (-want +got):\n%s", diff)
		}
		if rep.Assembly != mode.String() {
			t.Errorf("root assembled by %s, want %s", rep.Assembly, mode)
		}
	})
}

func TestNoNetwork(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	forModes(t, func(t *testing.T, mode Assembly) {
		f := newFixture(t, mode)
		// Check the namespace is empty before dialing anything but
		// loopback: no packet must leave the host if it is not.
		if got := f.mustRun(t, "netifs"); got != "netifs: lo\n" {
			t.Fatalf("interfaces inside the sandbox: got %q, want only lo", got)
		}
		got := f.mustRun(t, "dial", ln.Addr().String(), "+", "dial", "192.0.2.1:80", "+", "dial", "127.0.0.1:0")
		want := fmt.Sprintf("dial %s: ECONNREFUSED\ndial 192.0.2.1:80: ENETUNREACH\ndial 127.0.0.1:0: ECONNREFUSED\n", ln.Addr())
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("diff (-want +got):\n%s", diff)
		}
	})
}

func TestHostNetwork(t *testing.T) {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		resolv = nil
	}
	f := newFixture(t, AssembleAuto)
	f.cfg.Network = true
	got := f.mustRun(t, "netifs", "+", "read", "/etc/resolv.conf", "+", "hostname")
	wantResolv := fmt.Sprintf("%q", resolv)
	if resolv == nil {
		wantResolv = "ENOENT"
	}
	want := "netifs: " + strings.Join(names, " ") + "\nread /etc/resolv.conf: " + wantResolv + "\nhostname: build\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
}

func TestHostInvisible(t *testing.T) {
	marker, err := os.CreateTemp("", "hdo-sandbox-marker")
	if err != nil {
		t.Fatal(err)
	}
	marker.Close()
	defer os.Remove(marker.Name())
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	forModes(t, func(t *testing.T, mode Assembly) {
		f := newFixture(t, mode)
		paths := []string{marker.Name(), exe, f.base, f.cfg.Work, f.cfg.DestDir, "/oldroot", "/newroot", "/skel", "/usr", "/sys/kernel"}
		var args, want []string
		for _, p := range paths {
			args = append(args, "stat", p, "+")
			want = append(want, "stat "+p+": ENOENT\n")
		}
		if diff := cmp.Diff(strings.Join(want, ""), f.mustRun(t, args...)); diff != "" {
			t.Errorf("host paths seen inside: diff (-want +got):\n%s", diff)
		}
	})
}

func TestReadOnlyRoot(t *testing.T) {
	forModes(t, func(t *testing.T, mode Assembly) {
		f := newFixture(t, mode)
		before := treeSum(t, f.base)
		writes := []struct{ path, want string }{
			{"/x", "EROFS"},
			{"/etc/x", "EROFS"},
			{"/etc/passwd", "EROFS"},
			{"/bin/probe", "EROFS"},
			{"/bin/x", "EROFS"},
			{"/home/x", "EROFS"},
			{"/dev/x", "EROFS"},
			{"/dev/null", "ok"},
			{"/dev/shm/x", "ok"},
			{"/tmp/x", "ok"},
			{"/home/build/x", "ok"},
			{"/destdir/x", "ok"},
		}
		var args []string
		var want string
		for _, w := range writes {
			args = append(args, "write", w.path, "+")
			want += "write " + w.path + ": " + w.want + "\n"
		}
		if diff := cmp.Diff(want, f.mustRun(t, args...)); diff != "" {
			t.Errorf("writes: diff (-want +got):\n%s", diff)
		}
		for _, p := range []string{filepath.Join(f.cfg.Work, "x"), filepath.Join(f.cfg.DestDir, "x")} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			// A build of root's runs as nobody; a normal user's as the user.
			want := os.Geteuid()
			if want == 0 {
				want = hostBuildID
			}
			if uid := fi.Sys().(*syscall.Stat_t).Uid; int(uid) != want {
				t.Errorf("%s is owned by uid %d, want %d", p, uid, want)
			}
		}
		if after := treeSum(t, f.base); after != before {
			t.Errorf("layer changed by the build")
		}
	})
}

// treeSum is a hash of every path, mode and content under dir.
func treeSum(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %v %d\n", p, fi.Mode(), fi.Size())
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestNoProcessOutlivesBuild(t *testing.T) {
	forModes(t, func(t *testing.T, mode Assembly) {
		f := newFixture(t, mode)
		out := f.mustRun(t, "spawn", "/destdir", "+", "pidns")
		if field(out, "spawn /destdir") != "ok" {
			t.Fatalf("probe: %s", out)
		}
		if pids := pidsInNamespace(t, field(out, "pidns")); len(pids) > 0 {
			t.Errorf("processes %v of the sandbox still run after Run returned", pids)
		}
		beat := filepath.Join(f.cfg.DestDir, "beat")
		before, err := os.Stat(beat)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // 10 beats, were the daemon alive
		after, err := os.Stat(beat)
		if err != nil {
			t.Fatal(err)
		}
		if after.Size() != before.Size() {
			t.Errorf("a process started by the build outlived it: %s grew from %d bytes to %d", beat, before.Size(), after.Size())
		}
	})
}

func TestReapsOrphans(t *testing.T) {
	f := newFixture(t, AssembleAuto)
	got := f.mustRun(t, "orphan", "+", "sleep", "300ms", "+", "zombies")
	want := "orphan: ok\nsleep 300ms: ok\nzombies: none\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
}

// TestKilled checks a timeout and a cancelled context kill every process
// of the build, and that Run says why.
func TestKilled(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		cancel  bool
		want    error
	}{
		{name: "timeout", timeout: 500 * time.Millisecond, want: ErrTimeout},
		{name: "cancel", cancel: true, want: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, AssembleAuto)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out syncBuffer
			cfg := f.cfg
			cfg.Timeout = tt.timeout
			cfg.Args = []string{"/bin/probe", "spawn", "/destdir", "+", "pidns", "+", "sleep", "1h"}
			cfg.Stdout, cfg.Stderr = &out, &out
			errc := make(chan error, 1)
			start := time.Now()
			go func() { errc <- Run(ctx, &cfg) }()

			// While it runs, the scan sees the processes: it would see them
			// after Run too if they survived.
			var ns string
			for ns == "" && time.Since(start) < 10*time.Second {
				time.Sleep(10 * time.Millisecond)
				ns = field(out.String(), "pidns")
			}
			if n := len(pidsInNamespace(t, ns)); n < 3 {
				t.Errorf("%d processes in the sandbox (%q) while it runs, want init, probe and daemon", n, ns)
			}
			if tt.cancel {
				cancel()
			}
			err := <-errc
			if !errors.Is(err, tt.want) {
				t.Errorf("Run: got %v, want %v", err, tt.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Run returned after %v", d)
			}
			if pids := pidsInNamespace(t, ns); len(pids) > 0 {
				t.Errorf("processes %v of the sandbox still run after Run returned", pids)
			}
		})
	}
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		args []string
		want error
	}{
		{[]string{"exit", "0"}, nil},
		{[]string{"exit", "7"}, &ExitError{Code: 7}},
		{[]string{"exit", "255"}, &ExitError{Code: 255}},
		{[]string{"kill", "15"}, &ExitError{Code: 143, Signal: syscall.SIGTERM}},
		{[]string{"kill", "9"}, &ExitError{Code: 137, Signal: syscall.SIGKILL}},
	}
	f := newFixture(t, AssembleAuto)
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, err := f.run(t, tt.args...)
			var got *ExitError
			if err != nil && !errors.As(err, &got) {
				t.Fatalf("Run: %v, want an ExitError", err)
			}
			if tt.want == nil && got != nil || tt.want != nil && (got == nil || *got != *tt.want.(*ExitError)) {
				t.Errorf("Run: got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestExtraFiles(t *testing.T) {
	// An fd without close-on-exec, as hdo may inherit from make: the build
	// must not get it, whether the spawner or the init drops it.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	leak, err := syscall.Dup(int(r.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(leak)

	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			f := newFixture(t, AssembleAuto)
			f.cfg.noSpawner = direct
			var reads []*os.File
			for range 2 {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				defer w.Close()
				reads = append(reads, r)
				f.cfg.ExtraFiles = append(f.cfg.ExtraFiles, w)
			}
			got := f.mustRun(t, "fds", "+", "writefd", "3", "three", "+", "writefd", "4", "four")
			want := "fds: 0 1 2 3 4\nwritefd 3 three: ok\nwritefd 4 four: ok\n"
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
			for i, want := range []string{"three", "four"} {
				f.cfg.ExtraFiles[i].Close()
				b, err := io.ReadAll(reads[i])
				if err != nil || string(b) != want {
					t.Errorf("fd %d: read %q, %v; want %q", 3+i, b, err, want)
				}
			}
		})
	}
}

func TestStdin(t *testing.T) {
	f := newFixture(t, AssembleAuto)
	f.cfg.Stdin = strings.NewReader("hello")
	if got, want := f.mustRun(t, "read", "/dev/stdin", "+", "write", "/dev/stdout", "+", "write", "/dev/stderr"), "read /dev/stdin: \"hello\"\n\x00write /dev/stdout: ok\n\x00write /dev/stderr: ok\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTmpSize(t *testing.T) {
	f := newFixture(t, AssembleAuto)
	f.cfg.TmpSize = 1 << 20
	got := f.mustRun(t, "write", "/tmp/small", "500000", "+", "write", "/tmp/big", "2000000", "+", "write", "/dev/shm/small", "500000", "+", "write", "/dev/shm/big", "2000000")
	want := "write /tmp/small 500000: ok\nwrite /tmp/big 2000000: ENOSPC\nwrite /dev/shm/small 500000: ok\nwrite /dev/shm/big 2000000: ENOSPC\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
}

func TestNoPrivileges(t *testing.T) {
	forModes(t, func(t *testing.T, mode Assembly) {
		f := newFixture(t, mode)
		got := f.mustRun(t, "mount", "/tmp", "+", "sethostname", "evil", "+", "ptrace", "1", "+", "hostname")
		want := "mount /tmp: EPERM\nsethostname evil: EPERM\nptrace 1: EPERM\nhostname: build\n"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("diff (-want +got):\n%s", diff)
		}
	})
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"missing layer", func(c *Config) { c.Layers = append(c.Layers, Layer{Name: "pkg/gone", Dir: "/nonexistent/layer"}) }, "layer pkg/gone: stat /nonexistent/layer: no such file or directory"},
		{"command not found", func(c *Config) { c.Args = []string{"nosuch"} }, `start nosuch: not found in the build's PATH "/bin:/usr/bin"`},
		{"relative layer", func(c *Config) { c.Layers = []Layer{{Name: "pkg/rel", Dir: "rel"}} }, `layer pkg/rel: directory "rel" is not absolute`},
		{"no command", func(c *Config) { c.Args = nil }, "no command"},
		{"missing work", func(c *Config) { c.Work = "/nonexistent/work" }, "work directory: stat /nonexistent/work: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, AssembleAuto)
			cfg := f.cfg
			cfg.Args = []string{"/bin/true"}
			tt.change(&cfg)
			err := Run(context.Background(), &cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run: got %v, want an error containing %q", err, tt.want)
			}
			var exit *ExitError
			if errors.As(err, &exit) {
				t.Errorf("Run: got an ExitError for a sandbox that could not start")
			}
		})
	}
}

// TestMainNotCalled checks Run refuses to start when Main did not run: the
// re-executed binary would run as the program itself.
func TestMainNotCalled(t *testing.T) {
	f := newFixture(t, AssembleAuto)
	mainCalled.Store(false)
	defer mainCalled.Store(true)
	_, _, err := f.run(t, "id")
	if err == nil || !strings.Contains(err.Error(), "call sandbox.Main first thing in main") {
		t.Errorf("Run: got %v, want an error saying to call Main", err)
	}
}
