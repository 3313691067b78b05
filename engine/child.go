package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/hdo-build/hdo/internal/fdpass"
	"github.com/hdo-build/hdo/internal/sockdir"
)

// Commands is every name hdo answers to as a multicall binary; inside .do
// scripts they are on PATH (as links in <root>/.hdo/bin).
var Commands = []string{
	"redo", "redo-ifchange", "redo-ifcreate", "redo-always", "redo-stamp",
	"redo-whichdo", "redo-ood", "redo-targets", "redo-sources", "redo-log",
}

// Request is what a redo-* command inside a .do script asks of the hdo
// that runs the script. Paths are as the script gave them, relative to Cwd.
// The command's stderr travels with it (see Send).
type Request struct {
	Job  string   // HDO_JOB of the script
	Op   string   // ifchange, redo, ifcreate, always, stamp
	Cwd  string   // absolute
	Args []string // paths
	Data []byte   // redo-stamp's stdin

	// Env is the command's environment: the scripts its request runs get
	// it (nil: the requesting script's own).
	Env       []string
	KeepGoing bool // -k: keep going past a failure, for what this call builds
	Trace     bool // -x: trace the scripts this call runs
	Jobs      int  // -j N, if given: reported as not applicable
}

// Response answers a Request.
type Response struct {
	Err string
	// Interrupted says the engine was stopped (Ctrl-C) while it worked on
	// the request: the script should end quietly, it is no failure.
	Interrupted bool `json:",omitempty"`
}

// server accepts requests from the scripts this engine runs.
type server struct {
	ln   net.Listener
	dir  string
	path string
	jobs sync.Map // job id -> *Job
}

// setup prepares what .do scripts need: the socket and the redo-* links.
func (e *Engine) setup() error {
	e.setupOnce.Do(func() {
		if e.cfg.ReadOnly {
			e.setupErr = errors.New("engine opened read-only")
			return
		}
		if e.setupErr = e.db.Dir.MkdirAll("bin"); e.setupErr != nil {
			return
		}
		if e.setupErr = e.installLinks(filepath.Join(e.db.Dir.Path, "bin")); e.setupErr != nil {
			return
		}
		e.srv, e.setupErr = e.listen()
	})
	return e.setupErr
}

// InstallLinks writes the redo-* symlinks to the hdo binary exe into dir.
func InstallLinks(dir, exe string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range Commands {
		link := filepath.Join(dir, name)
		if cur, err := os.Readlink(link); err == nil && cur == exe {
			continue
		}
		// Random: another hdo may be installing the same links.
		tmp := filepath.Join(dir, fmt.Sprintf(".%s.hdo-link-%08x", name, rand.Uint32()))
		if err := os.Symlink(exe, tmp); err != nil {
			return err
		}
		if err := os.Rename(tmp, link); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	return nil
}

func (e *Engine) installLinks(dir string) error { return InstallLinks(dir, e.cfg.Exe) }

// listen makes the socket the engine's scripts talk to, in a socket dir of
// its own (see package sockdir).
func (e *Engine) listen() (*server, error) {
	dir, path, err := sockdir.Make()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &server{ln: ln, dir: dir, path: path}
	go s.accept(e)
	return s, nil
}

func (s *server) close() {
	s.ln.Close()
	os.RemoveAll(s.dir)
}

func (s *server) accept(e *Engine) {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.handle(e, c)
	}
}

func (s *server) handle(e *Engine, c net.Conn) {
	defer c.Close()
	req, stderr, err := readRequest(c)
	if err != nil {
		return
	}
	if stderr != nil {
		defer stderr.Close()
	}
	resp := Response{}
	if err := s.do(e, req, stderr); err != nil {
		resp.Err = err.Error()
		if e.ctx != nil && e.ctx.Err() != nil {
			resp.Interrupted = true
		}
	}
	json.NewEncoder(c).Encode(resp)
}

// readRequest reads a request that Send sent, and the stderr passed with
// it (nil if none was).
func readRequest(c net.Conn) (*Request, *os.File, error) {
	first, stderr, err := readStderr(c)
	if err != nil {
		return nil, nil, err
	}
	var req Request
	in := io.MultiReader(bytes.NewReader(first), io.LimitReader(c, 64<<20))
	if err := json.NewDecoder(in).Decode(&req); err != nil {
		if stderr != nil {
			stderr.Close()
		}
		return nil, nil, err
	}
	return &req, stderr, nil
}

