// Package flock takes exclusive file locks that serialize short critical
// sections between hdo processes, such as the first open of a sqlite
// database.
package flock

import (
	"fmt"
	"os"
	"syscall"
)

// Lock takes an exclusive flock on path, creating the file if need be and
// waiting while another open file holds it. The kernel drops the lock when
// the holder exits; call the returned function to drop it sooner.
func Lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// WithFile runs fn while holding an exclusive flock on the open file f.
func WithFile(f *os.File, fn func() error) error {
	var err error
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return fn()
}

// With runs fn while holding the lock on path (see Lock).
func With(path string, fn func() error) error {
	release, err := Lock(path)
	if err != nil {
		return err
	}
	defer release()
	return fn()
}
