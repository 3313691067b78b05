//go:build !linux

package venv

func replace(src, dst string) error { return replaceByRename(src, dst) }
