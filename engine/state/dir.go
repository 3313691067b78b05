package state

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/renameio/v2"
	"github.com/hdo-build/hdo/internal/flock"
	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"
)

// StateDir is a tree's state directory, <root>/.hdo, held open: every file
// in it is opened relative to that descriptor without following symlinks
// (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), so a symlink planted in it
// (by a hostile tree, say) can never send hdo's writes elsewhere.
type StateDir struct {
	Path string // e.g. /src/tree/.hdo
	f    *os.File
}

// ownerFile holds the proof that this user's hdo made the directory for
// this tree: a keyed blake3 of the tree's absolute path under the user's
// state key (see stateKey).
const ownerFile = "owner"

const ownerHeader = "hdo-state-owner 1"

// OpenDir opens the state directory of the tree at root, creating it if
// need be. A .hdo that this user's hdo did not make for this tree (it came
// with the tree, or the tree was copied or moved, or an older hdo made it)
// is not trusted: if it holds anything it is moved aside to
// .hdo.untrusted-N and a fresh one made, and note is told so. A .hdo that
// is a symlink, not a directory, not owned by the user, or writable by
// group or others is an error saying what to do.
func OpenDir(root string, note func(format string, args ...any)) (*StateDir, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(root, Dir)
	key, cache, err := stateKey()
	if err != nil {
		return nil, err
	}
	want := ownerLine(key, root)
	for attempt := 0; ; attempt++ {
		if err := os.Mkdir(path, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("state: %w", err)
		}
		if why := Untrusted(path); why != "" {
			return nil, fmt.Errorf("state: %s: %s", path, why)
		}
		f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
		d := &StateDir{Path: path, f: f}
		got, _ := d.readSmall(ownerFile, 256)
		if bytes.Equal(got, want) {
			return d, nil
		}
		// Processes making or judging a state dir take turns, or one
		// would move aside the dir another is making.
		unlock, err := flock.Lock(filepath.Join(cache, "state-dirs.lock"))
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("state: %w", err)
		}
		if got, _ := d.readSmall(ownerFile, 256); bytes.Equal(got, want) {
			unlock()
			return d, nil
		}
		empty, err := d.empty()
		if err == nil && empty {
			// An empty dir (mkdir .hdo marks a root) carries nothing.
			err = d.writeOwner(want)
		}
		if err != nil || empty {
			unlock()
			if err != nil {
				d.Close()
				return nil, err
			}
			return d, nil
		}
		d.Close()
		if attempt > 0 {
			return nil, fmt.Errorf("state: %s: cannot make a trusted state directory", path)
		}
		aside, err := moveAside(path)
		unlock()
		if err != nil {
			return nil, err
		}
		if note != nil {
			note("%s was not made by your hdo for this tree (it came with the tree, the tree was copied or moved, or an older hdo made it): moved it to %s and starting a fresh state", path, filepath.Base(aside))
		}
	}
}

// Untrusted says why the existing directory path must not be used as a
// state directory by this user, or "" if it may: it must be a real
// directory (not a symlink), owned by the effective user, not writable
// by group or others, in a parent that others cannot write to (a .hdo in
// a sticky /tmp may be another user's).
func Untrusted(path string) string {
	fi, err := os.Lstat(path)
	if err != nil {
		return err.Error()
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return "is a symlink; remove it"
	case !fi.IsDir():
		return "is not a directory; remove it"
	case !ok:
		return "cannot tell its owner"
	case int(st.Uid) != os.Geteuid():
		return fmt.Sprintf("belongs to uid %d, not to you (uid %d); run hdo as its owner, or set HDO_ROOT to a tree of yours", st.Uid, os.Geteuid())
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Sprintf("is writable by others (%v); chmod go-w it", fi.Mode().Perm())
	}
	pfi, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return err.Error()
	}
	if pfi.Mode().Perm()&0o002 != 0 {
		return fmt.Sprintf("is in %s, which anyone can write to; keep trees in a directory of your own", filepath.Dir(path))
	}
	return ""
}

// moveAside renames a distrusted state dir out of the way, keeping it
// for its owner to look at.
func moveAside(path string) (string, error) {
	for i := 1; i < 1000; i++ {
		aside := fmt.Sprintf("%s.untrusted-%d", path, i)
		if _, err := os.Lstat(aside); err == nil {
			continue
		}
		if err := os.Rename(path, aside); err != nil {
			return "", fmt.Errorf("state: move the untrusted %s aside: %w", path, err)
		}
		return aside, nil
	}
	return "", fmt.Errorf("state: %s: too many .hdo.untrusted-N dirs; remove them", path)
}

// ownerLine is the owner file's content for a tree root.
func ownerLine(key []byte, root string) []byte {
	h, err := blake3.NewKeyed(key)
	if err != nil {
		panic(err) // the key is 32 bytes
	}
	io.WriteString(h, "hdo state dir of "+root)
	return []byte(ownerHeader + " " + hex.EncodeToString(h.Sum(nil)) + "\n")
}

// stateKey returns the user's state key: 32 random bytes kept in
// $XDG_CACHE_HOME/hdo/state-key (mode 0600), made on first use, and the
// directory holding it.
func stateKey() ([]byte, string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return nil, "", fmt.Errorf("state: no cache directory for the state key (%v); set XDG_CACHE_HOME or HOME", err)
	}
	dir := filepath.Join(cache, "hdo")
	k, err := keyAt(filepath.Join(dir, "state-key"))
	return k, dir, err
}

