package hostroot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hdo-build/hdo/internal/overlay"
)

// The child is this binary re-executed with argv[0] childArg0 and its
// childConfig, as JSON, in configEnv (removed before the command runs).
const (
	childArg0 = "hdo-hostroot"
	configEnv = "HDO_HOSTROOT"
	// oldRootName is where the child keeps the host's root while it
	// builds the new one; the command never sees it.
	oldRootName = ".hdo-oldroot"
)

type childConfig struct {
	Plan Plan
	Args []string
	Dir  string
	Name string
}

// Main makes the new root and execs the command if this process is the
// child Run started; otherwise it returns at once. Call it first thing in
// main and in TestMain.
func Main() {
	if len(os.Args) == 0 || os.Args[0] != childArg0 {
		return
	}
	data, ok := os.LookupEnv(configEnv)
	if !ok {
		return
	}
	os.Exit(child(data))
}

// forwarded are the signals Run passes on to the command.
var forwarded = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGUSR2}

// Run runs cmd with the host's root changed as plan says and returns its
// exit status (128+n if a signal n killed it; ExitSetup, ExitNotFound or
// ExitNotRunnable, with a message on cmd.Stderr, if it never ran). The
// error is for failures to start at all.
//
// While the command runs, Run takes over the signals in forwarded (a
// Ctrl-C context of the caller no longer sees them) and passes them on,
// except a SIGINT or SIGQUIT typed at the terminal, which the command,
// in the caller's process group, gets anyway. A done ctx sends it
// SIGTERM. Afterwards those signals have their default action.
func Run(ctx context.Context, plan Plan, c Command) (int, error) {
	if err := plan.validate(); err != nil {
		return 0, err
	}
	if len(c.Args) == 0 || c.Args[0] == "" {
		return 0, errors.New("hostroot: no command")
	}
	if c.Name == "" {
		c.Name = "hostroot"
	}
	if c.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return 0, fmt.Errorf("hostroot: %w", err)
		}
		c.Dir = wd
	}
	data, err := json.Marshal(childConfig{Plan: plan, Args: c.Args, Dir: c.Dir, Name: c.Name})
	if err != nil {
		return 0, fmt.Errorf("hostroot: %w", err)
	}
	env := append(slices.Clip(c.Env), configEnv+"="+string(data))
	or := func(f, def *os.File) *os.File {
		if f != nil {
			return f
		}
		return def
	}
	newCmd := func(userns bool) *exec.Cmd {
		return &exec.Cmd{
			Path:        "/proc/self/exe",
			Args:        []string{childArg0},
			Env:         env,
			Dir:         "/",
			Stdin:       or(c.Stdin, os.Stdin),
			Stdout:      or(c.Stdout, os.Stdout),
			Stderr:      or(c.Stderr, os.Stderr),
			ExtraFiles:  c.ExtraFiles,
			SysProcAttr: sysProcAttr(userns),
		}
	}

	sigs := make(chan os.Signal, 16)
	signal.Ignore(forwarded...) // drops the caller's handlers of these signals
	signal.Notify(sigs, forwarded...)
	defer func() {
		signal.Stop(sigs)
		signal.Reset(forwarded...)
	}()

	// Root needs no user namespace to get a mount namespace, and keeps its
	// real privileges (and the real owners of files) without one; where
	// even root may not unshare (a container without CAP_SYS_ADMIN), a
	// user namespace still works.
	root := os.Getuid() == 0
	cmd := newCmd(!root)
	err = cmd.Start()
	if err != nil && root && errors.Is(err, syscall.EPERM) {
		cmd = newCmd(true)
		err = cmd.Start()
	}
	if err != nil {
		return 0, fmt.Errorf("%s: start in new namespaces: %w (user namespaces may be disabled: see /proc/sys/kernel/unprivileged_userns_clone and /proc/sys/user/max_user_namespaces)", c.Name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ctxDone := ctx.Done()
	for {
		select {
		case s := <-sigs:
			if (s == syscall.SIGINT || s == syscall.SIGQUIT) && terminalForeground() {
				continue
			}
			cmd.Process.Signal(s)
		case <-ctxDone:
			cmd.Process.Signal(syscall.SIGTERM)
			ctxDone = nil
		case err := <-done:
			if st, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
				if st.Signaled() {
					return 128 + int(st.Signal()), nil
				}
				return st.ExitStatus(), nil
			}
			return 0, err
		}
	}
}

