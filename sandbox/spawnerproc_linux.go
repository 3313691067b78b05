package sandbox

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hdo-build/hdo/internal/fdpass"
)

// spawnerMain is the spawner process: it starts inits until its
// connection to Run's process closes, and then kills those left. It keeps
// a few inits started ahead of time, so that a build does not wait for an
// init to start (the Go runtime and dynamic linking of this binary).
func spawnerMain() int {
	// Files hdo had without close-on-exec are not the builds' business.
	unix.CloseRange(spawnerFD+1, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	c, err := net.FileConn(os.NewFile(spawnerFD, "spawner"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox spawner:", err)
		return 1
	}
	conn := c.(*net.UnixConn)
	var mu sync.Mutex
	inits := map[uint64]*os.Process{} // running builds' inits, by request
	var pool initPool
	reply := func(m message) { conn.Write(m.encode()) }

	buf := make([]byte, maxMessage)
	oob := make([]byte, unix.CmsgSpace(4*maxFDs))
	for {
		n, oobn, flags, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil {
			// Run's process is gone: so must its builds be.
			mu.Lock()
			for _, p := range inits {
				p.Kill()
			}
			mu.Unlock()
			pool.close()
			return 0
		}
		var files []*os.File
		fds, ferr := fdpass.ParseRights(oob[:oobn])
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "received"))
		}
		var m message
		if err := m.decode(buf[:n]); err != nil {
			closeFiles(files)
			continue
		}
		switch m.Kind {
		case msgKill:
			closeFiles(files)
			mu.Lock()
			if p := inits[m.ID]; p != nil {
				p.Kill()
			}
			mu.Unlock()
		case msgStart:
			if ferr == nil && flags&unix.MSG_CTRUNC != 0 {
				ferr = errors.New("too many files")
			}
			if ferr != nil {
				closeFiles(files)
				reply(message{Kind: msgFailed, ID: m.ID, Err: "receive files: " + ferr.Error()})
				continue
			}
			go func() {
				p, err := pool.start(files, m.Network)
				closeFiles(files)
				if err != nil {
					reply(message{Kind: msgFailed, ID: m.ID, Err: err.Error()})
					return
				}
				mu.Lock()
				inits[m.ID] = p.cmd.Process
				mu.Unlock()
				reply(message{Kind: msgStarted, ID: m.ID})
				p.cmd.Wait()
				mu.Lock()
				delete(inits, m.ID)
				mu.Unlock()
				reply(message{Kind: msgExited, ID: m.ID, Status: int(p.cmd.ProcessState.Sys().(syscall.WaitStatus))})
			}()
		default:
			closeFiles(files)
		}
	}
}

// poolSize is how many inits the spawner keeps started ahead of time.
const poolSize = 2

// initPool holds inits started ahead of time, with a private network.
type initPool struct {
	mu       sync.Mutex
	idle     []*initProc
	starting int
	closed   bool
}

// get returns an init: one started ahead of time if there is one (and
// starts another in its place), else a new one.
func (pl *initPool) get(network bool) (*initProc, error) {
	if network {
		return newInit(true)
	}
	pl.mu.Lock()
	var p *initProc
	if n := len(pl.idle); n > 0 {
		p = pl.idle[n-1]
		pl.idle = pl.idle[:n-1]
	}
	pl.mu.Unlock()
	go pl.fill()
	if p != nil {
		return p, nil
	}
	return newInit(false)
}

// start gives files to an init from get; should an init started ahead
// of time have died meanwhile, to a new one.
func (pl *initPool) start(files []*os.File, network bool) (*initProc, error) {
	p, err := pl.get(network)
	for try := 0; ; try++ {
		if err != nil {
			return nil, err
		}
		if err = p.give(files); err == nil {
			return p, nil
		}
		p.cmd.Process.Kill()
		p.cmd.Wait()
		if try > 0 {
			return nil, err
		}
		p, err = newInit(network)
	}
}

// fill starts an init for the pool unless it is full.
func (pl *initPool) fill() {
	pl.mu.Lock()
	if pl.closed || len(pl.idle)+pl.starting >= poolSize {
		pl.mu.Unlock()
		return
	}
	pl.starting++
	pl.mu.Unlock()
	p, err := newInit(false)
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.starting--
	if err != nil {
		return // the next get starts one and reports the error
	}
	if pl.closed {
		p.cmd.Process.Kill()
		unix.Close(p.sock)
		return
	}
	pl.idle = append(pl.idle, p)
}

// close kills the idle inits.
func (pl *initPool) close() {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.closed = true
	for _, p := range pl.idle {
		p.cmd.Process.Kill()
		unix.Close(p.sock)
	}
	pl.idle = nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
