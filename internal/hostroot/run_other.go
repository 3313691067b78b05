//go:build !linux

package hostroot

import (
	"context"
	"errors"
	"os"
)

// Run needs Linux namespaces.
func Run(ctx context.Context, plan Plan, cmd Command) (int, error) {
	return 0, errors.New("hostroot: needs Linux (mount and user namespaces)")
}

// Main does nothing where Run is not supported.
func Main() {}

// InheritedFiles returns nothing where Run is not supported.
func InheritedFiles() []*os.File { return nil }

const oldRootName = ".hdo-oldroot"
