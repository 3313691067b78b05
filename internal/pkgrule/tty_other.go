//go:build !linux

package pkgrule

import "os"

func isTTY(f *os.File) bool { return false }
