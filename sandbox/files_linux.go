package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hdo-build/hdo/internal/fdpass"
)

// An init is started with a socket as its fd initSockFD and nothing else
// of interest; it waits there for one message carrying its files: the
// build's stdin, stdout and stderr, the read end of a pipe holding the
// initConfig, the write end of a pipe for the report, the dirs of the
// cgroups to join (initConfig.NCgroup, at most maxCgroups), and then
// Config.ExtraFiles. Inits can so be started before they are needed.
const (
	initSockFD = 3
	fileConfig = 3 // index in the files
	fileReport = 4
	fileExtra  = 5 // the first cgroup dir, then the extra files
	maxCgroups = 3 // v2, v1 memory, v1 pids
	filesMagic = "hdo-sandbox-files/1"

	hostNetworkArg = "hostnet" // argv[1] of an init sharing the host's network
)

// initProc is a started init waiting for its files.
type initProc struct {
	cmd  *exec.Cmd
	sock int // our end of the init's socket
}

// newInit starts an init in new namespaces, in a session of its own;
// network keeps the host's network.
func newInit(network bool) (*initProc, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	theirs := os.NewFile(uintptr(fds[1]), "init socket")
	defer theirs.Close()
	uids, gids, _ := idMaps()
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{initArg0},
		Env:        []string{initEnv + "=1"},
		ExtraFiles: []*os.File{theirs},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID |
				syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
			UidMappings:                uids,
			GidMappings:                gids,
			GidMappingsEnableSetgroups: os.Geteuid() == 0,
			Pdeathsig:                  syscall.SIGKILL, // the sandbox dies with its parent
			Setsid:                     true,            // no terminal of the caller's: see console_linux.go
		},
	}
	if network {
		cmd.Args = append(cmd.Args, hostNetworkArg)
	} else {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWNET
	}
	if err := cmd.Start(); err != nil {
		unix.Close(fds[0])
		return nil, diagnoseUserNS(procSys, os.Geteuid(), err)
	}
	return &initProc{cmd: cmd, sock: fds[0]}, nil
}

// give sends the init its files, which it then owns.
func (p *initProc) give(files []*os.File) error {
	defer unix.Close(p.sock)
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	err := unix.Sendmsg(p.sock, []byte(filesMagic), unix.UnixRights(fds...), nil, unix.MSG_NOSIGNAL)
	runtime.KeepAlive(files)
	if err != nil {
		return fmt.Errorf("send files to the init: %w", err)
	}
	return nil
}

// receiveFiles waits for the files on socket sock and returns their fds,
// close-on-exec.
func receiveFiles(sock int) ([]int, error) {
	buf := make([]byte, len(filesMagic)+1)
	oob := make([]byte, unix.CmsgSpace(4*maxFDs))
	n, oobn, flags, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, err
	}
	fds, err := fdpass.ParseRights(oob[:oobn])
	switch {
	case err != nil:
	case string(buf[:n]) != filesMagic:
		err = fmt.Errorf("got message %q, want %q: the init is from another build of this program", buf[:n], filesMagic)
	case flags&unix.MSG_CTRUNC != 0:
		err = errors.New("too many files")
	case len(fds) < fileExtra:
		err = fmt.Errorf("got %d files, want at least %d", len(fds), fileExtra)
	}
	if err != nil {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, err
	}
	return fds, nil
}
