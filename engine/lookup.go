package engine

import (
	"bytes"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hdo-build/hdo/engine/fingerprint"
	"github.com/hdo-build/hdo/engine/state"
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
		if id, ok := b.Match(target, e.exists); ok {
			return rule{ID: id, Builtin: b}, true, nil
		}
	}
	return rule{}, false, nil
}

// findDo returns the first candidate .do file that exists (see
// candidates), looking names up in per-run directory listings and building
// candidate names only for directories that hold .do files at all.
func (e *Engine) findDo(target string) (rule, bool, error) {
	dir, base := path.Split(target)
	dir = strings.TrimSuffix(dir, "/")
	if strings.HasSuffix(base, ".do") {
		return rule{}, false, nil
	}
	var exts []string
	for i := 0; i < len(base); i++ {
		if base[i] == '.' {
			// A leading dot (.pkghash) starts an extension too, as in
			// default.pkghash.do.
			exts = append(exts, base[i:])
		}
	}
	rel := base // the target relative to dir
	for first := true; ; first = false {
		l, err := e.listing(dir)
		if err != nil {
			return rule{}, false, err
		}
		if l == nil || l.dos > 0 {
			try := func(name, arg2 string) (rule, bool) {
				if l.isDo(e, dir, name) {
					do := join(dir, name)
					return rule{ID: do, Do: do, Arg1: rel, Arg2: arg2}, true
				}
				return rule{}, false
			}
			if first {
				if r, ok := try(base+".do", rel); ok {
					return r, true, nil
				}
			}
			for _, ext := range exts {
				if r, ok := try("default"+ext+".do", strings.TrimSuffix(rel, ext)); ok {
					return r, true, nil
				}
			}
			if r, ok := try("default.do", rel); ok {
				return r, true, nil
			}
		}
		if dir == "" || strings.HasPrefix(dir, "..") {
			return rule{}, false, nil
		}
		i := strings.LastIndexByte(dir, '/')
		rel = dir[i+1:] + "/" + rel
		dir = parentDir(dir)
	}
}

// exists reports whether the root-relative path exists, from this run's
// memoized stats.
func (e *Engine) exists(rel string) bool {
	fs, err := e.fingerprint(rel)
	return err == nil && fs.stat.Exists
}

// parentDir returns the root-relative parent of a root-relative path.
func parentDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return ""
	}
	return p[:i]
}

// dirListing is one directory's entries, read once per run: rule lookup
// finds .do files in it, and a file known to be absent from it needs no
// stat.
type dirListing struct {
	names map[string]uint8 // name -> d_type
	dos   int              // how many names end in .do
	stat  fingerprint.Stat // the directory's when read
	at    int64            // when read
	gen   uint64           // the generation it is known to hold in (under fpMu)
	// stale says hdo changed the directory since (see forget): the
	// names are only a guess at its size.
	stale bool
}

// has reports whether the directory holds name.
func (l *dirListing) has(name string) bool {
	_, ok := l.names[name]
	return ok
}

// isDo reports whether name is a .do file: a regular file or a symlink to
// one. A nil listing (see listing) knows nothing: the file is looked up.
func (l *dirListing) isDo(e *Engine, dir, name string) bool {
	typ := uint8(syscall.DT_UNKNOWN)
	if l != nil {
		var ok bool
		if typ, ok = l.names[name]; !ok {
			return false
		}
	}
	if typ == syscall.DT_REG {
		return true
	}
	if typ == syscall.DT_LNK || typ == syscall.DT_UNKNOWN {
		fs, err := e.fingerprint(join(dir, name))
		return err == nil && fs.stat.Exists && fs.stat.Mode&syscall.S_IFMT == syscall.S_IFREG
	}
	return false
}

// probeAbove is the size above which a listing that a script's writes made
// stale is not read again for each rule lookup: a directory of n targets
// built one after another would be read n times, n entries each. Lookups
// stat the names they want instead.
const probeAbove = 64

