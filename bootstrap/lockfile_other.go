//go:build !unix

package bootstrap

import "context"

// lockFile does nothing where flock is missing: concurrent builds of one
// seed then both build it, and the atomic rename keeps the result whole.
func lockFile(ctx context.Context, path string) (func(), error) {
	return func() {}, nil
}
