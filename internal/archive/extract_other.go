//go:build !linux

package archive

import (
	"errors"
	"fmt"
)

func newTree(dest string, opts Options) (tree, error) {
	return nil, fmt.Errorf("archive: extract into %s: %w", dest, errors.New("extraction needs Linux (openat2 or O_NOFOLLOW openat); use hdo on Linux"))
}
