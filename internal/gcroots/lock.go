package gcroots

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// pollEvery is how often a waiting lock is tried again. flock cannot be
// interrupted by a context, so waiting is polling.
const pollEvery = 50 * time.Millisecond

// Shared takes the gc lock of cacheDir shared, as builds do, waiting while
// gc holds it (calling waiting once, if not nil, when it must wait).
// Release it by calling the returned function.
func Shared(ctx context.Context, cacheDir string, waiting func()) (func(), error) {
	return lock(ctx, cacheDir, false, waiting)
}

// Exclusive takes the gc lock of cacheDir exclusively, as gc does, waiting
// while builds hold it (calling waiting once, if not nil, when it must).
func Exclusive(ctx context.Context, cacheDir string, waiting func()) (func(), error) {
	return lock(ctx, cacheDir, true, waiting)
}

func lock(ctx context.Context, cacheDir string, exclusive bool, waiting func()) (func(), error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("gc lock: %w", err)
	}
	path := filepath.Join(cacheDir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("gc lock: %w", err)
	}
	for first := true; ; first = false {
		ok, err := tryLock(f, exclusive)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("gc lock %s: %w", path, err)
		}
		if ok {
			return func() { f.Close() }, nil
		}
		if first && waiting != nil {
			waiting()
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

// registered remembers the trees this process registered, so each build
// after the first costs no database write.
var registered sync.Map

// Hold is what a package build calls before it uses the store, the source
// cache, the downloads or the seed cache of cacheDir: it takes the gc lock
// shared (saying so through logf if hdo gc holds it) and records tree as a
// root, once per process. A failure to record is a warning, not an error:
// the build is worth more than the record. Call the returned function when
// the build is done.
func Hold(ctx context.Context, cacheDir, tree string, logf func(format string, args ...any)) (func(), error) {
	release, err := Shared(ctx, cacheDir, func() {
		if logf != nil {
			logf("waiting for hdo gc to finish with %s", cacheDir)
		}
	})
	if err != nil {
		return nil, err
	}
	key := cacheDir + "\x00" + tree
	if _, done := registered.Load(key); !done {
		if err := Register(cacheDir, Tree, tree); err != nil {
			if logf != nil {
				logf("%v (hdo gc may then remove what %s needs)", err, tree)
			}
		} else {
			registered.Store(key, true)
		}
	}
	return release, nil
}

// Register records one root in the gc database of cacheDir.
func Register(cacheDir string, kind Kind, path string) error {
	db, err := Open(cacheDir)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Add(kind, path)
}
