package hostroot

import "os"

// Command is the command Run runs in the new root.
type Command struct {
	// Args is the command and its arguments, e.g. {"make", "-j4"}. A name
	// without a slash is looked up in Env's PATH inside the new root.
	Args []string
	Env  []string // the command's whole environment, e.g. os.Environ()
	Dir  string   // working directory, e.g. the caller's; it must exist in the new root
	// Name prefixes the messages of a failed setup, e.g. "venv-run".
	Name string

	// The command's standard streams; nil means the caller's.
	Stdin, Stdout, Stderr *os.File
	// ExtraFiles become fds 3, 4, ... of the command (nil entries are
	// closed), as in os/exec; InheritedFiles keeps the caller's numbers.
	ExtraFiles []*os.File
}

// Exit statuses of a command that never ran, as env(1) and shells use them.
const (
	ExitSetup       = 125 // the new root could not be made
	ExitNotRunnable = 126 // found but could not be executed
	ExitNotFound    = 127 // no such command
)
