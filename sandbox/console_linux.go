package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hdo-build/hdo/internal/fdpass"
)

// An interactive build (hdo shell) gets a terminal of its own, never the
// caller's: the init opens a pseudo-terminal in the sandbox's devpts,
// makes its other end the build's controlling terminal and sends the
// master to Run over a socket passed as the build's stdin ("the console
// socket", as container runtimes call it), and Run relays bytes between
// the master and the caller's stdin and stdout, the caller's terminal in
// raw mode meanwhile. What a build pushes into its terminal (TIOCSTI) so
// stays in the sandbox, and job control and Ctrl-C work inside it.

const consoleMagic = "hdo-sandbox-console/1"

// openConsole, in the init, makes a pseudo-terminal in the sandbox, gives
// its terminal end to the build user (owner buildID) and sends the master
// over the socket sock. It returns the terminal end.
func openConsole(sock, buildID int) (int, error) {
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open a terminal for the build: %w", err)
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return -1, fmt.Errorf("unlock the build's terminal: %w", err)
	}
	// TIOCGPTPEER opens the terminal end of this very master, whatever
	// /dev/pts holds; its argument is the open flags.
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		return -1, fmt.Errorf("open the build's terminal: %w", errno)
	}
	slave := int(r)
	if err := unix.Fchown(slave, buildID, buildID); err != nil {
		unix.Close(slave)
		return -1, fmt.Errorf("give the build its terminal: %w", err)
	}
	if err := unix.Sendmsg(sock, []byte(consoleMagic), unix.UnixRights(master), nil, unix.MSG_NOSIGNAL); err != nil {
		unix.Close(slave)
		return -1, fmt.Errorf("send the build's terminal: %w", err)
	}
	return slave, nil
}

// receiveConsole waits for the master the init sends on sock; it fails
// once the init exits without sending one.
func receiveConsole(sock *os.File) (*os.File, error) {
	buf := make([]byte, len(consoleMagic)+1)
	oob := make([]byte, unix.CmsgSpace(4))
	rc, err := sock.SyscallConn()
	if err != nil {
		return nil, err
	}
	var n, oobn int
	var rerr error
	if err := rc.Control(func(fd uintptr) {
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_CMSG_CLOEXEC)
	}); err != nil {
		return nil, err
	}
	if rerr != nil {
		return nil, rerr
	}
	fds, perr := fdpass.ParseRights(oob[:oobn])
	if perr != nil || len(fds) != 1 || string(buf[:n]) != consoleMagic {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("the init sent no terminal")
	}
	return os.NewFile(uintptr(fds[0]), "console"), nil
}

// relay copies between a build's terminal master and the caller's stdin
// and stdout until stop is called, once the sandbox is gone.
type relay struct {
	master  *os.File
	outDone chan struct{}
	wake    [2]int // a pipe that ends the input copy
	inDone  sync.WaitGroup
	restore func()
}

// startRelay starts relaying; with a terminal as in, it is put in raw
// mode (the build's own terminal interprets the keys) and its window
// size is passed on, now and on SIGWINCH.
func startRelay(master *os.File, in io.Reader, out io.Writer) (*relay, error) {
	r := &relay{master: master, outDone: make(chan struct{}), restore: func() {}}
	if err := unix.Pipe2(r.wake[:], unix.O_CLOEXEC); err != nil {
		return nil, err
	}
	inFile, _ := in.(*os.File)
	if inFile != nil {
		if old, err := unix.IoctlGetTermios(int(inFile.Fd()), unix.TCGETS); err == nil {
			raw := *old
			raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
			raw.Oflag &^= unix.OPOST
			raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
			raw.Cflag = raw.Cflag&^(unix.CSIZE|unix.PARENB) | unix.CS8
			raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
			unix.IoctlSetTermios(int(inFile.Fd()), unix.TCSETS, &raw)
			winch := make(chan os.Signal, 1)
			signal.Notify(winch, syscall.SIGWINCH)
			resize := func() {
				if ws, err := unix.IoctlGetWinsize(int(inFile.Fd()), unix.TIOCGWINSZ); err == nil {
					unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws)
				}
			}
			resize()
			go func() {
				for range winch {
					resize()
				}
			}()
			r.restore = func() {
				signal.Stop(winch)
				close(winch)
				unix.IoctlSetTermios(int(inFile.Fd()), unix.TCSETS, old)
			}
		}
	}
	go func() {
		// Until EIO: every process holding the terminal end is gone.
		io.Copy(out, master)
		close(r.outDone)
	}()
	switch {
	case inFile != nil:
		r.inDone.Add(1)
		go func() {
			defer r.inDone.Done()
			r.copyIn(inFile)
		}()
	case in != nil:
		go io.Copy(master, in) // not stoppable, nor waited for: a reader of the caller's
	}
	return r, nil
}

// copyIn copies the caller's input to the build's terminal. From a file
// it waits with poll, so that it stops when told and takes no keystroke
// meant for whatever reads the caller's terminal next.
func (r *relay) copyIn(f *os.File) {
	buf := make([]byte, 4096)
	fd := int(f.Fd())
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(r.wake[0]), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		if fds[1].Revents != 0 {
			return
		}
		if fds[0].Revents&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) == 0 {
			continue
		}
		n, err := unix.Read(fd, buf)
		if n > 0 {
			if _, werr := r.master.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil && err != unix.EAGAIN && err != unix.EINTR || n == 0 && err == nil {
			return
		}
		runtime.KeepAlive(f)
	}
}

// stop waits for the build's output to be relayed, stops the input copy
// and gives the caller's terminal its modes back.
func (r *relay) stop() {
	<-r.outDone
	unix.Write(r.wake[1], []byte{0})
	r.inDone.Wait()
	unix.Close(r.wake[0])
	unix.Close(r.wake[1])
	r.master.Close()
	r.restore()
}
