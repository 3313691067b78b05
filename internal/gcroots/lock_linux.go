package gcroots

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes a flock on f without waiting. flock locks belong to the
// open file, so two opens in one process are two holders, and the kernel
// drops them when a process dies.
func tryLock(f *os.File, exclusive bool) (bool, error) {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}