// sysProcAttr puts the child in a new mount namespace, and with userns in
// a new user namespace where the caller's uid and gid are themselves.
func sysProcAttr(userns bool) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}
	if userns {
		uid, gid := os.Getuid(), os.Getgid()
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
		attr.GidMappingsEnableSetgroups = false
		// Mounting needs CAP_SYS_ADMIN in the new namespace, which a uid
		// other than 0 loses on exec unless it is ambient; the child drops
		// it again before it becomes the command.
		attr.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN}
	}
	return attr
}

// terminalForeground reports whether this process's group is the
// foreground group of its controlling terminal: then a SIGINT typed there
// reached the command too.
func terminalForeground() bool {
	fd, err := unix.Open("/dev/tty", unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}

// maxInherited bounds the fd numbers InheritedFiles passes on.
const maxInherited = 4096

// InheritedFiles returns the file descriptors above 2 this process
// inherited (those without close-on-exec, which Go sets on all of its
// own), placed for Command.ExtraFiles so each keeps its number: a make
// jobserver's pipe, say. They are looked up once per process and the
// *os.File values kept for good: a dropped one's finalizer would close
// the descriptor, which a later call (or anything that reused the
// number) still needs.
func InheritedFiles() []*os.File { return inheritedFiles() }

var inheritedFiles = sync.OnceValue(findInheritedFiles)

func findInheritedFiles() []*os.File {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	var out []*os.File
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 || fd >= maxInherited {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC != 0 {
			continue
		}
		for len(out) <= fd-3 {
			out = append(out, nil)
		}
		out[fd-3] = os.NewFile(uintptr(fd), "fd "+e.Name())
	}
	return out
}

// child is the re-executed process: it makes the new root and becomes the
// command.
func child(data string) int {
	os.Unsetenv(configEnv)
	var cfg childConfig
	if err := json.Unmarshal([]byte(data), &cfg); err != nil || len(cfg.Args) == 0 {
		fmt.Fprintf(os.Stderr, "hostroot: bad configuration from the parent (%v)\n", err)
		return ExitSetup
	}
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(os.Stderr, cfg.Name+": "+format+"\n", args...)
		return code
	}
	if err := enter(&cfg.Plan); err != nil {
		return fail(ExitSetup, "%v", err)
	}
	if err := os.Chdir(cfg.Dir); err != nil {
		return fail(ExitSetup, "the working directory %s is not in the new root (%v): run from a directory the packages do not replace", cfg.Dir, err)
	}
	// The command gets no capability from us (see sysProcAttr).
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fail(ExitSetup, "drop capabilities: %v", err)
	}
	path, err := exec.LookPath(cfg.Args[0])
	if errors.Is(err, exec.ErrDot) {
		err = nil // as a shell would
	}
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			return fail(ExitNotFound, "%s: command not found", cfg.Args[0])
		}
		return fail(ExitNotRunnable, "%v", err)
	}
	err = syscall.Exec(path, cfg.Args, os.Environ())
	return fail(ExitNotRunnable, "exec %s: %v", path, err)
}

