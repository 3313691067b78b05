package beneath

import (
	"io"
	"io/fs"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// noOpenat2 is set once openat2 turns out to be missing (kernels before
// 5.6, or a seccomp filter that hides it).
var noOpenat2 atomic.Bool

// UseOpenat2 turns the use of openat2 on or off and returns the previous
// setting. It is for tests of callers, which cover the component-wise
// fallback with it.
func UseOpenat2(on bool) (was bool) {
	return !noOpenat2.Swap(!on)
}

// epochTimes sets atime and mtime to the Unix epoch.
var epochTimes = []unix.Timespec{{}, {}}

// Dir makes files, directories and links inside one directory through *at
// system calls relative to a descriptor of it, so that no path is ever
// resolved through a symlink or outside the directory, even if something
// else changes the tree meanwhile: lookups use openat2 with
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, or component-wise O_NOFOLLOW opens
// on kernels without it. Symlinks may be made, and point anywhere; they
// are never followed.
//
// Names are slash paths relative to the directory, as CleanName returns
// them: no "..", no leading slash. A name whose parent path goes through a
// symlink fails with ELOOP or ENOTDIR. Errors are the system call's errno,
// for the caller to put in context.
//
// A Dir is not safe for concurrent use.
type Dir struct {
	// Epoch gives everything Dir makes or changes atime and mtime 0, the
	// Unix epoch, so that an extracted tree is the same on every machine.
	Epoch bool

	path    string
	root    int    // O_RDONLY|O_DIRECTORY descriptor of path
	dirName string // the directory dirFD refers to, kept for the next call
	dirFD   int    // -1 when none
}

// Open opens the directory path for operations beneath it. path itself
// comes from the caller and is trusted: it may be a symlink to a
// directory.
func Open(path string) (*Dir, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return &Dir{path: path, root: fd, dirFD: -1}, nil
}

// Path returns the path Dir was opened with.
func (d *Dir) Path() string { return d.path }

// Close releases the directory's descriptors.
func (d *Dir) Close() error {
	d.dropDir()
	return unix.Close(d.root)
}

// openBeneath opens rel beneath the directory without following any
// symlink.
func (d *Dir) openBeneath(rel string, flags int) (int, error) {
	flags |= unix.O_NOFOLLOW | unix.O_CLOEXEC
	if rel == "." || rel == "" {
		return unix.Openat(d.root, ".", flags, 0)
	}
	if !noOpenat2.Load() {
		fd, err := unix.Openat2(d.root, rel, &unix.OpenHow{
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
	if strings.Contains("/"+rel+"/", "/../") {
		return -1, unix.EXDEV // what openat2 says of a name that leaves
	}
	// One component at a time, each with O_NOFOLLOW: with no ".." this
	// cannot leave the directory either.
	fd, err := unix.Openat(d.root, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
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
// last component. The descriptor belongs to d.
func (d *Dir) parent(name string) (int, string, error) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return d.root, name, nil
	}
	dir := name[:i]
	if d.dirFD >= 0 && dir == d.dirName {
		return d.dirFD, name[i+1:], nil
	}
	fd, err := d.openBeneath(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return -1, "", err
	}
	d.dropDir()
	d.dirName, d.dirFD = dir, fd
	return fd, name[i+1:], nil
}

func (d *Dir) dropDir() {
	if d.dirFD >= 0 {
		unix.Close(d.dirFD)
		d.dirFD = -1
	}
}

// Mkdir makes the directory name with permissions perm.
func (d *Dir) Mkdir(name string, perm uint32) error {
	dfd, base, err := d.parent(name)
	if err != nil {
		return err
	}
	return unix.Mkdirat(dfd, base, perm)
}

// Lstat returns the type and permission bits of name, without following
// a symlink at name itself. A missing name is an error that
// errors.Is(err, fs.ErrNotExist).
func (d *Dir) Lstat(name string) (fs.FileMode, error) {
	dfd, base, err := d.parent(name)
	if err != nil {
		return 0, err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return 0, err
	}
	return fileMode(st.Mode), nil
}

// Create makes the regular file name, which must not exist. The file is
// mode 0600 until Close gives it mode.
func (d *Dir) Create(name string, mode uint32) (*File, error) {
	dfd, base, err := d.parent(name)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Openat(dfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	return &File{fd: fd, mode: mode, epoch: d.Epoch}, nil
}

// Symlink makes name a symlink to target.
func (d *Dir) Symlink(target, name string) error {
	dfd, base, err := d.parent(name)
	if err != nil {
		return err
	}
	if err := unix.Symlinkat(target, dfd, base); err != nil {
		return err
	}
	if !d.Epoch {
		return nil
	}
	return unix.UtimesNanoAt(dfd, base, epochTimes, unix.AT_SYMLINK_NOFOLLOW)
}

// Link makes name another name of oldname. A symlink at oldname is linked
// itself, never followed.
func (d *Dir) Link(oldname, name string) error {
	ofd, obase := d.root, oldname
	if i := strings.LastIndexByte(oldname, '/'); i >= 0 {
		fd, err := d.openBeneath(oldname[:i], unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		ofd, obase = fd, oldname[i+1:]
	}
	dfd, base, err := d.parent(name)
	if err != nil {
		return err
	}
	// flags 0: linkat never follows a symlink at oldname.
	return unix.Linkat(ofd, obase, dfd, base, 0)
}

// Remove removes name, which must not be a directory.
func (d *Dir) Remove(name string) error {
	dfd, base, err := d.parent(name)
	if err != nil {
		return err
	}
	return unix.Unlinkat(dfd, base, 0)
}

// ChmodDir gives the directory name (or "." for the directory itself)
// mode, a chmod argument; a name that is not a directory is an error.
func (d *Dir) ChmodDir(name string, mode uint32) error {
	fd, err := d.openBeneath(name, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Fchmod(fd, mode); err != nil {
		return err
	}
	if !d.Epoch {
		return nil
	}
	return unix.UtimesNanoAt(fd, "", epochTimes, unix.AT_EMPTY_PATH)
}

// File is a regular file being written beneath a Dir.
type File struct {
	fd    int
	mode  uint32
	epoch bool
}

// Write writes all of p.
func (f *File) Write(p []byte) (int, error) {
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

// Close gives the file its mode (and epoch times) and closes it.
func (f *File) Close() error {
	err := unix.Fchmod(f.fd, f.mode)
	if err == nil && f.epoch {
		err = unix.UtimesNanoAt(f.fd, "", epochTimes, unix.AT_EMPTY_PATH)
	}
	if cerr := unix.Close(f.fd); err == nil {
		err = cerr
	}
	return err
}

// UnixMode turns the permission and sticky bits of m into a chmod
// argument; setuid and setgid are never kept.
func UnixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSticky != 0 {
		u |= unix.S_ISVTX
	}
	return u
}

// fileMode turns a stat mode into an fs.FileMode's type and permissions.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFREG:
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	default:
		mode |= fs.ModeIrregular
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
