//go:build !linux

package fetch

import (
	"errors"
	"os"
)

// tryLock is Linux-only, like the rest of hdo.
func tryLock(*os.File) (bool, error) {
	return false, errors.New("locking the source cache is only implemented on Linux")
}
