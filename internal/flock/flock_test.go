package flock

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// Holders take turns: two opens in one process exclude each other too.
func TestLockExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	release, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	var got atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		r, err := Lock(path)
		if err != nil {
			t.Error(err)
			return
		}
		got.Store(true)
		r()
	}()
	time.Sleep(50 * time.Millisecond)
	if got.Load() {
		t.Fatal("a second Lock got the lock while the first held it")
	}
	release()
	<-done
	if !got.Load() {
		t.Fatal("the second Lock never got the lock")
	}
}
