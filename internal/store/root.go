package store

import (
	"context"
	"fmt"
	"runtime"
	"sync"
)

// Member is one package of a root: a build closure, a venv, the packages
// of hdo run.
type Member struct {
	Name     string // as messages and conflicts name it, e.g. "pkg/make"
	PkgHash  string
	Tarball  string // the package's .pkg.tar.gz on the host
	FileHash string // the tarball's recorded hash, or "" (see Ensure)
}

// RootOptions tune EnsureRoot.
type RootOptions struct {
	// Owner, if set, gives every entry to this user (see GiveTo); it
	// returns the uid and gid, and false for none.
	Owner func() (uid, gid int, ok bool)
	// Replaced hears of an entry whose content was replaced (see
	// EnsureReplaced).
	Replaced func(m Member)
}

// EnsureRoot unpacks every member (Ensure, several at a time) and checks
// that they can share one root (Conflicts). It returns the entries'
// directories, in the members' order. An error of one member names it
// (the first member's in order, when several fail); a conflict is a
// *ConflictError, which the caller puts in context.
func (s *Store) EnsureRoot(ctx context.Context, members []Member, opts RootOptions) ([]string, error) {
	dirs := make([]string, len(members))
	replaced := make([]bool, len(members))
	errs := make([]error, len(members))
	// Unpacking a small package is mostly system calls and a few syncs:
	// several overlap well even on one core.
	workers := min(len(members), max(4, runtime.GOMAXPROCS(0)))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				m := members[i]
				dirs[i], replaced[i], errs[i] = s.EnsureReplaced(ctx, m.PkgHash, m.Tarball, m.FileHash)
			}
		})
	}
	for i := range members {
		next <- i
	}
	close(next)
	wg.Wait()
	manifests := make(map[string]Manifest, len(members))
	for i, m := range members {
		if errs[i] != nil {
			return nil, fmt.Errorf("%s: %w", m.Name, errs[i])
		}
		if replaced[i] && opts.Replaced != nil {
			opts.Replaced(m)
		}
		var err error
		if manifests[m.Name], err = s.Manifest(m.PkgHash); err != nil {
			return nil, fmt.Errorf("%s: %w", m.Name, err)
		}
		if opts.Owner != nil {
			if uid, gid, ok := opts.Owner(); ok {
				if err := s.GiveTo(m.PkgHash, uid, gid); err != nil {
					return nil, fmt.Errorf("%s: %w", m.Name, err)
				}
			}
		}
	}
	if err := Conflicts(manifests); err != nil {
		return nil, err
	}
	return dirs, nil
}

// Background unpacks packages into the store while the caller does
// something else (downloads the rest of a closure, say), a few at a time,
// so that a later EnsureRoot finds them in place. Errors are not kept:
// EnsureRoot meets them again and reports them.
type Background struct {
	todo chan Member
	wg   sync.WaitGroup
}

// Background starts the workers; Wait must be called.
func (s *Store) Background(ctx context.Context) *Background {
	b := &Background{todo: make(chan Member, 1024)}
	for range max(4, runtime.GOMAXPROCS(0)) {
		b.wg.Go(func() {
			for m := range b.todo {
				if ctx.Err() == nil {
					s.EnsureReplaced(ctx, m.PkgHash, m.Tarball, m.FileHash)
				}
			}
		})
	}
	return b
}

// Add queues a package to unpack. It does not block unless over a
// thousand are waiting.
func (b *Background) Add(m Member) { b.todo <- m }

// Wait waits for every package added to be unpacked (or to fail).
func (b *Background) Wait() {
	close(b.todo)
	b.wg.Wait()
}
