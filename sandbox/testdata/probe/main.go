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
	for _, a := range append(os.Args[1:], "+") {
		if a != "+" {
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
	case "sethostname":
		return result("ok", syscall.Sethostname([]byte(arg(0))))
	case "ptrace":
		pid, _ := strconv.Atoi(arg(0))
		return result("ok", syscall.PtraceAttach(pid))
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
	case "foreground":
		// What a job-control shell does with its terminal on stdin.
		signal.Ignore(syscall.SIGTTOU)
		if err := syscall.Setpgid(0, 0); err != nil {
			return result("", err)
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
