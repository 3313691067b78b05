package sandbox

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// An escape attempt: a probe command and the results it may get. The
// probe runs as the build does; "nested" commands run in user, uts, mount,
// network and pid namespaces the build makes for itself, where it holds
// every capability (of those namespaces).
type attempt struct {
	args []string // one probe command, e.g. {"ptrace", "1234"}
	want []string // acceptable results, e.g. {"ESRCH"}
}

// TestEscapes tries what a hostile build would try to reach the host, on
// top of what the other tests cover (host files, writes to the root,
// loopback, privileges, processes left behind): the host's processes, the
// init's /proc entries, host-wide sysctls (which the kernel lets a build
// of root's write unless /proc/sys is read-only), the hostname and mounts
// through namespaces of its own, other networks and sockets, devices.
func TestEscapes(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	mounts := readFile(t, "/proc/1/mountinfo")
	abstract := fmt.Sprintf("@hdo-sandbox-escape-%d", os.Getpid())
	ln, err := net.Listen("unix", abstract)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	self := strconv.Itoa(os.Getpid())
	// A secret in hdo's session keyring (often the user's session
	// keyring, shared by all their processes) must not reach a build.
	keyName := fmt.Sprintf("hdo-sandbox-escape-%d", os.Getpid())
	keyring := []attempt{{[]string{"keysearch", keyName}, []string{"ENOKEY"}}}
	if keyID, err := unix.AddKey("user", keyName, []byte("secret"), unix.KEY_SPEC_SESSION_KEYRING); err != nil {
		// Run as another user by TestUnprivileged, the session keyring
		// is root's: nothing to put a secret in.
		t.Logf("no key in the session keyring (%v): the keyring attempt only checks a build has a keyring of its own", err)
		keyring = []attempt{{[]string{"keysearch", keyName}, []string{"ENOKEY", "EACCES"}}}
	} else {
		defer unix.KeyctlInt(unix.KEYCTL_UNLINK, keyID, unix.KEY_SPEC_SESSION_KEYRING, 0, 0)
		if _, err := unix.KeyctlSearch(unix.KEY_SPEC_SESSION_KEYRING, "user", keyName, 0); err != nil {
			t.Fatalf("the test's own key is not found: %v", err)
		}
	}
	denied := []string{"EACCES", "EPERM", "EROFS", "ENOENT"}

	groups := []struct {
		name     string
		attempts []attempt
	}{
		{"host processes", []attempt{
			{[]string{"signal", self, "0"}, []string{"ESRCH"}},
			{[]string{"ptrace", self}, []string{"ESRCH"}},
			{[]string{"read", "/proc/" + self + "/environ"}, []string{"ENOENT"}},
		}},
		{"the init's /proc", []attempt{
			{[]string{"readlink", "/proc/1/root"}, []string{"EACCES"}},
			{[]string{"readlink", "/proc/1/cwd"}, []string{"EACCES"}},
			{[]string{"readlink", "/proc/1/fd/0"}, []string{"EACCES"}},
			{[]string{"read", "/proc/1/environ"}, []string{"EACCES"}},
			{[]string{"openw", "/proc/1/mem"}, []string{"EACCES"}},
			{[]string{"setns", "/proc/1/ns/mnt"}, []string{"EACCES", "EPERM"}},
			{[]string{"nested", "ls", "/proc/1/root"}, []string{"ls /proc/1/root: EACCES"}},
		}},
		{"host-wide kernel settings", []attempt{
			{[]string{"rewrite", "/proc/sys/kernel/core_pattern"}, []string{"EROFS", "EACCES"}},
			{[]string{"rewrite", "/proc/sys/kernel/randomize_va_space"}, []string{"EROFS", "EACCES"}},
			{[]string{"openw", "/proc/sysrq-trigger"}, denied},
			{[]string{"rewrite", "/proc/sys/kernel/hostname"}, []string{"EROFS", "EACCES"}},
			// Its own namespaces do not lift the read-only mounts, nor
			// let it mount a proc without them.
			{[]string{"nested", "umount", "/proc/sys", "+", "remountrw", "/proc/sys", "+", "mountproc", "/tmp/proc", "+", "rewrite", "/proc/sys/kernel/core_pattern"},
				[]string{
					"umount /proc/sys: EINVAL; remountrw /proc/sys: EPERM; mountproc /tmp/proc: EPERM; rewrite /proc/sys/kernel/core_pattern: EROFS",
					"umount /proc/sys: EINVAL; remountrw /proc/sys: EPERM; mountproc /tmp/proc: EPERM; rewrite /proc/sys/kernel/core_pattern: EACCES", // not root
				}},
		}},
		{"hostname", []attempt{
			{[]string{"sethostname", "evil"}, []string{"EPERM"}},
			{[]string{"nested", "sethostname", "evil", "+", "hostname"}, []string{"sethostname evil: ok; hostname: evil"}},
			{[]string{"hostname"}, []string{"build"}},
		}},
		{"mounts", []attempt{
			{[]string{"mount", "/tmp"}, []string{"EPERM"}},
			{[]string{"chroot", "/tmp"}, []string{"EPERM"}},
			{[]string{"nested", "umount", "/home/build", "+", "mount", "/tmp", "+", "chroot", "/tmp"}, []string{"umount /home/build: EINVAL; mount /tmp: ok; chroot /tmp: ok"}},
		}},
		{"networks", []attempt{
			// Only loopback: checked before anything is sent.
			{[]string{"netifs"}, []string{"lo"}},
			{[]string{"unix", abstract}, []string{"ECONNREFUSED"}},
			{[]string{"udp", "192.0.2.1:9"}, []string{"ENETUNREACH"}},
			{[]string{"udp", "[2001:db8::1]:9"}, []string{"ENETUNREACH", "EADDRNOTAVAIL", "EAFNOSUPPORT"}},
			{[]string{"rawsock"}, []string{"EPERM"}},
			{[]string{"packetsock"}, []string{"EPERM"}},
			{[]string{"nested", "netifs"}, []string{"netifs: lo"}},
		}},
		{"root-only /proc files", []attempt{
			// Masked with /dev/null (empty) for root; unreadable anyway
			// for a normal user; absent in some kernels.
			{[]string{"readsize", "/proc/kpageflags"}, []string{"0", "EACCES", "ENOENT"}},
			{[]string{"readsize", "/proc/kpagecount"}, []string{"0", "EACCES", "ENOENT"}},
			{[]string{"readsize", "/proc/slabinfo"}, []string{"0", "EACCES", "ENOENT"}},
			{[]string{"readsize", "/proc/pagetypeinfo"}, []string{"0", "EACCES", "ENOENT"}},
			{[]string{"readsize", "/proc/vmallocinfo"}, []string{"0", "EACCES", "ENOENT"}},
			{[]string{"readsize", "/proc/timer_list"}, []string{"0", "EACCES", "ENOENT"}},
			{[]string{"readsize", "/proc/keys"}, []string{"0", "ENOENT"}},
			{[]string{"ls", "/proc/acpi"}, []string{"", "ENOENT"}},
			{[]string{"nested", "umount", "/proc/kpageflags", "+", "readsize", "/proc/kpageflags"}, []string{
				"umount /proc/kpageflags: EINVAL; readsize /proc/kpageflags: 0",
				"umount /proc/kpageflags: EINVAL; readsize /proc/kpageflags: EACCES",
				"umount /proc/kpageflags: ENOENT; readsize /proc/kpageflags: ENOENT",
			}},
		}},
		{"session keyring", keyring},
		{"sysfs", []attempt{
			// No /sys, and none to be had: a sysfs belongs to the
			// network namespace's owner, the init's.
			{[]string{"stat", "/sys/kernel"}, []string{"ENOENT"}},
			{[]string{"mountsysfs", "/tmp/sys"}, []string{"EPERM"}},
			{[]string{"nested", "mountsysfs", "/tmp/sys", "+", "ls", "/tmp/sys/class/net"}, []string{"mountsysfs /tmp/sys: EPERM; ls /tmp/sys/class/net: ENOENT"}},
		}},
		{"cgroups", []attempt{
			// Its cgroup namespace shows it its own cgroup at most (see
			// TestCgroupEscape for the attack on a host cgroup).
			{[]string{"cgroups"}, []string{"/"}},
		}},
		{"devices", []attempt{
			{[]string{"mknod", "/tmp/null"}, []string{"EPERM"}},
			{[]string{"mknod", "/dev/null2"}, []string{"EPERM", "EROFS"}},
			{[]string{"nested", "mknod", "/tmp/null"}, []string{"mknod /tmp/null: EPERM"}},
		}},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			f := newFixture(t, AssembleAuto)
			var args []string
			for i, a := range g.attempts {
				if i > 0 {
					args = append(args, "+")
				}
				args = append(args, a.args...)
				if a.args[0] == "nested" {
					args = append(args, "++")
				}
			}
			out := f.mustRun(t, args...)
			for _, a := range g.attempts {
				cmd := strings.Join(a.args, " ")
				got, ok := probeResult(out, cmd)
				if !ok {
					t.Errorf("%s: no result in the probe's output:\n%s", cmd, out)
					continue
				}
				if !contains(a.want, got) {
					t.Errorf("%s: got %s, want %s", cmd, got, strings.Join(a.want, " or "))
				}
			}
		})
	}
	if h, _ := os.Hostname(); h != host {
		t.Errorf("the host's hostname changed from %s to %s", host, h)
	}
	if after := readFile(t, "/proc/1/mountinfo"); after != mounts {
		t.Errorf("the host's mounts changed:\nbefore:\n%s\nafter:\n%s", mounts, after)
	}
}

// probeResult returns what the probe printed for the command cmd.
func probeResult(out, cmd string) (string, bool) {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, cmd+": "); ok {
			return v, true
		}
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
