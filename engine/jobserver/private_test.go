package jobserver

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// available counts the tokens the pool can hand out within a short wait,
// then gives them back.
func available(t *testing.T, p *Pool) int {
	t.Helper()
	var toks []Token
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		tok, err := p.Acquire(ctx)
		cancel()
		if err != nil {
			break
		}
		toks = append(toks, tok)
	}
	for _, tok := range toks {
		p.Release(tok)
	}
	return len(toks)
}

// childTake reads up to n tokens from the child's end within a short
// wait each, and returns how many it got.
func childTake(t *testing.T, r *os.File, n int) int {
	t.Helper()
	got := 0
	for got < n {
		fds := []unix.PollFd{{Fd: int32(r.Fd()), Events: unix.POLLIN}}
		k, err := unix.Poll(fds, 200)
		if err != nil || k == 0 {
			break
		}
		buf := make([]byte, 1)
		if m, err := unix.Read(int(r.Fd()), buf); err != nil || m != 1 {
			break
		}
		got++
	}
	return got
}

func TestPrivateAccounting(t *testing.T) {
	p, err := New(4, Pipe) // the implicit token and 3 in the pipe
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	self, _ := p.Acquire(context.Background()) // the implicit one: ours
	defer p.Release(self)
	b, err := p.NewPrivate()
	if err != nil {
		t.Fatal(err)
	}
	files, flags := b.Files(3)
	if flags != " -j4 --jobserver-auth=3,4" {
		t.Errorf("makeflags %q", flags)
	}
	r, w := files[0], files[1]
	// The child can take every token the pool has, and no more.
	if got := childTake(t, r, 10); got != 3 {
		t.Errorf("the child got %d tokens, want the pool's 3", got)
	}
	if n := available(t, p); n != 0 {
		t.Errorf("the pool has %d tokens left while the child holds them all", n)
	}
	// Bytes the child makes up are not tokens: writing 100 counts as
	// giving back the 3 it held, and it can take no more than those 3.
	if _, err := w.Write(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if got := childTake(t, r, 100); got != 3 {
		t.Errorf("after writing 100 bytes the child took %d tokens, want the pool's 3", got)
	}
	if n := available(t, p); n != 0 {
		t.Errorf("the pool has %d tokens left while the child holds them all", n)
	}
	// Two returned: the pool gets one, one waits as the child's offer.
	w.Write([]byte("++"))
	time.Sleep(50 * time.Millisecond)
	if n := available(t, p); n != 1 {
		t.Errorf("after 2 returns the pool has %d tokens, want 1", n)
	}
	// Close gives the pool every token, even those the child kept.
	b.Close()
	if n := available(t, p); n != 3 {
		t.Errorf("after Close the pool has %d tokens, want 3", n)
	}
}

// A child that fills its pipe (a non-blocking reopen, written until the
// pipe is full) neither blocks hdo nor keeps tokens.
func TestPrivateFilledPipe(t *testing.T) {
	p, err := New(2, Pipe)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	self, _ := p.Acquire(context.Background())
	defer p.Release(self)
	b, err := p.NewPrivate()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := b.Files(3)
	nb, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", files[1].Fd()), unix.O_WRONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(nb)
	junk := make([]byte, 1<<20)
	unix.Write(nb, junk) // fills the pipe: EAGAIN after 64 KiB
	unix.Write(nb, junk)
	done := make(chan struct{})
	go func() {
		b.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked on a full pipe")
	}
	if n := available(t, p); n != 1 {
		t.Errorf("after Close the pool has %d tokens, want 1", n)
	}
}
