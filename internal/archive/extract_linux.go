package archive

import (
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// noOpenat2 is set once openat2 turns out to be missing (kernels before
// 5.6, or a seccomp filter that hides it); tests set it to cover the
// fallback.
var noOpenat2 atomic.Bool

// epochTimes sets atime and mtime to the Unix epoch.
var epochTimes = []unix.Timespec{{}, {}}

// linuxTree extracts with *at system calls relative to a descriptor of
// dest, so that no path is ever resolved through a symlink or outside dest,
// even if something else changes the tree while it is being extracted.
type linuxTree struct {
	dest     string
	root     int // O_RDONLY|O_DIRECTORY descriptor of dest
	readOnly bool
	clear    uint32 // mode bits cleared on every entry
	dirName  string // the directory dirFD refers to, cached for the next entry
	dirFD    int    // -1 when none
}

func newTree(dest string, opts Options) (tree, error) {
	readOnly := opts.ReadOnly
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
	fd, err := unix.Open(dest, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("archive: extract into %s: %w", dest, err)
	}
	return &linuxTree{dest: dest, root: fd, readOnly: readOnly, clear: clear, dirFD: -1}, nil
}

// openBeneath opens the directory rel beneath dest without following any
// symlink. flags must include O_DIRECTORY.
func (t *linuxTree) openBeneath(rel string, flags int) (int, error) {
	flags |= unix.O_NOFOLLOW | unix.O_CLOEXEC
	if !noOpenat2.Load() {
		fd, err := unix.Openat2(t.root, rel, &unix.OpenHow{
			Flags:   uint64(flags),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
		})
		switch err {
		case unix.ENOSYS:
			noOpenat2.Store(true)
		case unix.EPERM:
			// Some seccomp filters refuse unknown system calls with EPERM,
			// which openat2 never returns for a path lookup of its own;
			// if the refusal is real, openat below reports it again.
		default:
			return fd, err
		}
	}
	// One component at a time, each with O_NOFOLLOW: names never contain
	// "..", so this cannot leave dest either.
	fd, err := unix.Openat(t.root, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	for rest := rel; rest != ""; {
		c, more, _ := strings.Cut(rest, "/")
		rest = more
		fl := unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if rest == "" {
			fl = flags
		}
		next, err := unix.Openat(fd, c, fl, 0)
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

// parent returns a descriptor of the directory holding name, and name's
// last component. The descriptor belongs to t.
func (t *linuxTree) parent(name string) (int, string, error) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return t.root, name, nil
	}
	dir := name[:i]
	if t.dirFD >= 0 && dir == t.dirName {
		return t.dirFD, name[i+1:], nil
	}
	fd, err := t.openBeneath(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return -1, "", err
	}
	t.dropDir()
	t.dirName, t.dirFD = dir, fd
	return fd, name[i+1:], nil
}

func (t *linuxTree) dropDir() {
	if t.dirFD >= 0 {
		unix.Close(t.dirFD)
		t.dirFD = -1
	}
}

func (t *linuxTree) mkdir(name string) error {
	dfd, base, err := t.parent(name)
	if err != nil {
		return err
	}
	// Owner-writable until finish, whatever the archive says.
	return unix.Mkdirat(dfd, base, 0o700)
}

func (t *linuxTree) create(name string, mode fs.FileMode) (io.WriteCloser, error) {
	dfd, base, err := t.parent(name)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Openat(dfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	return &linuxFile{fd: fd, mode: t.unixMode(mode)}, nil
}

func (t *linuxTree) symlink(target, name string) error {
	dfd, base, err := t.parent(name)
	if err != nil {
		return err
	}
	if err := unix.Symlinkat(target, dfd, base); err != nil {
		return err
	}
	return unix.UtimesNanoAt(dfd, base, epochTimes, unix.AT_SYMLINK_NOFOLLOW)
}

func (t *linuxTree) link(oldname, name string) error {
	ofd, obase := t.root, oldname
	if i := strings.LastIndexByte(oldname, '/'); i >= 0 {
		fd, err := t.openBeneath(oldname[:i], unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		ofd, obase = fd, oldname[i+1:]
	}
	dfd, base, err := t.parent(name)
	if err != nil {
		return err
	}
	// flags 0: linkat never follows a symlink at oldname.
	return unix.Linkat(ofd, obase, dfd, base, 0)
}

func (t *linuxTree) remove(name string) error {
	dfd, base, err := t.parent(name)
	if err != nil {
		return err
	}
	return unix.Unlinkat(dfd, base, 0)
}

func (t *linuxTree) finish(dirs []dirMode) error {
	t.dropDir()
	// Deepest first: a descendant sorts after its ancestors, and an
	// ancestor must stay searchable (and writable) until its descendants
	// are done.
	sort.Slice(dirs, func(i, j int) bool { return dirs[i].name > dirs[j].name })
	for _, d := range dirs {
		fd, err := t.openBeneath(d.name, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			return fmt.Errorf("archive: set mode of %s: %w", d.name, err)
		}
		err = setModeTimes(fd, t.unixMode(d.mode))
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("archive: set mode of %s: %w", d.name, err)
		}
	}
	if t.readOnly {
		var st unix.Stat_t
		if err := unix.Fstat(t.root, &st); err != nil {
			return fmt.Errorf("archive: %s: %w", t.dest, err)
		}
		if err := unix.Fchmod(t.root, st.Mode&0o7777&^0o222); err != nil {
			return fmt.Errorf("archive: %s: %w", t.dest, err)
		}
	}
	return nil
}

func (t *linuxTree) close() error {
	t.dropDir()
	return unix.Close(t.root)
}

// unixMode turns permission and sticky bits into a chmod argument.
func (t *linuxTree) unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSticky != 0 {
		u |= unix.S_ISVTX
	}
	return u &^ t.clear
}

func setModeTimes(fd int, mode uint32) error {
	if err := unix.Fchmod(fd, mode); err != nil {
		return err
	}
	return unix.UtimesNanoAt(fd, "", epochTimes, unix.AT_EMPTY_PATH)
}

// linuxFile is a regular file being extracted; Close gives it its mode and
// mtime.
type linuxFile struct {
	fd   int
	mode uint32
}

func (f *linuxFile) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n, err := unix.Write(f.fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return written, err
		}
		if n == 0 {
			return written, io.ErrShortWrite
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

func (f *linuxFile) Close() error {
	err := setModeTimes(f.fd, f.mode)
	if cerr := unix.Close(f.fd); err == nil {
		err = cerr
	}
	return err
}