// keyAt reads the key at path, making it first if there is none.
func keyAt(path string) ([]byte, error) {
	if b, err := readRegular(path, 128); err == nil {
		if k, err := hex.DecodeString(strings.TrimSpace(string(b))); err == nil && len(k) == 32 {
			return k, nil
		}
		return nil, fmt.Errorf("state: %s is not a state key; remove it (every tree's .hdo is then moved aside once)", path)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	t, err := renameio.NewPendingFile(path, renameio.WithPermissions(0o600))
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	defer t.Cleanup()
	if _, err := io.WriteString(t, hex.EncodeToString(k)+"\n"); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	// Two processes making the key at once: the first one wins.
	if err := os.Link(t.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("state: %w", err)
	}
	b, err := readRegular(path, 128)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	if k, err = hex.DecodeString(strings.TrimSpace(string(b))); err != nil || len(k) != 32 {
		return nil, fmt.Errorf("state: %s is not a state key; remove it", path)
	}
	return k, nil
}

// readRegular reads a regular file (not through a symlink) of at most max
// bytes.
func readRegular(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readOpen(f, max)
}

// readOpen reads the open file f, which must be a regular file of at
// most max bytes.
func readOpen(f *os.File, max int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > max {
		return nil, fmt.Errorf("%s: not a regular file of at most %d bytes", f.Name(), max)
	}
	return io.ReadAll(io.LimitReader(f, max))
}

// Close releases the directory.
func (d *StateDir) Close() error { return d.f.Close() }

// how resolves names beneath the directory and never through a symlink.
var how = unix.OpenHow{Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}

// OpenFile opens the slash-separated name relative to the state dir, with
// flags and perm as os.OpenFile takes them, refusing any symlink on the
// way and any name outside the directory.
func (d *StateDir) OpenFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	h := how
	h.Flags = uint64(flag | syscall.O_CLOEXEC | syscall.O_NOFOLLOW)
	if flag&os.O_CREATE != 0 {
		h.Mode = uint64(perm.Perm())
	}
	for {
		fd, err := unix.Openat2(int(d.f.Fd()), name, &h)
		if err == syscall.EINTR || err == syscall.EAGAIN {
			continue
		}
		if err != nil {
			if fi, lerr := os.Lstat(filepath.Join(d.Path, filepath.FromSlash(name))); err == syscall.ELOOP || err == syscall.EXDEV || lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
				err = fmt.Errorf("a symlink is on the way (state files are never opened through one; remove it): %w", err)
			}
			return nil, &fs.PathError{Op: "open", Path: filepath.Join(d.Path, filepath.FromSlash(name)), Err: err}
		}
		return os.NewFile(uintptr(fd), filepath.Join(d.Path, filepath.FromSlash(name))), nil
	}
}

// MkdirAll makes the slash-separated directory name and its parents
// inside the state dir, refusing symlinks.
func (d *StateDir) MkdirAll(name string) error {
	cur := ""
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." {
			continue
		}
		if part == ".." {
			return fmt.Errorf("state: %s: .. in a state path", name)
		}
		next := part
		if cur != "" {
			next = cur + "/" + part
		}
		parent := int(d.f.Fd())
		var pf *os.File
		if cur != "" {
			var err error
			if pf, err = d.OpenFile(cur, os.O_RDONLY|syscall.O_DIRECTORY, 0); err != nil {
				return err
			}
			parent = int(pf.Fd())
		}
		err := unix.Mkdirat(parent, part, 0o755)
		if pf != nil {
			pf.Close()
		}
		if err != nil && err != syscall.EEXIST {
			return &fs.PathError{Op: "mkdir", Path: filepath.Join(d.Path, filepath.FromSlash(next)), Err: err}
		}
		cur = next
	}
	// Check the result is a directory reached without symlinks.
	f, err := d.OpenFile(cur, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// ReadFile reads the slash-separated name (see OpenFile).
func (d *StateDir) ReadFile(name string) ([]byte, error) {
	f, err := d.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readOpen(f, math.MaxInt64)
}

// Remove removes the slash-separated file name, never through a symlink
// (a symlink itself is removed).
func (d *StateDir) Remove(name string) error {
	dir, base := "", name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		dir, base = name[:i], name[i+1:]
	}
	parent := int(d.f.Fd())
	if dir != "" {
		pf, err := d.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY, 0)
		if err != nil {
			return err
		}
		defer pf.Close()
		parent = int(pf.Fd())
	}
	if err := unix.Unlinkat(parent, base, 0); err != nil {
		return &fs.PathError{Op: "remove", Path: filepath.Join(d.Path, filepath.FromSlash(name)), Err: err}
	}
	return nil
}

func (d *StateDir) readSmall(name string, max int64) ([]byte, error) {
	f, err := d.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readOpen(f, max)
}

func (d *StateDir) empty() (bool, error) {
	f, err := d.OpenFile(".", os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if errors.Is(err, io.EOF) || (err == nil && len(names) == 0) {
		return true, nil
	}
	return false, err
}

func (d *StateDir) writeOwner(line []byte) error {
	tmp := fmt.Sprintf(".%s.tmp-%d", ownerFile, time.Now().UnixNano())
	f, err := d.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	_, err = f.Write(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(int(d.f.Fd()), tmp, int(d.f.Fd()), ownerFile)
	}
	if err != nil {
		unix.Unlinkat(int(d.f.Fd()), tmp, 0)
		return fmt.Errorf("state: %s: %w", d.Path, err)
	}
	return nil
}
