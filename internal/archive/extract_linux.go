package archive

import (
	"fmt"
	"io"
	"io/fs"
	"sort"

	"github.com/hdo-build/hdo/internal/beneath"
)

// linuxTree extracts through a beneath.Dir, so that no path is ever
// resolved through a symlink or outside dest, even if something else
// changes the tree while it is being extracted. Everything it makes has
// the Unix epoch as its mtime.
type linuxTree struct {
	dir      *beneath.Dir
	readOnly bool
	clear    uint32 // mode bits cleared on every entry
}

func newTree(dest string, opts Options) (tree, error) {
	var clear uint32
	if opts.ReadOnly {
		clear |= 0o222
	}
	if opts.Private {
		clear |= 0o022
	}
	if err := prepareDest(dest); err != nil {
		return nil, err
	}
	d, err := beneath.Open(dest)
	if err != nil {
		return nil, fmt.Errorf("archive: extract into %s: %w", dest, err)
	}
	d.Epoch = true
	return &linuxTree{dir: d, readOnly: opts.ReadOnly, clear: clear}, nil
}

func (t *linuxTree) mkdir(name string) error {
	// Owner-writable until finish, whatever the archive says.
	return t.dir.Mkdir(name, 0o700)
}

func (t *linuxTree) create(name string, mode fs.FileMode) (io.WriteCloser, error) {
	return t.dir.Create(name, t.unixMode(mode))
}

func (t *linuxTree) symlink(target, name string) error { return t.dir.Symlink(target, name) }
func (t *linuxTree) link(oldname, name string) error   { return t.dir.Link(oldname, name) }
func (t *linuxTree) remove(name string) error          { return t.dir.Remove(name) }

func (t *linuxTree) finish(dirs []dirMode) error {
	// Deepest first: a descendant sorts after its ancestors, and an
	// ancestor must stay searchable (and writable) until its descendants
	// are done.
	sort.Slice(dirs, func(i, j int) bool { return dirs[i].name > dirs[j].name })
	for _, d := range dirs {
		if err := t.dir.ChmodDir(d.name, t.unixMode(d.mode)); err != nil {
			return fmt.Errorf("archive: set mode of %s: %w", d.name, err)
		}
	}
	if t.readOnly {
		mode, err := t.dir.Lstat(".")
		if err != nil {
			return fmt.Errorf("archive: %s: %w", t.dir.Path(), err)
		}
		if err := t.dir.ChmodDir(".", beneath.UnixMode(mode)&^0o222); err != nil {
			return fmt.Errorf("archive: %s: %w", t.dir.Path(), err)
		}
	}
	return nil
}

func (t *linuxTree) close() error { return t.dir.Close() }

// unixMode turns permission and sticky bits into a chmod argument, less
// the bits the options clear.
func (t *linuxTree) unixMode(m fs.FileMode) uint32 {
	return beneath.UnixMode(m) &^ t.clear
}
