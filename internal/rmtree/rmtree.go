// Package rmtree removes directory trees that builds and unpacked
// packages leave read-only: one implementation for the store, the
// package rules, gc, venvs and the bootstrap.
package rmtree

import (
	"io/fs"
	"os"
	"path/filepath"
)

// Remove removes dir and everything below it, as os.RemoveAll does, first
// giving each directory in it owner rwx so that its entries can be listed
// and unlinked (a package's tree, or a build's, may hold mode 0555 or 0
// directories). Symlinks are never followed nor chmodded. A dir that does
// not exist is not an error.
func Remove(dir string) error {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		// WalkDir calls this for a directory before reading it, so even
		// a mode 0 directory can be opened next.
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
