//go:build !linux

package sandbox

import (
	"context"
	"fmt"
	"runtime"
)

// Run is unsupported outside Linux: builds need Linux namespaces.
func Run(ctx context.Context, cfg *Config) error {
	return fmt.Errorf("sandbox: builds need Linux namespaces; this system is %s: build on Linux (or in a Linux VM)", runtime.GOOS)
}

// Main does nothing outside Linux.
func Main() {}

// BuildOwner reports no build user outside Linux.
func BuildOwner() (uid, gid int, ok bool) { return 0, 0, false }
