package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestHierarchies(t *testing.T) {
	tests := []struct {
		name, mountinfo, self string
		want                  []hierarchy
	}{
		{
			name: "hybrid",
			mountinfo: `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 31 0:34 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:36 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`,
			self: "8:pids:/\n4:memory:/a/b\n0::/\n",
			want: []hierarchy{
				{controllers: []string{"pids"}, dir: "/sys/fs/cgroup/pids"},
				{controllers: []string{"memory"}, dir: "/sys/fs/cgroup/memory/a/b"},
				{v2: true, dir: "/sys/fs/cgroup/unified"},
			},
		},
		{
			name:      "v2 in a container, a space in the mount point",
			mountinfo: "40 31 0:36 /user.slice /sys/fs/my\\040cg ro - cgroup2 cgroup2 rw\n",
			self:      "0::/user.slice/u.scope\n",
			want:      []hierarchy{{v2: true, dir: "/sys/fs/my cg/u.scope"}},
		},
		{
			name:      "cgroup outside the mount",
			mountinfo: "40 31 0:36 /other /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n",
			self:      "0::/user.slice\n",
		},
	}
	old := cgroupFS
	defer func() { cgroupFS = old }()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cgroupFS.mountinfo, cgroupFS.self = filepath.Join(dir, "mountinfo"), filepath.Join(dir, "cgroup")
			os.WriteFile(cgroupFS.mountinfo, []byte(tt.mountinfo), 0o644)
			os.WriteFile(cgroupFS.self, []byte(tt.self), 0o644)
			got, err := hierarchies()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i].v2 != tt.want[i].v2 || got[i].dir != tt.want[i].dir || strings.Join(got[i].controllers, ",") != strings.Join(tt.want[i].controllers, ",") {
					t.Errorf("%d: got %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// ownV2Cgroup is the test's cgroup in the v2 hierarchy, when it may create
// cgroups there.
func ownV2Cgroup(t *testing.T) string {
	hs, err := hierarchies()
	if err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	for _, h := range hs {
		if h.v2 {
			probe := filepath.Join(h.dir, "hdo-test-probe-"+strconv.Itoa(os.Getpid()))
			if err := os.Mkdir(probe, 0o755); err != nil {
				t.Skipf("cannot create cgroups in %s: %v", h.dir, err)
			}
			os.Remove(probe)
			return h.dir
		}
	}
	t.Skip("no cgroup v2 hierarchy")
	return ""
}

// TestCgroupEscape is the red team's attack: a build of root's made user,
// mount and cgroup namespaces of its own, mounted cgroup2 and killed a
// host cgroup through its cgroup.kill; and it could write the limits of
// hdo's own v1 memory cgroup. The build's cgroup namespace shows it
// nothing above its own cgroup, and as nobody it owns none of root's
// cgroup files.
func TestCgroupEscape(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: a normal user's build owns no host cgroup file")
	}
	dir := ownV2Cgroup(t)
	victim := "hdo-test-victim-" + strconv.Itoa(os.Getpid())
	vdir := filepath.Join(dir, victim)
	if err := os.Mkdir(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		sleep.Wait()
		close(exited)
	}()
	defer func() {
		sleep.Process.Kill()
		<-exited
		for range 100 {
			if err := os.Remove(vdir); err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if err := os.WriteFile(filepath.Join(vdir, "cgroup.procs"), []byte(strconv.Itoa(sleep.Process.Pid)), 0); err != nil {
		t.Fatal(err)
	}

	f := newFixture(t, AssembleAuto)
	out := f.mustRun(t, "nested", "mountcg2", "/tmp/cg", "+", "cgkill", "/tmp/cg", victim, "+",
		"mountcg1", "memory", "/tmp/m", "+", "openw", "/tmp/m/memory.limit_in_bytes", "++")
	t.Logf("probe: %s", out)
	select {
	case <-exited:
		t.Errorf("the build killed a host process through its cgroup")
	case <-time.After(100 * time.Millisecond):
	}
	if strings.Contains(out, "cgkill /tmp/cg "+victim+": ok") {
		t.Errorf("the build wrote a host cgroup's cgroup.kill: %s", out)
	}
	if strings.Contains(out, "openw /tmp/m/memory.limit_in_bytes: ok") {
		t.Errorf("the build may write a v1 memory limit: %s", out)
	}
}

// TestCgroupLimits checks a build runs in a cgroup of its own that bounds
// its processes and memory, killed and removed at the end; or, where the
// host gives hdo no cgroup, that asking for limits fails in one clear
// line.
func TestCgroupLimits(t *testing.T) {
	f := newFixture(t, AssembleAuto)
	f.cfg.PidsMax = 20
	cg, err := newBuildCgroup(0, 20)
	if err != nil {
		t.Fatal(err)
	}
	enforced := len(cg.unenforced) == 0
	cg.remove()
	if !enforced {
		out, _, err := f.run(t, "forks", "40")
		if err == nil || !strings.Contains(err.Error(), "cannot limit the build's pids: this host gives hdo no cgroup of its own") {
			t.Fatalf("got %v, want an error saying the limit cannot be applied\n%s", err, out)
		}
		f.cfg.LimitsBestEffort = true
		if out := f.mustRun(t, "forks", "40"); out != "forks 40: 40\n" {
			t.Errorf("best effort: got %q", out)
		}
		return
	}
	out := f.mustRun(t, "forks", "40")
	if !strings.Contains(out, ", then EAGAIN") {
		t.Errorf("40 processes under PidsMax 20: got %q, want a fork to fail with EAGAIN", out)
	}
	f.cfg.PidsMax = 0
	f.cfg.MemoryMax = 64 << 20
	out, _, err = f.run(t, "alloc", "256")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Signal != syscall.SIGKILL {
		t.Errorf("256 MiB under MemoryMax 64 MiB: got %v, want the build killed\n%s", err, out)
	}
	if out := f.mustRun(t, "alloc", "16"); out != "alloc 16: ok\n" {
		t.Errorf("16 MiB under MemoryMax 64 MiB: %q", out)
	}
	hs, _ := hierarchies()
	for _, h := range hs {
		left, _ := filepath.Glob(filepath.Join(h.dir, "hdo-build-"+strconv.Itoa(os.Getpid())+"-*"))
		if len(left) > 0 {
			t.Errorf("cgroups left after the builds: %v", left)
		}
	}
}