// readStderr reads the first bytes of a request and the stderr passed
// with them, if any.
func readStderr(c net.Conn) ([]byte, *os.File, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return nil, nil, errors.New("not a unix socket")
	}
	b := make([]byte, firstChunk)
	oob := make([]byte, syscall.CmsgSpace(4*4))
	n, oobn, _, _, err := uc.ReadMsgUnix(b, oob)
	if err != nil {
		return nil, nil, err
	}
	fds, err := fdpass.ParseRights(oob[:oobn])
	if err != nil {
		return nil, nil, err
	}
	var f *os.File
	for i, fd := range fds {
		if i == 0 {
			f = os.NewFile(uintptr(fd), "stderr of redo")
		} else {
			syscall.Close(fd)
		}
	}
	return b[:n], f, nil
}

// firstChunk is how much of a request travels with the stderr passed.
const firstChunk = 16 << 10

func (s *server) do(e *Engine, req *Request, stderr *os.File) error {
	// Whatever the script did before asking (echo x > inp; redo-ifchange
	// inp) is to be seen.
	e.changed()
	v, ok := s.jobs.Load(req.Job)
	if !ok {
		return fmt.Errorf("HDO_JOB=%s is not a running job of this hdo", req.Job)
	}
	j := v.(*Job)
	var paths []string
	for _, a := range req.Args {
		rel, err := e.Rel(req.Cwd, a)
		if err != nil {
			return err
		}
		paths = append(paths, rel)
	}
	switch req.Op {
	case "ifchange", "redo":
		if req.Jobs > 0 {
			e.warnOnceFor("nested -j", "%s -j %d in a .do script: hdo runs every job of this tree under the top-level hdo's jobserver (%s); -j ignored",
				opCommand(req.Op), req.Jobs, plural(e.jobs.Limit(), "job"))
		}
		return j.ifChange(e.ctx, req.Op == "redo", j.callerFor(req, stderr), paths)
	case "ifcreate":
		return j.IfCreate(paths...)
	case "always":
		j.Always()
		return nil
	case "stamp":
		j.Stamp(req.Data)
		return nil
	}
	return fmt.Errorf("unknown request %q", req.Op)
}

// opCommand names the redo* command that sends op.
func opCommand(op string) string {
	if op == "redo" {
		return "redo"
	}
	return "redo-" + op
}

func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// callerFor is the caller of a request from the job's script: the redo*
// process with its environment, its stderr and its flags, inheriting the
// job's own.
func (j *Job) callerFor(req *Request, stderr *os.File) *caller {
	c := *j.caller
	if req.Env != nil {
		c.env = req.Env
	}
	c.keepGoing = c.keepGoing || req.KeepGoing
	c.trace = c.trace || req.Trace
	if stderr != nil {
		switch id := fileID(stderr); {
		case id == j.pipe:
			// The script's own stderr: its children's messages go where
			// its own do, not into its log as well.
		case j.e.stderrID != (pipeID{}) && id == j.e.stderrID:
			c.stderr = j.e.cfg.Status.Writer()
		default:
			c.stderr = ignoreErrors{stderr}
		}
	}
	return &c
}

// Send sends a request to the hdo listening at sock (HDO_SOCK) and returns
// its answer as an error. stderr, if not nil, is passed along: the builds
// the request runs write their messages to it.
func Send(sock string, req *Request, stderr *os.File) error {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return fmt.Errorf("cannot reach the hdo running this script (HDO_SOCK=%s): %w", sock, err)
	}
	defer c.Close()
	msg, err := json.Marshal(req)
	if err != nil {
		return err
	}
	var oob []byte
	if stderr != nil {
		oob = syscall.UnixRights(int(stderr.Fd()))
	}
	// One write for the descriptor and the first bytes, the rest after.
	first := msg[:min(len(msg), firstChunk)]
	n, _, err := c.(*net.UnixConn).WriteMsgUnix(first, oob, nil)
	if err == nil && n < len(msg) {
		_, err = c.Write(msg[n:])
	}
	if err != nil {
		return fmt.Errorf("the hdo running this script went away: %w", err)
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return fmt.Errorf("the hdo running this script went away: %w", err)
	}
	if resp.Interrupted {
		return ErrInterrupted
	}
	if resp.Err != "" {
		return errors.New(resp.Err)
	}
	return nil
}

// pipeID identifies an open file: its device and inode.
type pipeID struct{ dev, ino uint64 }

// fileID returns f's identity, or the zero pipeID if it cannot be had.
func fileID(f *os.File) pipeID {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return pipeID{}
	}
	return pipeID{uint64(st.Dev), st.Ino}
}

// ignoreErrors writes to a redo* caller's stderr, which may be closed
// before the build ends (redo x 2>&1 | head -1): the build and its log go
// on regardless.
type ignoreErrors struct{ w io.Writer }

func (i ignoreErrors) Write(p []byte) (int, error) {
	i.w.Write(p)
	return len(p), nil
}