// enter builds the new root and makes it this process's root: the host's
// top-level entries, with the plan's in place of some of them.
func enter(p *Plan) error {
	// Nothing mounted here may reach the host; the host's mounts and
	// unmounts still reach us.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("make / a slave mount: %w", err)
	}
	// Work in a tmpfs that becomes the root at once: the host's root is
	// then whole (its /tmp no longer hidden by the tmpfs) at /oldRootName.
	if err := unix.Mount("tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return fmt.Errorf("mount a tmpfs for the new root: %w", err)
	}
	if err := unix.Mkdir("/tmp/"+oldRootName, 0o755); err != nil {
		return fmt.Errorf("mkdir %s: %w", oldRootName, err)
	}
	if err := unix.PivotRoot("/tmp", "/tmp/"+oldRootName); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	old := "/" + oldRootName
	host := func(p string) string { return old + p } // a host path, as seen now
	planned := map[string]bool{}
	for _, n := range p.names() {
		planned[n] = true
	}
	ents, err := os.ReadDir(old)
	if err != nil {
		return fmt.Errorf("read the host's /: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if planned[name] || name == oldRootName {
			continue
		}
		var err error
		switch t := e.Type(); {
		case t.IsDir():
			err = bindDir(old+"/"+name, "/"+name)
		case t&fs.ModeSymlink != 0:
			var target string
			if target, err = os.Readlink(old + "/" + name); err == nil {
				err = os.Symlink(target, "/"+name)
			}
		case t.IsRegular():
			err = bindFile(old+"/"+name, "/"+name)
		}
		if err != nil {
			return fmt.Errorf("keep the host's /%s: %w", name, err)
		}
	}
	for name, dirs := range p.Dirs {
		var err error
		if len(dirs) == 1 {
			if err = bindDir(host(dirs[0]), "/"+name); err == nil && p.ReadOnly {
				err = readOnly("/" + name)
			}
		} else {
			lowers := make([]string, len(dirs))
			for i, d := range dirs {
				lowers[i] = host(d)
			}
			if err = unix.Mkdir("/"+name, 0o755); err == nil {
				err = overlay.Mount("/"+name, lowers, false)
			}
		}
		if err != nil {
			return fmt.Errorf("/%s from %q: %w", name, dirs, err)
		}
	}
	for name, target := range p.Links {
		if err := os.Symlink(target, "/"+name); err != nil {
			return fmt.Errorf("/%s: %w", name, err)
		}
	}
	for name, file := range p.Files {
		err := bindFile(host(file), "/"+name)
		if err == nil && p.ReadOnly {
			err = readOnly("/" + name)
		}
		if err != nil {
			return fmt.Errorf("/%s from %s: %w", name, file, err)
		}
	}
	if err := unix.Unmount(old, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount the host's root: %w", err)
	}
	if err := unix.Rmdir(old); err != nil {
		return fmt.Errorf("rmdir %s: %w", old, err)
	}
	// The root itself is only mount points: nothing may be created there,
	// where it would vanish with the namespace.
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("make the new root read-only: %w", err)
	}
	return nil
}

// bindDir binds the tree at src, with everything mounted below it, on a
// new directory dst.
func bindDir(src, dst string) error {
	if err := unix.Mkdir(dst, 0o755); err != nil {
		return err
	}
	return unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, "")
}

// bindFile binds the file src on a new empty file dst.
func bindFile(src, dst string) error {
	fd, err := unix.Open(dst, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	unix.Close(fd)
	return unix.Mount(src, dst, "", unix.MS_BIND, "")
}

// readOnly makes the mount at target (and those below it) read-only,
// changing no other flag: a mount in a user namespace must keep the
// nosuid, nodev and noexec it came with.
func readOnly(target string) error {
	err := unix.MountSetattr(unix.AT_FDCWD, target, unix.AT_RECURSIVE, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
	if !errors.Is(err, unix.ENOSYS) {
		return err
	}
	// Kernels before 5.12: remount with the flags it has.
	var st unix.Statfs_t
	if err := unix.Statfs(target, &st); err != nil {
		return err
	}
	flags := uintptr(unix.MS_REMOUNT | unix.MS_BIND | unix.MS_RDONLY)
	for _, f := range []struct{ st, ms uintptr }{
		{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if uintptr(st.Flags)&f.st != 0 {
			flags |= f.ms
		}
	}
	return unix.Mount("", target, "", flags, "")
}
