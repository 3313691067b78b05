package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the watcher's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWatchStops checks that a cancelled context (Ctrl-C) ends hdo watch
// cleanly: it returns nil and leaves the tree's state usable.
func TestWatchStops(t *testing.T) {
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, ".hdo"), 0o755)
	os.WriteFile(filepath.Join(root, "t.do"), []byte("redo-ifchange t.in\ncat t.in\n"), 0o644)
	os.WriteFile(filepath.Join(root, "t.in"), []byte("v1\n"), 0o644)
	var stderr syncBuffer
	environ := append(os.Environ(), "HDO_ROOT=", "MAKEFLAGS=", "XDG_CACHE_HOME="+t.TempDir())
	e := &env{stdin: strings.NewReader(""), stdout: &stderr, stderr: &stderr, cwd: root, environ: environ, getenv: func(k string) string {
		for i := len(environ) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(environ[i], k+"="); ok {
				return v
			}
		}
		return ""
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- watchVerb(ctx, e, []string{"t"}) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "watching") {
		if time.Now().After(deadline) {
			t.Fatalf("hdo watch did not start watching:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("hdo watch returned %v, want nil after Ctrl-C", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("hdo watch did not stop")
	}
	if b, err := os.ReadFile(filepath.Join(root, "t")); err != nil || string(b) != "v1\n" {
		t.Errorf("t = %q, %v", b, err)
	}
	// The state is closed and consistent: another build finds t up to date.
	stderr.mu.Lock()
	stderr.b.Reset()
	stderr.mu.Unlock()
	if err := dispatch(context.Background(), e, "hdo", []string{"t"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stderr.String(), "build t") {
		t.Errorf("t rebuilt after hdo watch stopped:\n%s", stderr.String())
	}
}
