package archive

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// EntryType is the kind of one path in an extracted tree.
type EntryType byte

// The kinds of path a package may hold. Hard links become TypeFile.
const (
	TypeFile    EntryType = 'f'
	TypeDir     EntryType = 'd'
	TypeSymlink EntryType = 'l'
)

func (t EntryType) String() string {
	switch t {
	case TypeFile:
		return "regular file"
	case TypeDir:
		return "directory"
	case TypeSymlink:
		return "symlink"
	}
	return fmt.Sprintf("EntryType(%q)", byte(t))
}

// Entry is one path of an extracted tree as the archive describes it.
type Entry struct {
	Path   string      // cleaned and slash-separated, e.g. "usr/bin/make"
	Type   EntryType   // e.g. TypeFile
	Mode   fs.FileMode // permission and sticky bits, e.g. 0o755; always 0o777 for symlinks
	Size   int64       // regular files: content length in bytes
	Sum    string      // regular files: hex blake3-256 of the content
	Target string      // symlinks: the link target, e.g. "libz.so.1"
}

// Listing is the tree an archive extracts to.
type Listing struct {
	// ContentHash is the hex blake3-256 of the uncompressed tar stream, the
	// same value ContentHash returns.
	ContentHash string
	// Entries holds the final state of every path, sorted by Path: a later
	// duplicate replaces an earlier entry, hard links appear as the regular
	// file they share, and parent directories the archive leaves implicit
	// appear with mode 0o755.
	Entries []Entry
}

// List reads the gzipped tar stream r with the same checks as Extract and
// returns what it would extract, writing nothing.
func List(ctx context.Context, r io.Reader, lim Limits) (*Listing, error) {
	return unpack(ctx, r, true, "", Options{Limits: lim}, true)
}

// ListFile is List of the tarball at path with DefaultLimits.
func ListFile(path string) (*Listing, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l, err := List(context.Background(), f, DefaultLimits())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}
