package pkgspec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/hdo-build/hdo/internal/pkgtree"
)

// Kind is the type of an entry under files/.
type Kind uint8

// The kinds of entries files/ may hold.
const (
	KindFile Kind = iota
	KindDir
	KindSymlink
)

func (k Kind) String() string {
	switch k {
	case KindFile:
		return "file"
	case KindDir:
		return "dir"
	case KindSymlink:
		return "symlink"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// FileEntry is one entry under a package's files/ directory.
type FileEntry struct {
	Rel    string // slash-separated, relative to files/, e.g. patches/fix.patch
	Kind   Kind
	Exec   bool   // a regular file with any execute bit set
	Target string // symlink target as stored, e.g. ../common.sh
	Path   string // root-relative path to read, e.g. pkg/make/files/patches/fix.patch
}

// ListFiles returns the entries under dir/files (dir relative to root),
// directories included, sorted by Rel as plain strings. Symlinks are not
// followed. A package without files/ has no entries. Anything but regular
// files, directories and symlinks is an error naming the entry.
func ListFiles(root, dir string) ([]FileEntry, error) {
	rel, err := relDir(root, dir)
	if err != nil {
		return nil, err
	}
	base := path.Join(rel, pkgtree.FilesDir)
	top := filepath.Join(root, filepath.FromSlash(base))
	st, err := os.Lstat(top)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, errorf(base, 0, "is a %s; files/ must be a directory", describe(st.Mode()))
	}
	var out []FileEntry
	err = filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == top {
			return nil
		}
		r, err := filepath.Rel(top, p)
		if err != nil {
			return err
		}
		r = filepath.ToSlash(r)
		e := FileEntry{Rel: r, Path: path.Join(base, r)}
		switch t := d.Type(); {
		case t.IsDir():
			e.Kind = KindDir
		case t.IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			e.Kind, e.Exec = KindFile, info.Mode()&0o111 != 0
		case t&fs.ModeSymlink != 0:
			e.Kind = KindSymlink
			if e.Target, err = os.Readlink(p); err != nil {
				return err
			}
		default:
			return errorf(e.Path, 0, "is a %s; files/ may hold only regular files, directories and symlinks", describe(t))
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out, nil
}

func describe(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	case m.IsRegular():
		return "regular file"
	}
	return "special file"
}
