package engine

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"syscall"
	"time"

	"github.com/hdo-build/hdo/engine/state"
	"golang.org/x/sys/unix"
)

// locker serializes builds of one target across hdo processes on a tree:
// each target owns one byte of the lock file, locked with a POSIX record
// lock, which the kernel releases if the process dies and which reports
// deadlocks between processes.
type locker struct {
	f *os.File
}

func newLocker(dir *state.StateDir) (*locker, error) {
	f, err := dir.OpenFile("locks", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	return &locker{f: f}, nil
}

func (l *locker) close() { l.f.Close() }

// offset maps a target to its byte in the lock file.
func offset(rel string) int64 {
	h := fnv.New64a()
	h.Write([]byte(rel))
	return int64(h.Sum64() >> 2) // positive, well inside off_t
}

// lock takes the build lock of rel, calling waiting once if another process
// holds it. Within one process the engine's per-target mutex already
// serializes builds, so a byte is never locked twice by one process.
func (l *locker) lock(ctx context.Context, rel string, waiting func()) (func(), error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: offset(rel), Len: 1}
	err := unix.FcntlFlock(l.f.Fd(), unix.F_SETLK, &lk)
	if err == unix.EAGAIN || err == unix.EACCES {
		waiting()
		for tries := 0; ; tries++ {
			err = unix.FcntlFlock(l.f.Fd(), unix.F_SETLKW, &lk)
			if err == unix.EINTR {
				continue
			}
			if err != unix.EDEADLK {
				break
			}
			// The kernel's deadlock detection works per process and can
			// be wrong for threaded ones: retry for a while.
			if tries > 100 {
				return nil, fmt.Errorf("deadlock with another hdo process over %s: is there a dependency cycle between targets built by different processes?", rel)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", rel, err)
	}
	return func() {
		un := unix.Flock_t{Type: unix.F_UNLCK, Whence: 0, Start: offset(rel), Len: 1}
		for unix.FcntlFlock(l.f.Fd(), unix.F_SETLK, &un) == syscall.EINTR {
		}
	}, nil
}
