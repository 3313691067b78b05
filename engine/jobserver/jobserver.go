// Package jobserver limits parallelism with the GNU make jobserver
// protocol, as a server (hdo -j N hands tokens to its own jobs and to every
// make below it) or as a client (an hdo started by make -j takes make's
// tokens). Both the classic pipe style (--jobserver-auth=R,W) and make 4.4's
// named pipe style (--jobserver-auth=fifo:PATH) are spoken.
//
// Every process in a jobserver group owns one implicit token; each further
// concurrent job needs a token byte read from the shared pipe, written back
// when the job ends.
package jobserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Style is how the jobserver is named to children.
type Style string

const (
	// Pipe passes two inherited file descriptors (make 4.3 and older
	// understand only this style).
	Pipe Style = "pipe"
	// Fifo passes the path of a named pipe (make 4.4 and later).
	Fifo Style = "fifo"
)

// Token is a right to run one job. Release it exactly once.
type Token struct {
	implicit bool
	b        byte
}

// Pool is a jobserver: a source of tokens shared with child processes.
type Pool struct {
	n     int   // the -j limit, 0 if unknown (client)
	style Style // how children are told about the pool
	r, w  *os.File
	fifo  string // path, for Fifo style
	dir   string // temp dir holding the fifo we created, removed by Close

	mu           sync.Mutex
	implicitFree bool
	queue        []chan Token
	wake         chan struct{} // signals the reader that someone waits
}

// MaxJobs bounds -j: the n-1 tokens are written into a pipe whose buffer
// (64 KiB on Linux) must hold them all, or the write would block forever.
const MaxJobs = 4096

// New creates a jobserver allowing n concurrent jobs (n >= 1), of the given
// style. The caller's own process holds the implicit token.
func New(n int, style Style) (*Pool, error) {
	if n < 1 {
		n = 1
	}
	if n > MaxJobs {
		return nil, fmt.Errorf("jobserver: -j %d is more than the %d jobs hdo runs at once (the tokens must fit in a pipe); use -j %d or fewer", n, MaxJobs, MaxJobs)
	}
	p := &Pool{n: n, style: style}
	switch style {
	case Fifo:
		dir, err := os.MkdirTemp("", "hdo-jobserver-")
		if err != nil {
			return nil, fmt.Errorf("jobserver: %w", err)
		}
		path := filepath.Join(dir, "fifo")
		if err := unix.Mkfifo(path, 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("jobserver: %w", err)
		}
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("jobserver: %w", err)
		}
		f := os.NewFile(uintptr(fd), path)
		p.r, p.w, p.fifo, p.dir = f, f, path, dir
	default:
		p.style = Pipe
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
			return nil, fmt.Errorf("jobserver: %w", err)
		}
		p.r = os.NewFile(uintptr(fds[0]), "jobserver-r")
		p.w = os.NewFile(uintptr(fds[1]), "jobserver-w")
	}
	if n > 1 {
		if _, err := p.w.Write([]byte(strings.Repeat("+", n-1))); err != nil {
			p.Close()
			return nil, fmt.Errorf("jobserver: %w", err)
		}
	}
	p.start()
	return p, nil
}

// FromMakeflags joins the jobserver named in a MAKEFLAGS value, as make's
// child. It returns nil, nil when makeflags names no jobserver, and an error
// (to be shown as a warning) when it names one that is not reachable, which
// is what make does for a rule not marked recursive with '+'.
func FromMakeflags(makeflags string) (*Pool, error) {
	auth := ""
	for _, f := range strings.Fields(makeflags) {
		for _, pre := range []string{"--jobserver-auth=", "--jobserver-fds="} {
			if strings.HasPrefix(f, pre) {
				auth = strings.TrimPrefix(f, pre)
			}
		}
	}
	if auth == "" {
		return nil, nil
	}
	p := &Pool{}
	if path, ok := strings.CutPrefix(auth, "fifo:"); ok {
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("jobserver fifo %s from MAKEFLAGS: %w; running with -j1", path, err)
		}
		f := os.NewFile(uintptr(fd), path)
		p.r, p.w, p.fifo, p.style = f, f, path, Fifo
	} else {
		rs, ws, ok := strings.Cut(auth, ",")
		rfd, err1 := strconv.Atoi(rs)
		wfd, err2 := strconv.Atoi(ws)
		if !ok || err1 != nil || err2 != nil || rfd < 0 || wfd < 0 {
			return nil, fmt.Errorf("jobserver: cannot parse --jobserver-auth=%s in MAKEFLAGS; running with -j1", auth)
		}
		for _, fd := range []int{rfd, wfd} {
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
				return nil, fmt.Errorf("jobserver fds %d,%d from MAKEFLAGS are closed (mark the make rule that runs hdo with '+'); running with -j1", rfd, wfd)
			}
		}
		// Open new descriptions of the same pipe rather than dup'ing: the
		// blocking mode we use must not change the one make relies on.
		r, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", rfd), os.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("jobserver: %w", err)
		}
		w, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", wfd), os.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("jobserver: %w", err)
		}
		p.r, p.w = r, w
		p.style = Pipe
	}
	p.start()
	return p, nil
}

