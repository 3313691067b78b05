package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
)

// Commands is every name hdo answers to as a multicall binary; inside .do
// scripts they are on PATH (as links in <root>/.hdo/bin).
var Commands = []string{
	"redo", "redo-ifchange", "redo-ifcreate", "redo-always", "redo-stamp",
	"redo-whichdo", "redo-ood", "redo-targets", "redo-sources", "redo-log",
}

// Request is what a redo-* command inside a .do script asks of the hdo
// that runs the script. Paths are as the script gave them, relative to Cwd.
type Request struct {
	Job  string   // HDO_JOB of the script
	Op   string   // ifchange, redo, ifcreate, always, stamp
	Cwd  string   // absolute
	Args []string // paths
	Data []byte   // redo-stamp's stdin
}

// Response answers a Request.
type Response struct {
	Err string
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
		tmp := tempName(link, "link")
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

// SocketDirPrefix begins the name of the temp dir holding a running hdo's
// socket for its scripts, e.g. /tmp/hdo-sock-123456/sock.
const SocketDirPrefix = "hdo-sock-"

func (e *Engine) listen() (*server, error) {
	dir, err := os.MkdirTemp("", SocketDirPrefix)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "sock")
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
	var req Request
	if err := json.NewDecoder(io.LimitReader(c, 64<<20)).Decode(&req); err != nil {
		return
	}
	resp := Response{}
	if err := s.do(e, &req); err != nil {
		resp.Err = err.Error()
	}
	json.NewEncoder(c).Encode(resp)
}

func (s *server) do(e *Engine, req *Request) error {
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
		return j.IfChange(e.ctx, req.Op == "redo", paths...)
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

// Send sends a request to the hdo listening at sock (HDO_SOCK) and returns
// its answer as an error.
func Send(sock string, req *Request) error {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return fmt.Errorf("cannot reach the hdo running this script (HDO_SOCK=%s): %w", sock, err)
	}
	defer c.Close()
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return err
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return fmt.Errorf("the hdo running this script went away: %w", err)
	}
	if resp.Err != "" {
		return errors.New(resp.Err)
	}
	return nil
}