// listing returns the listing of a root-relative directory, or nil when
// the caller should stat the names it wants (see probeAbove).
func (e *Engine) listing(dir string) (*dirListing, error) {
	gen := e.gen.Load()
	e.fpMu.Lock()
	l, ok := e.dirs[dir]
	fresh := ok && l.gen == gen && !l.stale
	e.fpMu.Unlock()
	if fresh {
		return l, nil
	}
	if ok {
		// Read in an earlier generation: still right if the directory
		// has not changed since, as its stat says (unless racy).
		st, err := fingerprint.Of(e.Abs(dir))
		if err == nil && !l.stale && st == l.stat && !fingerprint.Racy(st, l.at) {
			e.fpMu.Lock()
			l.gen = gen
			e.fpMu.Unlock()
			return l, nil
		}
		if len(l.names) > probeAbove {
			return nil, nil
		}
	}
	at := time.Now().UnixNano()
	names, st, err := e.readListing(dir)
	if err != nil {
		return nil, err
	}
	l = &dirListing{names: names, stat: st, at: at, gen: gen}
	for n := range names {
		if strings.HasSuffix(n, ".do") {
			l.dos++
		}
	}
	e.fpMu.Lock()
	if prev, ok := e.dirs[dir]; ok && prev.gen == gen {
		l = prev
	} else {
		e.dirs[dir] = l
	}
	e.fpMu.Unlock()
	return l, nil
}

// knownAbsent reports whether a listing of rel's directory read in this
// generation shows that rel does not exist.
func (e *Engine) knownAbsent(rel string) bool {
	dir, name := parentDir(rel), rel[strings.LastIndexByte(rel, '/')+1:]
	gen := e.gen.Load()
	e.fpMu.Lock()
	l, ok := e.dirs[dir]
	ok = ok && l.gen == gen && !l.stale
	e.fpMu.Unlock()
	return ok && !l.has(name)
}

// readListing returns a directory's entries: from the state if the
// directory's stat is unchanged since its listing was recorded (and was not
// racy), else read afresh and recorded.
func (e *Engine) readListing(dir string) (map[string]uint8, fingerprint.Stat, error) {
	key := dir + "/"
	at := time.Now().UnixNano()
	st, err := fingerprint.Of(e.Abs(dir))
	if err != nil {
		return nil, st, err
	}
	if rec := e.record(key); rec != nil && rec.Listing != nil && rec.Stat == st && !fingerprint.Racy(rec.Stat, rec.Recorded) {
		names := make(map[string]uint8, len(rec.Listing))
		for _, ent := range rec.Listing {
			names[ent.Name] = ent.Type
		}
		return names, st, nil
	}
	var names map[string]uint8
	if st.IsDir() {
		if names, err = readNames(e.Abs(dir)); err != nil {
			return nil, st, err
		}
	}
	list := make([]state.Entry, 0, len(names))
	for n, t := range names {
		list = append(list, state.Entry{Name: n, Type: t})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	e.recMu.Lock()
	r := &state.Record{Path: key, Stat: st, Recorded: at, Listing: list}
	e.recs[key] = r
	e.dirty[key] = r
	e.recMu.Unlock()
	return names, st, nil
}

var direntBufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// readNames reads a directory with getdents and returns its entries with
// their d_type. A missing directory is empty.
func readNames(dir string) (map[string]uint8, error) {
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		if err == syscall.ENOENT || err == syscall.ENOTDIR {
			return nil, nil
		}
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	defer syscall.Close(fd)
	out := map[string]uint8{}
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
			if s := string(name); s != "." && s != ".." {
				out[s] = b[18]
			}
			b = b[reclen:]
		}
	}
}

// isInternal reports whether p is inside the state directory.
func isInternal(p string) bool {
	return p == ".hdo" || strings.HasPrefix(p, ".hdo/")
}
