package jobserver

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Private is a jobserver pipe of one untrusted child's own (a sandboxed
// build), backed by the pool's tokens: a broker offers the child one token
// at a time, each standing for a token it took from the pool, and gives
// the pool back what the child returns. Whatever the child does to its
// pipe (writes extra bytes, keeps tokens, fills it), it runs at most as
// many jobs as the pool granted, the pool gets every token back when the
// child is done, and hdo never blocks on the child's pipe.
//
// The child's descriptors are plain blocking pipe ends; the broker works
// through its own non-blocking open file descriptions of the same pipe.
type Private struct {
	pool           *Pool
	childR, childW *os.File
	r, w           int // ours: raw non-blocking fds (an *os.File would park on EAGAIN)

	mu      sync.Mutex
	held    []Token            // pool tokens for the bytes out of our hands
	offered int64              // bytes we wrote
	drained int64              // of those, bytes we read back
	got     []Token            // tokens acquires brought, not yet offered
	cancel  context.CancelFunc // of the pending acquire, nil if none
	asks    sync.WaitGroup     // acquires running

	stop chan struct{}
	done chan struct{}
}

// privateTick is how often the broker looks at the pipe: a pipe tells no
// one when a byte is read from it.
const privateTick = 2 * time.Millisecond

// NewPrivate starts a private jobserver over the pool.
func (p *Pool) NewPrivate() (*Private, error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("jobserver: %w", err)
	}
	b := &Private{
		pool:   p,
		childR: os.NewFile(uintptr(fds[0]), "jobserver-r"),
		childW: os.NewFile(uintptr(fds[1]), "jobserver-w"),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	var err error
	if b.r, err = unix.Open(fmt.Sprintf("/proc/self/fd/%d", fds[0]), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err == nil {
		b.w, err = unix.Open(fmt.Sprintf("/proc/self/fd/%d", fds[1]), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		b.closeFiles()
		return nil, fmt.Errorf("jobserver: %w", err)
	}
	go b.broker()
	return b, nil
}

// Files returns the pipe ends the child inherits (at fds first and
// first+1) and the MAKEFLAGS words naming them.
func (b *Private) Files(first int) ([]*os.File, string) {
	j := ""
	if b.pool.n > 0 {
		j = fmt.Sprintf(" -j%d", b.pool.n)
	}
	return []*os.File{b.childR, b.childW}, fmt.Sprintf("%s --jobserver-auth=%d,%d", j, first, first+1)
}

// Close stops the broker and gives the pool every token it holds. Call it
// once the child and everything it started are gone.
func (b *Private) Close() {
	close(b.stop)
	<-b.done
	b.mu.Lock()
	if b.cancel != nil {
		b.cancel()
		b.cancel = nil
	}
	b.mu.Unlock()
	b.asks.Wait()
	b.mu.Lock()
	back := append(b.held, b.got...)
	b.held, b.got = nil, nil
	b.mu.Unlock()
	for _, t := range back {
		b.pool.Release(t)
	}
	b.closeFiles()
}

func (b *Private) closeFiles() {
	b.childR.Close()
	b.childW.Close()
	for _, fd := range []int{b.r, b.w} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

func (b *Private) broker() {
	defer close(b.done)
	t := time.NewTicker(privateTick)
	defer t.Stop()
	for {
		b.step()
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
	}
}

// step looks at the pipe once: takes back forged bytes and returned
// tokens beyond one waiting offer, gives the pool back what the child no
// longer holds, and offers a token when none waits, asking the pool for
// one if need be.
func (b *Private) step() {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := unix.IoctlGetInt(b.r, unix.TIOCINQ)
	if err != nil {
		return
	}
	out := b.offered - b.drained // ours, in the pipe or in the child's hands
	inPipe := int64(n)
	if inPipe > out {
		// Bytes the child wrote that no one gave it: not tokens.
		b.read(inPipe - out)
		inPipe = out
	}
	if inPipe > 1 {
		// Returned tokens: keep one as the offer, take back the rest.
		got := b.read(inPipe - 1)
		b.drained += got
		inPipe -= got
		for ; got > 0 && len(b.held) > 0; got-- {
			tok := b.held[len(b.held)-1]
			b.held = b.held[:len(b.held)-1]
			b.pool.Release(tok)
		}
	}
	// Tokens the pool gave: one becomes the offer if none waits, the
	// others go back.
	for _, tok := range b.got {
		if inPipe == 0 {
			if k, err := unix.Write(b.w, []byte{'+'}); err == nil && k == 1 {
				b.offered++
				b.held = append(b.held, tok)
				inPipe++
				continue
			}
		}
		b.pool.Release(tok)
	}
	b.got = b.got[:0]
	switch {
	case inPipe == 0 && b.cancel == nil:
		// The child took every offer: ask the pool for another.
		ctx, cancel := context.WithCancel(context.Background())
		b.cancel = cancel
		b.asks.Add(1)
		go func() {
			defer b.asks.Done()
			tok, err := b.pool.Acquire(ctx)
			if err != nil {
				return
			}
			b.mu.Lock()
			b.got = append(b.got, tok)
			if b.cancel != nil {
				b.cancel()
				b.cancel = nil
			}
			b.mu.Unlock()
		}()
	case inPipe > 0 && b.cancel != nil:
		// An offer waits again: the pending ask is not needed.
		b.cancel()
		b.cancel = nil
	}
}

// read reads and discards up to n bytes from the pipe, returning how many.
func (b *Private) read(n int64) int64 {
	buf := make([]byte, 512)
	var got int64
	for got < n {
		want := n - got
		if want > int64(len(buf)) {
			want = int64(len(buf))
		}
		k, err := unix.Read(b.r, buf[:want])
		if err == unix.EINTR {
			continue
		}
		if err != nil || k <= 0 {
			break
		}
		got += int64(k)
	}
	return got
}
