package sandbox

import (
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// foreground remembers the foreground process group of a terminal, which
// a shell inside an interactive sandbox takes over for its job control.
type foreground struct {
	fd   int
	pgrp int
}

// saveForeground returns the foreground process group of stdin's terminal,
// or nil if stdin is not a terminal.
func saveForeground(stdin io.Reader) *foreground {
	f, ok := stdin.(*os.File)
	if !ok {
		return nil
	}
	fd := int(f.Fd())
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil {
		return nil
	}
	return &foreground{fd: fd, pgrp: pgrp}
}

// restore gives the terminal back to the saved process group. The caller
// may be in the background now, so SIGTTOU is ignored meanwhile.
func (fg *foreground) restore() {
	if fg == nil {
		return
	}
	if pgrp, err := unix.IoctlGetInt(fg.fd, unix.TIOCGPGRP); err == nil && pgrp == fg.pgrp {
		return
	}
	wasIgnored := signal.Ignored(syscall.SIGTTOU)
	signal.Ignore(syscall.SIGTTOU)
	unix.IoctlSetPointerInt(fg.fd, unix.TIOCSPGRP, fg.pgrp)
	if !wasIgnored {
		signal.Reset(syscall.SIGTTOU)
	}
}
