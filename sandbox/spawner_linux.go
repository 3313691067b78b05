package sandbox

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The spawner is a small helper process, this binary re-executed once,
// that starts inits on Run's behalf, for two reasons:
//
//   - Starting a process in a new user namespace forks (Go cannot vfork
//     then: the parent writes the child's uid map), and a fork costs in
//     proportion to the memory of the process forking (4 ms per 100 MB
//     here) and makes every page that process writes afterwards fault once
//     more. The spawner stays small, so starting a sandbox costs the same
//     however big hdo grows; hdo itself only ever vforks, once.
//   - It keeps inits started ahead of time (see initPool), so that a build
//     does not wait for this binary to start: its dynamic linking and Go
//     runtime take longer than the rest of the sandbox setup.
//
// Run and the spawner talk over a SOCK_SEQPACKET socket pair: Run sends
// a start request carrying the init's files, the spawner answers
// "started" (or "failed") and later "exited"; Run may send "kill" in
// between.

const (
	spawnerArg0 = "hdo-sandbox-spawner"
	spawnerFD   = 3 // the spawner's end of its connection to Run's process
)

// Message kinds.
const (
	msgStart   = iota // Run: start an init with the files attached
	msgKill           // Run: kill the init of the request
	msgStarted        // spawner: the init runs
	msgFailed         // spawner: the init could not start, see Err
	msgExited         // spawner: the init exited with wait status Status
)

// message is one request or reply.
type message struct {
	Kind    int
	ID      uint64
	Network bool   // msgStart
	Status  int    // msgExited: a syscall.WaitStatus
	Err     string // msgFailed
}

func (m *message) encode() []byte {
	var e encoder
	e.int(int64(m.Kind))
	e.int(int64(m.ID))
	e.bool(m.Network)
	e.int(int64(m.Status))
	e.string(m.Err)
	return e.b
}

func (m *message) decode(b []byte) error {
	d := decoder{b: b}
	m.Kind = int(d.int())
	m.ID = uint64(d.int())
	m.Network = d.bool()
	m.Status = int(d.int())
	m.Err = d.string()
	return d.done()
}

// maxMessage bounds a message; maxFDs the files attached to one.
const (
	maxMessage = 4096
	maxFDs     = 5 + maxCgroups + maxExtraFiles
)

// spawner is Run's end of the connection to the spawner process.
type spawner struct {
	conn *net.UnixConn
	pid  int // of the spawner process

	mu    sync.Mutex
	next  uint64
	calls map[uint64]chan message // replies to each request
	err   error                   // why the spawner is gone, once it is
}

var (
	spawnerMu  sync.Mutex
	theSpawner *spawner
)

// getSpawner returns the spawner, starting one if there is none or the
// last one died.
func getSpawner() (*spawner, error) {
	spawnerMu.Lock()
	defer spawnerMu.Unlock()
	if s := theSpawner; s != nil && s.alive() {
		return s, nil
	}
	s, err := startSpawner()
	if err != nil {
		return nil, fmt.Errorf("start the sandbox spawner: %w", err)
	}
	theSpawner = s
	return s, nil
}

func startSpawner() (*spawner, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "spawner"), os.NewFile(uintptr(fds[1]), "spawner")
	defer theirs.Close()
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return nil, err
	}
	s := &spawner{conn: c.(*net.UnixConn), calls: map[uint64]chan message{}}
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{spawnerArg0},
		Env:        []string{initEnv + "=1"},
		Stderr:     os.Stderr, // for a panic
		ExtraFiles: []*os.File{theirs},
		SysProcAttr: &syscall.SysProcAttr{
			Setsid:    true, // no terminal signals
			Pdeathsig: syscall.SIGKILL,
		},
	}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that started the spawner ends:
		// this one lives as long as the spawner.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		err := cmd.Wait()
		s.fail(fmt.Errorf("sandbox spawner exited: %v", err))
	}()
	if err := <-started; err != nil {
		s.conn.Close()
		return nil, err
	}
	s.pid = cmd.Process.Pid
	go s.readReplies()
	return s, nil
}

func (s *spawner) alive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err == nil
}

// fail marks the spawner gone and fails every request still waiting.
func (s *spawner) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	s.err = err
	s.conn.Close()
	for id, c := range s.calls {
		c <- message{Kind: msgFailed, ID: id, Err: err.Error()}
		delete(s.calls, id)
	}
}

func (s *spawner) readReplies() {
	buf := make([]byte, maxMessage)
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			s.fail(fmt.Errorf("sandbox spawner: %w", err))
			return
		}
		var m message
		if err := m.decode(buf[:n]); err != nil {
			s.fail(fmt.Errorf("sandbox spawner: bad reply: %w", err))
			return
		}
		s.mu.Lock()
		if c := s.calls[m.ID]; c != nil {
			c <- m
			if m.Kind != msgStarted {
				delete(s.calls, m.ID)
			}
		}
		s.mu.Unlock()
	}
}

// spawn starts an init through the spawner and gives it files (see
// files_linux.go).
func spawn(files []*os.File, network bool) (initProcess, error) {
	s, err := getSpawner()
	if err != nil {
		return nil, err
	}
	replies := make(chan message, 2) // started, exited
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return nil, s.err
	}
	s.next++
	id := s.next
	s.calls[id] = replies
	s.mu.Unlock()

	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	m := message{Kind: msgStart, ID: id, Network: network}
	if _, _, err := s.conn.WriteMsgUnix(m.encode(), unix.UnixRights(fds...), nil); err != nil {
		s.fail(fmt.Errorf("sandbox spawner: %w", err))
	}
	runtime.KeepAlive(files)
	r := <-replies
	if r.Kind != msgStarted {
		return nil, errors.New(r.Err)
	}
	return &spawnedInit{s: s, id: id, replies: replies}, nil
}

// spawnedInit is an init the spawner started.
type spawnedInit struct {
	s       *spawner
	id      uint64
	replies chan message
}

func (p *spawnedInit) kill() {
	m := message{Kind: msgKill, ID: p.id}
	p.s.conn.Write(m.encode()) // if the spawner is gone, so is the init
}

func (p *spawnedInit) wait() error {
	r := <-p.replies
	if r.Kind != msgExited {
		return errors.New(r.Err)
	}
	ws := syscall.WaitStatus(r.Status)
	switch {
	case ws.Exited() && ws.ExitStatus() == 0:
		return nil
	case ws.Exited():
		return fmt.Errorf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		return fmt.Errorf("signal: %v", ws.Signal())
	}
	return fmt.Errorf("wait status %#x", r.Status)
}
