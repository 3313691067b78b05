// Command probe is the program the sandbox tests run inside the sandbox.
// It runs the commands given as arguments, separated by "+", and prints
// one line "command: result" for each, an errno name for a failed system
// call:
//
//	probe id + write /etc/x + dial 127.0.0.1:80
//	id: uid=1000 gid=1000
//	write /etc/x: EROFS
//	dial 127.0.0.1:80: ECONNREFUSED
//
// "nested A + B ++" runs A and B in namespaces of their own (see run).
//
// Run as "true" it exits 0 at once.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if filepath.Base(os.Args[0]) == "true" {
		os.Exit(0)
	}
	var cmd []string
	nested := false
	for _, a := range append(os.Args[1:], "+") {
		switch {
		case len(cmd) == 0 && a == "nested":
			nested = true
		case nested && a == "++":
			nested = false
			continue
		}
		if a != "+" || nested {
			cmd = append(cmd, a)
			continue
		}
		if len(cmd) > 0 {
			fmt.Printf("%s: %s\n", strings.Join(cmd, " "), run(cmd[0], cmd[1:]))
		}
		cmd = nil
	}
}

func run(name string, args []string) string {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch name {
	case "id":
		return fmt.Sprintf("uid=%d gid=%d", os.Getuid(), os.Getgid())
	case "user":
		return user(os.Getuid())
	case "cwd":
		d, err := os.Getwd()
		return result(d, err)
	case "hostname":
		h, err := os.Hostname()
		return result(h, err)
	case "env":
		b, _ := json.Marshal(os.Environ())
		return string(b)
	case "caps":
		return status("CapEff")
	case "stat":
		_, err := os.Lstat(arg(0))
		return result("ok", err)
	case "read":
		b, err := os.ReadFile(arg(0))
		return result(strconv.Quote(string(b)), err)
	case "write":
		size := 1
		if arg(1) != "" {
			size, _ = strconv.Atoi(arg(1))
		}
		return result("ok", os.WriteFile(arg(0), make([]byte, size), 0o644))
	case "readsize":
		// readsize FILE: how many bytes FILE gives (root-only /proc files
		// masked with /dev/null give none).
		b, err := os.ReadFile(arg(0))
		return result(strconv.Itoa(len(b)), err)
	case "keysearch":
		// keysearch DESC: a user key DESC reachable from the session keyring.
		id, err := unix.KeyctlSearch(unix.KEY_SPEC_SESSION_KEYRING, "user", arg(0), 0)
		return result(strconv.Itoa(id), err)
	case "ls":
		des, err := os.ReadDir(arg(0))
		var names []string
		for _, de := range des {
			names = append(names, de.Name())
		}
		return result(strings.Join(names, " "), err)
	case "dial":
		c, err := net.DialTimeout("tcp", arg(0), 2*time.Second)
		if err == nil {
			c.Close()
		}
		return result("ok", err)
	case "netifs":
		ifs, err := net.Interfaces()
		var names []string
		for _, i := range ifs {
			names = append(names, i.Name)
		}
		return result(strings.Join(names, " "), err)
	case "mount":
		return result("ok", syscall.Mount("none", arg(0), "tmpfs", 0, ""))
	case "mountsysfs":
		// mountsysfs DIR: the host's devices and kernel objects.
		os.MkdirAll(arg(0), 0o755)
		return result("ok", syscall.Mount("sysfs", arg(0), "sysfs", 0, ""))
	case "cgroups":
		// cgroups: the distinct paths /proc/self/cgroup gives, in all
		// hierarchies.
		b, err := os.ReadFile("/proc/self/cgroup")
		if err != nil {
			return result("", err)
		}
		seen := map[string]bool{}
		var paths []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if p := l[strings.LastIndexByte(l, ':')+1:]; !seen[p] {
				seen[p] = true
				paths = append(paths, p)
			}
		}
		return strings.Join(paths, " ")
	case "mountcg2":
		// mountcg2 DIR: the cgroup2 hierarchy as this cgroup namespace
		// shows it.
		os.MkdirAll(arg(0), 0o755)
		return result("ok", syscall.Mount("none", arg(0), "cgroup2", 0, ""))
	case "mountcg1":
		// mountcg1 CONTROLLER DIR: a cgroup v1 hierarchy.
		os.MkdirAll(arg(1), 0o755)
		return result("ok", syscall.Mount("none", arg(1), "cgroup", 0, arg(0)))
	case "cgkill":
		// cgkill DIR NAME: kill every process of the cgroup NAME found
		// under DIR, a mounted cgroup2.
		var found string
		filepath.WalkDir(arg(0), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && d.Name() == arg(1) {
				found = p
				return filepath.SkipAll
			}
			return nil
		})
		if found == "" {
			return "not found"
		}
		return result("ok", os.WriteFile(filepath.Join(found, "cgroup.kill"), []byte("1"), 0))
	case "mountproc":
		// A fresh proc, without the read-only parts of the sandbox's.
		os.MkdirAll(arg(0), 0o755)
		return result("ok", syscall.Mount("proc", arg(0), "proc", 0, ""))
	case "umount":
		return result("ok", syscall.Unmount(arg(0), syscall.MNT_DETACH))
	case "remountrw":
		return result("ok", syscall.Mount("", arg(0), "", syscall.MS_REMOUNT|syscall.MS_BIND, ""))
	case "sethostname":
		return result("ok", syscall.Sethostname([]byte(arg(0))))
	case "ptrace":
		pid, _ := strconv.Atoi(arg(0))
		return result("ok", syscall.PtraceAttach(pid))
	case "signal":
		// Send a signal to a process, e.g. one of the host's by its pid.
		pid, _ := strconv.Atoi(arg(0))
		n, _ := strconv.Atoi(arg(1))
		return result("ok", syscall.Kill(pid, syscall.Signal(n)))
	case "openw":
		// Open for writing and close without writing a byte: whether a
		// write would be allowed, without its effect.
		f, err := os.OpenFile(arg(0), os.O_WRONLY, 0)
		if err == nil {
			f.Close()
		}
		return result("ok", err)
	case "rewrite":
		// Write a file's own content back: whether writes are allowed,
		// without changing anything (e.g. a host sysctl).
		b, err := os.ReadFile(arg(0))
		if err != nil {
			return result("", err)
		}
		f, err := os.OpenFile(arg(0), os.O_WRONLY, 0)
		if err != nil {
			return result("", err)
		}
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return result("ok", err)
	case "readlink":
		l, err := os.Readlink(arg(0))
		return result(l, err)
	case "statfs":
		var st unix.Statfs_t
		err := unix.Statfs(arg(0), &st)
		return result(strconv.FormatUint(st.Blocks*uint64(st.Bsize), 10), err)
	case "unix":
		// Connect to a unix socket, e.g. an abstract one ("@name") of the host.
		c, err := net.Dial("unix", arg(0))
		if err == nil {
			c.Close()
		}
		return result("ok", err)
	case "udp":
		c, err := net.Dial("udp", arg(0))
		if err == nil {
			_, err = c.Write([]byte("probe"))
			c.Close()
		}
		return result("ok", err)
	case "rawsock":
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP)
		if err == nil {
			unix.Close(fd)
		}
		return result("ok", err)
	case "packetsock":
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		if err == nil {
			unix.Close(fd)
		}
		return result("ok", err)
	case "mknod":
		return result("ok", unix.Mknod(arg(0), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	case "setns":
		f, err := os.Open(arg(0))
		if err != nil {
			return result("", err)
		}
		defer f.Close()
		return result("ok", unix.Setns(int(f.Fd()), 0))
	case "chroot":
		return result("ok", syscall.Chroot(arg(0)))
	case "nested":
		// Run the rest of the arguments (up to "++") as a probe in new
		// user, uts, mount, network, pid and cgroup namespaces, where this process
		// holds every capability: what it does there must not reach
		// the host.
		c := exec.Command("/proc/self/exe", args...)
		c.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWUTS | syscall.CLONE_NEWNS | syscall.CLONE_NEWNET | syscall.CLONE_NEWPID | syscall.CLONE_NEWCGROUP,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		}
		out, err := c.Output()
		if err != nil {
			return result("", err)
		}
		return strings.Join(strings.Split(strings.TrimSpace(string(out)), "\n"), "; ")
	case "fds":
		var fds []string
		for fd := range 1024 {
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
				fds = append(fds, strconv.Itoa(fd))
			}
		}
		return strings.Join(fds, " ")
	case "writefd":
		fd, _ := strconv.Atoi(arg(0))
		_, err := syscall.Write(fd, []byte(arg(1)))
		return result("ok", err)
	case "exit":
		n, _ := strconv.Atoi(arg(0))
		os.Exit(n)
	case "kill":
		n, _ := strconv.Atoi(arg(0))
		syscall.Kill(os.Getpid(), syscall.Signal(n))
		time.Sleep(time.Second)
		return "still alive"
	case "sleep":
		d, err := time.ParseDuration(arg(0))
		time.Sleep(d)
		return result("ok", err)
	case "forks":
		// forks N: start N processes that wait for stdin to close; how
		// many started.
		var cs []*exec.Cmd
		n, _ := strconv.Atoi(arg(0))
		var err error
		for range n {
			c := exec.Command("/proc/self/exe", "sleep", "1m")
			if err = c.Start(); err != nil {
				break
			}
			cs = append(cs, c)
		}
		for _, c := range cs {
			c.Process.Kill()
			c.Wait()
		}
		if err != nil {
			return fmt.Sprintf("%d, then %s", len(cs), result("", err))
		}
		return strconv.Itoa(len(cs))
	case "alloc":
		// alloc MB: touch MB MiB of memory.
		n, _ := strconv.Atoi(arg(0))
		b := make([]byte, n<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		return "ok"
	case "pidns":
		l, err := os.Readlink("/proc/self/ns/pid")
		return result(l, err)
	case "spawn":
		// A daemon in a session of its own, left running on exit.
		c := exec.Command("/proc/self/exe", "beat", arg(0))
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := c.Start(); err != nil {
			return result("", err)
		}
		for range 500 {
			if fi, err := os.Stat(arg(0) + "/beat"); err == nil && fi.Size() > 0 {
				return "ok"
			}
			time.Sleep(10 * time.Millisecond)
		}
		return "the daemon never started"
	case "beat":
		// Appends a byte to DIR/beat every 10 ms, forever.
		f, err := os.OpenFile(arg(0)+"/beat", os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return result("", err)
		}
		for {
			f.Write([]byte{'.'})
			time.Sleep(10 * time.Millisecond)
		}
	case "orphan":
		// A child that starts a grandchild and exits: the grandchild,
		// orphaned, exits 50 ms later and must be reaped by the init.
		c := exec.Command("/proc/self/exe", "daemonize")
		return result("ok", c.Run())
	case "daemonize":
		c := exec.Command("/proc/self/exe", "sleep", "50ms")
		return result("ok", c.Start())
	case "zombies":
		var zombies []string
		des, _ := os.ReadDir("/proc")
		for _, de := range des {
			b, err := os.ReadFile("/proc/" + de.Name() + "/stat")
			if err != nil {
				continue
			}
			// pid (comm) state ...
			if i := strings.LastIndexByte(string(b), ')'); i > 0 && strings.HasPrefix(string(b[i+1:]), " Z") {
				zombies = append(zombies, de.Name())
			}
		}
		if len(zombies) == 0 {
			return "none"
		}
		return strings.Join(zombies, " ")
	case "sti":
		// sti TEXT: push TEXT into the input of the terminal on stdin,
		// as if typed there.
		for _, c := range []byte(arg(0) + "\n") {
			if err := unix.IoctlSetPointerInt(0, unix.TIOCSTI, int(c)); err != nil {
				return result("", err)
			}
		}
		return "ok"
	case "ttyname":
		// ttyname: the terminal on stdin by name, as ttyname(3) finds it.
		name, err := os.Readlink("/proc/self/fd/0")
		if err != nil {
			return result("", err)
		}
		var a, b unix.Stat_t
		if err := unix.Fstat(0, &a); err != nil {
			return result("", err)
		}
		if err := unix.Stat(name, &b); err != nil || a.Rdev != b.Rdev {
			return "not a terminal in /dev: " + name
		}
		return name
	case "foreground":
		// What a job-control shell does with its terminal on stdin.
		signal.Ignore(syscall.SIGTTOU)
		if sid, _ := unix.Getsid(0); sid != os.Getpid() { // a session leader leads its group
			if err := syscall.Setpgid(0, 0); err != nil {
				return result("", err)
			}
		}
		return result("ok", unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, syscall.Getpgrp()))
	}
	return "unknown command"
}

// result is ok, or the errno name (else the text) of err.
func result(ok string, err error) string {
	if err == nil {
		return ok
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

// user is the name /etc/passwd gives uid.
func user(uid int) string {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return result("", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Split(s.Text(), ":")
		if len(fields) > 2 && fields[2] == strconv.Itoa(uid) {
			return fields[0]
		}
	}
	return "no such user"
}

// status is a field of /proc/self/status.
func status(field string) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return result("", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "no " + field
}
