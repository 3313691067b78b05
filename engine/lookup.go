package engine

import (
	"bytes"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// A rule says how a target is built: by a .do script, by a built-in Go
// rule, or not at all (the file is a source).
type rule struct {
	// ID identifies the rule in the state: the root-relative path of the .do
	// file (e.g. pkg/default.pkghash.do) or a builtin's ID (builtin:pkghash/1).
	ID string
	// Do is the root-relative .do file, "" for a builtin.
	Do string
	// Builtin builds the target when Do is "".
	Builtin Builtin
	// Arg1 and Arg2 are $1 and $2 for the script, relative to its directory.
	Arg1, Arg2 string
}

// candidates lists the .do files that could build target, in the order they
// are tried: T.do, default.EXT.do from the longest extension down, default.do,
// first in T's directory and then each parent up to the tree root. For each
// it gives $1 and $2 relative to the candidate's directory.
func candidates(target string) []rule {
	dir, base := path.Split(target)
	dir = strings.TrimSuffix(dir, "/")
	if strings.HasSuffix(base, ".do") {
		return nil // .do files are sources
	}
	var exts []string
	parts := strings.Split(base, ".")
	for i := 1; i < len(parts); i++ {
		exts = append(exts, "."+strings.Join(parts[i:], "."))
	}
	var out []rule
	out = append(out, rule{Do: join(dir, base+".do"), Arg1: base, Arg2: base})
	rel := base // target relative to the directory searched
	for {
		for _, ext := range exts {
			out = append(out, rule{Do: join(dir, "default"+ext+".do"), Arg1: rel, Arg2: strings.TrimSuffix(rel, ext)})
		}
		out = append(out, rule{Do: join(dir, "default.do"), Arg1: rel, Arg2: rel})
		if dir == "" || strings.HasPrefix(dir, "..") {
			break
		}
		parent, last := path.Split(dir)
		rel = last + "/" + rel
		dir = strings.TrimSuffix(parent, "/")
	}
	return out
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// lookup finds the rule for target: the first candidate .do file that
// exists, else a matching builtin, else none (ok false). Existence comes
// from a per-run listing of each directory's .do files, so a tree of
// thousands of targets costs one directory read per directory, not a stat
// per candidate.
func (e *Engine) lookup(target string) (rule, bool, error) {
	if isInternal(target) {
		return rule{}, false, nil
	}
	found, ok, err := e.findDo(target)
	if ok || err != nil {
		return found, ok, err
	}
	for _, b := range e.cfg.Builtins {
		if id, ok := b.Match(target); ok {
			return rule{ID: id, Builtin: b}, true, nil
		}
	}
	return rule{}, false, nil
}

// findDo returns the first candidate .do file that exists. Directories
// without any .do file are skipped without building candidate names: most
// files (sources) live in such directories.
func (e *Engine) findDo(target string) (rule, bool, error) {
	if strings.HasSuffix(target, ".do") {
		return rule{}, false, nil
	}
	var all []rule
	dir := parentDir(target)
	for level := 0; ; level++ {
		dos, err := e.doFiles(dir)
		if err != nil {
			return rule{}, false, err
		}
		if len(dos) > 0 {
			if all == nil {
				all = candidates(target)
			}
			for _, c := range all {
				if parentDir(c.Do) == dir && dos[c.Do[len(dir)+boolInt(dir != ""):]] {
					c.ID = c.Do
					return c, true, nil
				}
			}
		}
		if dir == "" || strings.HasPrefix(dir, "..") {
			return rule{}, false, nil
		}
		dir = parentDir(dir)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parentDir returns the root-relative parent of a root-relative directory.
func parentDir(dir string) string {
	i := strings.LastIndexByte(dir, '/')
	if i < 0 {
		return ""
	}
	return dir[:i]
}

// doFiles returns the names of the .do files in a root-relative directory
// that are files (or symlinks to files), read once per run.
func (e *Engine) doFiles(dir string) (map[string]bool, error) {
	e.fpMu.Lock()
	m, ok := e.dirs[dir]
	e.fpMu.Unlock()
	if ok {
		return m, nil
	}
	abs := e.Abs(dir)
	names, err := listDo(abs)
	if err != nil {
		return nil, err
	}
	m = map[string]bool{}
	for name, typ := range names {
		if typ == syscall.DT_REG {
			m[name] = true
		} else if typ == syscall.DT_LNK || typ == syscall.DT_UNKNOWN {
			if st, err := os.Stat(filepath.Join(abs, name)); err == nil && st.Mode().IsRegular() {
				m[name] = true
			}
		}
	}
	e.fpMu.Lock()
	e.dirs[dir] = m
	e.fpMu.Unlock()
	return m, nil
}

var direntBufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// listDo reads a directory with getdents and returns only the entries
// named *.do with their d_type: no allocation for the other entries, which
// in a source tree are nearly all of them. A missing directory is empty.
func listDo(dir string) (map[string]uint8, error) {
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		if err == syscall.ENOENT || err == syscall.ENOTDIR {
			return nil, nil
		}
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	defer syscall.Close(fd)
	var out map[string]uint8
	bp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bp)
	buf := *bp
	for {
		n, err := syscall.Getdents(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "getdents", Path: dir, Err: err}
		}
		if n <= 0 {
			return out, nil
		}
		// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name.
		for b := buf[:n]; len(b) >= 19; {
			reclen := int(b[16]) | int(b[17])<<8
			if reclen < 19 || reclen > len(b) {
				break
			}
			name := b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if bytes.HasSuffix(name, []byte(".do")) {
				if out == nil {
					out = map[string]uint8{}
				}
				out[string(name)] = b[18]
			}
			b = b[reclen:]
		}
	}
}

// isInternal reports whether p is inside the state directory.
func isInternal(p string) bool {
	return p == ".hdo" || strings.HasPrefix(p, ".hdo/")
}
