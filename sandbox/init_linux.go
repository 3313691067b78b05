package sandbox

import (
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The build runs as this user, in a user namespace of its own nested in the
// init's, so it holds no capability over the sandbox's mounts, hostname or
// init.
const (
	buildUID  = 1000
	buildGID  = 1000
	buildHome = "/home/build"
)

// mainCalled says Main ran: without it, the re-executed binary would run
// as the program itself, not as an init.
var mainCalled atomic.Bool

// Main runs the sandbox init or spawner and exits if this process is one;
// otherwise it returns at once. Call it first thing in main and in
// TestMain.
func Main() {
	if len(os.Args) == 0 || os.Getenv(initEnv) != "1" {
		mainCalled.Store(true)
		return
	}
	switch os.Args[0] {
	case initArg0:
		os.Exit(initMain())
	case spawnerArg0:
		os.Exit(spawnerMain())
	}
}

// initMain is pid 1 of the sandbox: it assembles the root, starts the
// build, reaps every process and returns the build's exit status. Its
// return kills whatever is left in the pid namespace.
func initMain() int {
	// no_new_privs is per thread: set it on the thread that forks the build.
	runtime.LockOSThread()
	// Only fds the init was meant to get stay open for the build: hdo may
	// have inherited others without close-on-exec (a make jobserver, say).
	unix.CloseRange(initSockFD, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	// The init may have been started ahead of time: it prepares what it
	// can, waits here for its files, and only then does the work of one
	// build.
	hostNetwork := len(os.Args) > 1 && os.Args[1] == hostNetworkArg
	prepErr := prepareRoot(hostNetwork)
	// Signals to pass on to the build, caught from now on (setting this up
	// starts threads: better done before the build is waited for).
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT)
	files, err := receiveFiles(initSockFD)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbox init: receive files: %v\n", err)
		return 126
	}
	start := time.Now()
	for i := range 3 {
		if err := unix.Dup3(files[i], i, 0); err != nil {
			fmt.Fprintf(os.Stderr, "sandbox init: dup fd %d: %v\n", i, err)
			return 126
		}
		unix.Close(files[i])
	}
	rep := os.NewFile(uintptr(files[fileReport]), "report")
	send := func(r *report) {
		rep.Write(r.encode())
		rep.Close()
	}
	fail := func(err error) int {
		send(&report{Error: err.Error()})
		return 125
	}

	var cfg initConfig
	b, err := io.ReadAll(os.NewFile(uintptr(files[fileConfig]), "config"))
	if err == nil {
		err = cfg.decode(b)
	}
	if err == nil && (cfg.NCgroup < 0 || cfg.NCgroup > maxCgroups || cfg.NExtra < 0) {
		err = fmt.Errorf("bad file counts %d and %d", cfg.NCgroup, cfg.NExtra)
	}
	if err == nil && cfg.NCgroup+cfg.NExtra != len(files)-fileExtra {
		err = fmt.Errorf("got %d extra files, want %d", len(files)-fileExtra, cfg.NCgroup+cfg.NExtra)
	}
	if err == nil && cfg.Network != hostNetwork {
		err = fmt.Errorf("init started for network %v, want %v", hostNetwork, cfg.Network)
	}
	if err != nil {
		return fail(fmt.Errorf("read config: %w", err))
	}
	if prepErr != nil {
		return fail(prepErr)
	}
	method, assembleNs, err := finishRoot(&cfg)
	if err != nil {
		return fail(err)
	}
	path, err := lookPath(cfg.Args[0], cfg.Env)
	if err != nil {
		return fail(err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fail(fmt.Errorf("set no_new_privs: %w", err))
	}
	// A fresh anonymous session keyring for the build (on this thread,
	// which forks it): the one hdo inherited may hold the user's keys.
	if _, _, errno := unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_JOIN_SESSION_KEYRING, 0, 0); errno != 0 {
		return fail(fmt.Errorf("join a new session keyring: %w", errno))
	}

	cgroups, extra := files[fileExtra:fileExtra+cfg.NCgroup], files[fileExtra+cfg.NCgroup:]
	if err := joinCgroups(cgroups); err != nil {
		return fail(err)
	}
	for _, fd := range cgroups {
		unix.Close(fd)
	}
	fds := []uintptr{0, 1, 2}
	if cfg.Interactive {
		// fd 0 is the console socket: the build's stdio is a terminal
		// of its own.
		tty, err := openConsole(0, cfg.BuildID)
		if err != nil {
			return fail(err)
		}
		unix.Close(0)
		fds = []uintptr{uintptr(tty), uintptr(tty), uintptr(tty)}
	}
	for _, fd := range extra {
		fds = append(fds, uintptr(fd))
	}
	unix.Umask(0o022)
	setupNs := time.Since(start).Nanoseconds()
	sys := &syscall.SysProcAttr{
		// A cgroup namespace rooted at the build's cgroup: a cgroup2 the
		// build mounts shows nothing above it.
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWCGROUP,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: buildUID, HostID: cfg.BuildID, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: buildGID, HostID: cfg.BuildID, Size: 1}},
	}
	if cfg.Interactive {
		// A session of its own, the terminal its controlling one: job
		// control and Ctrl-C work as in a login shell.
		sys.Setsid, sys.Setctty, sys.Ctty = true, true, 0
	}
	if cfg.BuildID != 0 {
		// The build user is not the init's user (root's builds): the
		// build takes its ids, and no supplementary group of hdo's.
		sys.Credential = &syscall.Credential{Uid: buildUID, Gid: buildGID, Groups: []uint32{}}
		sys.GidMappingsEnableSetgroups = true
	}
	pid, err := syscall.ForkExec(path, cfg.Args, &syscall.ProcAttr{
		Dir:   buildHome,
		Env:   cfg.Env,
		Files: fds,
		Sys:   sys,
	})
	if err != nil {
		return fail(fmt.Errorf("start %s in the sandbox: %w", path, err))
	}
	go func() {
		for s := range sigs {
			// In an interactive sandbox the terminal sends these to the
			// build itself (and catching them kept the init alive).
			if cfg.Interactive && (s == syscall.SIGINT || s == syscall.SIGQUIT) {
				continue
			}
			syscall.Kill(pid, s.(syscall.Signal))
		}
	}()

	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fail(fmt.Errorf("wait for the build: %w", err))
		}
		if wpid != pid {
			continue // an orphan reparented to us
		}
		// The init's exit would kill them too, but it may be slow (under
		// the race detector, say): no process outlives the report.
		unix.Kill(-1, unix.SIGKILL)
		r := &report{Assembly: method.String(), AssembleNs: assembleNs, SetupNs: setupNs, Exit: ws.ExitStatus()}
		if ws.Signaled() {
			r.Signal = int(ws.Signal())
			r.Exit = 128 + r.Signal
		}
		send(r)
		return r.Exit
	}
}

// lookPath finds the build's command like a shell would with env's PATH.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if !strings.HasPrefix(p, "/") {
			p = filepath.Join(buildHome, p)
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("start %s: not found in the build's PATH %q: check the build closure provides it", name, path)
}
