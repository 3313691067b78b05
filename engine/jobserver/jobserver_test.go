package jobserver

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLimit(t *testing.T) {
	for _, style := range []Style{Pipe, Fifo} {
		t.Run(string(style), func(t *testing.T) {
			p, err := New(3, style)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			var running, max atomic.Int32
			var wg sync.WaitGroup
			for i := 0; i < 12; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tok, err := p.Acquire(context.Background())
					if err != nil {
						t.Error(err)
						return
					}
					n := running.Add(1)
					for {
						m := max.Load()
						if n <= m || max.CompareAndSwap(m, n) {
							break
						}
					}
					time.Sleep(10 * time.Millisecond)
					running.Add(-1)
					p.Release(tok)
				}()
			}
			wg.Wait()
			if m := max.Load(); m != 3 {
				t.Errorf("max concurrency %d, want 3", m)
			}
		})
	}
}

func TestAcquireCancel(t *testing.T) {
	p, err := New(1, Pipe)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tok, _ := p.Acquire(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := p.Acquire(ctx); err == nil {
		t.Fatal("second token with -j1")
	}
	p.Release(tok)
	if _, err := p.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestMakeFlags(t *testing.T) {
	p, err := New(4, Pipe)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got := p.MakeFlags("k -j8 --jobserver-auth=7,8 --no-print-directory", 3)
	want := "k --no-print-directory -j4 --jobserver-auth=3,4"
	if got != want {
		t.Errorf("MakeFlags = %q, want %q", got, want)
	}
	f, err := New(2, Fifo)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.MakeFlags("", 3); !strings.HasPrefix(got, "-j2 --jobserver-auth=fifo:/") {
		t.Errorf("fifo MakeFlags = %q", got)
	}
}

func TestFromMakeflags(t *testing.T) {
	if p, err := FromMakeflags(" -j4"); p != nil || err != nil {
		t.Errorf("no jobserver: got %v, %v", p, err)
	}
	if _, err := FromMakeflags(" -j4 --jobserver-auth=900,901"); err == nil || !strings.Contains(err.Error(), "'+'") {
		t.Errorf("closed fds: %v; want a hint about '+'", err)
	}
	srv, err := New(3, Fifo)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_, words := srv.Files(3)
	c, err := FromMakeflags(words)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The client has its implicit token plus the server's 2 in the fifo.
	var toks []Token
	for i := 0; i < 3; i++ {
		tok, err := c.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Acquire(ctx); err == nil {
		t.Error("client got a 4th token from a -j3 fifo")
	}
	for _, tok := range toks {
		c.Release(tok)
	}
}

// A -j too large for the pipe is an error, at once, not a hang.
func TestNewTooMany(t *testing.T) {
	for _, style := range []Style{Pipe, Fifo} {
		p, err := New(65538, style)
		if err == nil {
			p.Close()
			t.Fatalf("New(65538, %s) succeeded", style)
		}
		if !strings.Contains(err.Error(), "-j 65538 is more than the 4096") {
			t.Errorf("New(65538, %s): %v", style, err)
		}
	}
	p, err := New(MaxJobs, Pipe)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
}
