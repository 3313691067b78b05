package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"

	"golang.org/x/sys/unix"
)

// merger unions layer directories into a tmpfs by bind mounts, the
// fallback where overlayfs is refused. Only what layers share is created
// in the tmpfs (directories, symlinks, mount points); everything one layer
// alone has is bound whole, so the cost grows with the entries of shared
// directories, not with bytes.
type merger struct {
	binds []string // targets of the bind mounts made
}

// merge fills dst with the union of srcs, the same directory in several
// layers, the first winning. Entries already in dst (the skeleton) win
// over all layers.
func (m *merger) merge(dst string, srcs []string) error {
	type entry struct {
		srcs  []string // dirs of srcs holding the name, in order
		modes []fs.FileMode
	}
	entries := map[string]*entry{}
	var names []string
	for _, s := range srcs {
		des, err := os.ReadDir(s)
		if err != nil {
			return fmt.Errorf("read %w", err)
		}
		for _, de := range des {
			e := entries[de.Name()]
			if e == nil {
				e = new(entry)
				entries[de.Name()] = e
				names = append(names, de.Name())
			}
			e.srcs = append(e.srcs, s)
			e.modes = append(e.modes, de.Type())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		e := entries[name]
		d := dst + "/" + name
		// Directories merge while layers agree on a directory; below the
		// first non-directory, layers are hidden as in overlayfs.
		var dirs []string
		for i, mode := range e.modes {
			if !mode.IsDir() {
				break
			}
			dirs = append(dirs, e.srcs[i]+"/"+name)
		}
		first := e.srcs[0] + "/" + name
		var st unix.Stat_t
		switch err := unix.Lstat(d, &st); {
		case err == nil: // in the skeleton
			if st.Mode&unix.S_IFMT == unix.S_IFDIR && len(dirs) > 0 {
				if err := m.merge(d, dirs); err != nil {
					return err
				}
			}
			continue
		case !errors.Is(err, unix.ENOENT):
			return fmt.Errorf("lstat %s: %w", d, err)
		}
		switch mode := e.modes[0]; {
		case len(dirs) > 1:
			if err := mkdirLike(d, first); err != nil {
				return err
			}
			if err := m.merge(d, dirs); err != nil {
				return err
			}
		case mode.IsDir():
			if err := mkdirLike(d, first); err != nil {
				return err
			}
			if err := m.bind(first, d); err != nil {
				return err
			}
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(first)
			if err != nil {
				return fmt.Errorf("readlink %w", err)
			}
			if err := unix.Symlink(target, d); err != nil {
				return fmt.Errorf("symlink %s: %w", d, err)
			}
		default:
			fd, err := unix.Open(d, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
			if err != nil {
				return fmt.Errorf("create %s: %w", d, err)
			}
			unix.Close(fd)
			if err := m.bind(first, d); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *merger) bind(src, dst string) error {
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	m.binds = append(m.binds, dst)
	return nil
}

// mkdirLike makes directory dst with the permissions of src.
func mkdirLike(dst, src string) error {
	var st unix.Stat_t
	if err := unix.Stat(src, &st); err != nil {
		return fmt.Errorf("stat %s: %w", src, err)
	}
	if err := unix.Mkdir(dst, st.Mode&0o7777); err != nil {
		return fmt.Errorf("mkdir %s: %w", dst, err)
	}
	return nil
}

// makeReadOnly makes root and every mount below it (binds, a list of the
// bind mounts made) read-only, nosuid and nodev.
func makeReadOnly(root string, binds []string) error {
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	err := unix.MountSetattr(unix.AT_FDCWD, root, unix.AT_RECURSIVE, attr)
	if !errors.Is(err, unix.ENOSYS) {
		if err != nil {
			return fmt.Errorf("make %s read-only: %w", sandboxPath(root), err)
		}
		return nil
	}
	// Before Linux 5.12: remount one by one, keeping the flags the host
	// locked on each bind (clearing them is refused).
	for _, t := range append(binds, root) {
		var st unix.Statfs_t
		if err := unix.Statfs(t, &st); err != nil {
			return fmt.Errorf("statfs %s: %w", t, err)
		}
		flags := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV)
		if st.Flags&unix.ST_NOEXEC != 0 {
			flags |= unix.MS_NOEXEC
		}
		for _, f := range [][2]int64{
			{unix.ST_NOATIME, unix.MS_NOATIME},
			{unix.ST_NODIRATIME, unix.MS_NODIRATIME},
			{unix.ST_RELATIME, unix.MS_RELATIME},
		} {
			if st.Flags&f[0] != 0 {
				flags |= uintptr(f[1])
			}
		}
		if err := remount(t, flags); err != nil {
			return err
		}
	}
	return nil
}
