package venv

import (
	"errors"
	"io/fs"
	"os"
)

// replaceByRename puts src at dst by two renames, leaving the old dst at
// src: for filesystems that cannot exchange directories.
func replaceByRename(src, dst string) error {
	old := src + ".old"
	if err := os.Rename(dst, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		os.Rename(old, dst)
		return err
	}
	return os.Rename(old, src)
}
