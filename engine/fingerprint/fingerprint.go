// Package fingerprint decides whether a file changed: a cheap stat
// comparison first, and a blake3 hash of the content when the stat differs
// or cannot be trusted.
package fingerprint

import (
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"sort"
	"syscall"
	"time"

	"github.com/zeebo/blake3"
)

// Hash is a blake3-256 content hash. The zero Hash stands for "no file".
type Hash [32]byte

// Absent is the hash recorded for a file that does not exist.
var Absent Hash

// IsAbsent reports whether h stands for a missing file.
func (h Hash) IsAbsent() bool { return h == Absent }

// String returns h in hex, or "absent".
func (h Hash) String() string {
	if h.IsAbsent() {
		return "absent"
	}
	return hex.EncodeToString(h[:])
}

// Short returns the first 12 hex digits of h, for messages.
func (h Hash) Short() string {
	s := h.String()
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// Stat is what the fast path compares: a file whose Stat is unchanged (and
// was not recorded racily) is taken to be unchanged without reading it.
type Stat struct {
	Exists bool
	Size   int64
	Mtime  int64 // ns since the epoch
	Ctime  int64 // ns since the epoch
	Ino    uint64
	Mode   uint32 // st_mode: type and permission bits
}

// IsDir reports whether the stat describes a directory.
func (s Stat) IsDir() bool { return s.Exists && s.Mode&syscall.S_IFMT == syscall.S_IFDIR }

// Of stats path, following symlinks: a dependency on a symlink is a
// dependency on what it points to. A missing file (or a dangling link) is a
// Stat with Exists false, not an error.
func Of(path string) (Stat, error) {
	var st syscall.Stat_t
	for {
		err := syscall.Stat(path, &st)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			if err == syscall.ENOENT || err == syscall.ENOTDIR {
				return Stat{}, nil
			}
			return Stat{}, &fs.PathError{Op: "stat", Path: path, Err: err}
		}
		break
	}
	return fromSys(&st), nil
}

// Lstat is Of for path itself: a symlink is not followed.
func Lstat(path string) (Stat, error) {
	var st syscall.Stat_t
	for {
		err := syscall.Lstat(path, &st)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			if err == syscall.ENOENT || err == syscall.ENOTDIR {
				return Stat{}, nil
			}
			return Stat{}, &fs.PathError{Op: "lstat", Path: path, Err: err}
		}
		return fromSys(&st), nil
	}
}

func fromSys(st *syscall.Stat_t) Stat {
	return Stat{
		Exists: true,
		Size:   st.Size,
		Mtime:  st.Mtim.Sec*1e9 + st.Mtim.Nsec,
		Ctime:  st.Ctim.Sec*1e9 + st.Ctim.Nsec,
		Ino:    st.Ino,
		Mode:   st.Mode,
	}
}

// Granularity is how far apart two writes must be for their timestamps to be
// guaranteed to differ on a filesystem with nanosecond timestamps. Linux
// takes file times from a coarse clock that lags by up to a scheduler tick.
const Granularity = 20 * time.Millisecond

// coarseGranularity applies when a file's timestamps have no sub-second
// part: the filesystem likely keeps whole (or even two) seconds.
const coarseGranularity = 2 * time.Second

// Racy reports whether a stat taken at time recorded (ns) cannot be trusted
// later: the file was modified so close to the recording that a further
// write within the same clock tick would leave its timestamps unchanged.
func Racy(s Stat, recorded int64) bool {
	if !s.Exists {
		return false
	}
	g := int64(Granularity)
	if s.Mtime%1e9 == 0 && s.Ctime%1e9 == 0 {
		g = int64(coarseGranularity)
	}
	newest := s.Mtime
	if s.Ctime > newest {
		newest = s.Ctime
	}
	return recorded-newest < g
}

// Same reports whether two stats describe the same file state.
func Same(a, b Stat) bool { return a == b }

// HashFile returns the content hash of path. A directory hashes as its
// sorted list of entry names and types (and symlink targets), so adding,
// removing or retargeting an entry changes it; a missing file hashes as
// Absent.
func HashFile(path string, st Stat) (Hash, error) {
	if !st.Exists {
		return Absent, nil
	}
	if st.IsDir() {
		return hashDir(path)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return special(st.Mode), nil
	}
	// O_NONBLOCK: should the file have become a named pipe since it was
	// stat'ed, opening it must not wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Absent, nil
		}
		return Hash{}, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		return special(uint32(fi.Sys().(*syscall.Stat_t).Mode)), nil
	}
	h := blake3.New()
	h.Write([]byte("file\x00"))
	if _, err := io.Copy(h, f); err != nil {
		return Hash{}, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	var out Hash
	h.Sum(out[:0])
	return out, nil
}

// special is the identity of a named pipe, socket or device: its kind, as
// its content cannot be read without blocking or without end.
func special(mode uint32) Hash {
	h := blake3.New()
	h.Write([]byte{'s', 'p', 'e', 'c', 'i', 'a', 'l', 0, byte(mode >> 12)})
	var out Hash
	h.Sum(out[:0])
	return out
}

func hashDir(path string) (Hash, error) {
	ents, err := os.ReadDir(path)
	if err != nil {
		return Hash{}, err
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	h := blake3.New()
	h.Write([]byte("dir\x00"))
	for _, e := range ents {
		h.Write([]byte(e.Name()))
		h.Write([]byte{0, byte(e.Type() >> 24), 0})
		if e.Type()&fs.ModeSymlink != 0 {
			// A retargeted link changes its directory, even when the old
			// and new targets hold the same bytes.
			target, _ := os.Readlink(path + "/" + e.Name())
			h.Write([]byte(target))
			h.Write([]byte{0})
		}
	}
	var out Hash
	h.Sum(out[:0])
	return out, nil
}

// HashBytes returns the hash a file with content b would have.
func HashBytes(b []byte) Hash {
	h := blake3.New()
	h.Write([]byte("file\x00"))
	h.Write(b)
	var out Hash
	h.Sum(out[:0])
	return out
}

// Stamp returns the identity recorded for data passed to redo-stamp.
func Stamp(b []byte) Hash {
	h := blake3.New()
	h.Write([]byte("stamp\x00"))
	h.Write(b)
	var out Hash
	h.Sum(out[:0])
	return out
}