func (p *Pool) start() {
	p.implicitFree = true
	p.wake = make(chan struct{}, 1)
	go p.reader()
}

// Limit returns the -j value of a pool this process created, or 0 for a
// client of someone else's pool.
func (p *Pool) Limit() int { return p.n }

// Acquire blocks until a token is available or ctx is done.
func (p *Pool) Acquire(ctx context.Context) (Token, error) {
	p.mu.Lock()
	if p.implicitFree {
		p.implicitFree = false
		p.mu.Unlock()
		return Token{implicit: true}, nil
	}
	ch := make(chan Token, 1)
	p.queue = append(p.queue, ch)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	select {
	case t := <-ch:
		return t, nil
	case <-ctx.Done():
		p.mu.Lock()
		for i, c := range p.queue {
			if c == ch {
				p.queue = append(p.queue[:i], p.queue[i+1:]...)
				p.mu.Unlock()
				return Token{}, ctx.Err()
			}
		}
		p.mu.Unlock()
		// A token was handed over as ctx ended: give it back.
		p.Release(<-ch)
		return Token{}, ctx.Err()
	}
}

// Release returns a token to the pool, handing it straight to a waiter if
// there is one.
func (p *Pool) Release(t Token) {
	p.mu.Lock()
	if len(p.queue) > 0 {
		ch := p.queue[0]
		p.queue = p.queue[1:]
		p.mu.Unlock()
		ch <- t
		return
	}
	if t.implicit {
		p.implicitFree = true
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.writeBack(t.b)
}

func (p *Pool) writeBack(b byte) {
	p.w.Write([]byte{b})
}

// reader reads a token byte from the pipe whenever someone waits for one.
func (p *Pool) reader() {
	buf := make([]byte, 1)
	for range p.wake {
		for {
			p.mu.Lock()
			waiting := len(p.queue) > 0
			p.mu.Unlock()
			if !waiting {
				break
			}
			n, err := p.r.Read(buf)
			if err != nil {
				return // pool closed
			}
			if n == 1 {
				p.mu.Lock()
				if len(p.queue) > 0 {
					ch := p.queue[0]
					p.queue = p.queue[1:]
					p.mu.Unlock()
					ch <- Token{b: buf[0]}
				} else {
					p.mu.Unlock()
					p.writeBack(buf[0])
				}
			}
		}
	}
}

// Files returns the files a child must inherit to use the pool (in order,
// as fds 3, 4, ... when passed as exec.Cmd.ExtraFiles) and the MAKEFLAGS
// jobserver words that name them at those descriptor numbers (first is the
// fd number of the first file).
func (p *Pool) Files(first int) ([]*os.File, string) {
	j := ""
	if p.n > 0 {
		j = fmt.Sprintf(" -j%d", p.n)
	}
	if p.style == Fifo {
		return nil, j + " --jobserver-auth=fifo:" + p.fifo
	}
	return []*os.File{p.r, p.w}, fmt.Sprintf("%s --jobserver-auth=%d,%d", j, first, first+1)
}

// MakeFlags returns makeflags with any jobserver and -j words replaced by
// this pool's, for a child that inherits the pool's files at first.
func (p *Pool) MakeFlags(makeflags string, first int) string {
	var keep []string
	for _, f := range strings.Fields(makeflags) {
		if strings.HasPrefix(f, "--jobserver-auth=") || strings.HasPrefix(f, "--jobserver-fds=") ||
			f == "-j" || strings.HasPrefix(f, "-j") && isDigits(f[2:]) {
			continue
		}
		keep = append(keep, f)
	}
	_, words := p.Files(first)
	return strings.TrimSpace(strings.Join(keep, " ") + words)
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// Close releases the pool's descriptors and removes a fifo it created.
func (p *Pool) Close() error {
	if p.r != nil {
		p.r.Close()
	}
	if p.w != nil && p.w != p.r {
		p.w.Close()
	}
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
	return nil
}
