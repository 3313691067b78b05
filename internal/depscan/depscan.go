// Package depscan finds what a package's files need at run time and
// whether a root made of the package and its run closure provides it: the
// ELF interpreter (PT_INTERP) and the shared libraries (DT_NEEDED) of
// each ELF file, looked up as the dynamic loader looks them up, and the
// interpreter of each #! script.
//
// A tree is a package's files as they are unpacked (a build's destdir, a
// store entry); paths in it are relative to the root the package is
// installed in ("usr/bin/hello"), and the paths a file names are absolute
// in that root ("/lib64/ld-linux-x86-64.so.2").
package depscan

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// Kind says what a Need is.
type Kind int

const (
	Interp      Kind = iota // an ELF file's program interpreter
	Library                 // a shared library (DT_NEEDED)
	Interpreter             // a script's #! interpreter
)

func (k Kind) String() string {
	switch k {
	case Interp:
		return "ELF interpreter"
	case Library:
		return "library"
	case Interpreter:
		return "interpreter"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Need is one thing a file needs.
type Need struct {
	File string // the file, relative to the root: usr/bin/hello
	Kind Kind
	Name string // /lib64/ld-linux-x86-64.so.2, libc.so.6, /usr/bin/perl
	// Dirs are where a Library is looked for before the loader's own
	// places (the object's run paths, absolute in the root), or where an
	// env #! line's program is (the PATH dirs).
	Dirs []string
	// Class and Machine are the needing ELF file's: a library of another
	// class or machine does not do.
	Class   elf.Class
	Machine elf.Machine
}

func (n Need) String() string {
	return fmt.Sprintf("%s needs %s", n.File, n.Name)
}

// Scan is what Tree found in one tree.
type Scan struct {
	Needs []Need
}

// Tree scans the regular files under dir.
func Tree(dir string) (*Scan, error) {
	s := &Scan{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o111 == 0 && !libraryName(d.Name()) {
			return nil // cannot run (see fileNeeds): not even opened
		}
		needs, err := fileNeeds(p, filepath.ToSlash(rel), fi.Mode())
		if err != nil {
			return fmt.Errorf("depscan: %s: %w", rel, err)
		}
		s.Needs = append(s.Needs, needs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// fileNeeds returns what the file at p (rel in its root) needs, if it can
// run: a program or script with an exec bit, or a shared library (which
// the loader maps whatever its mode). Other files (test data, say) need
// nothing, nor does an object for another machine than this one.
func fileNeeds(p, rel string, mode fs.FileMode) ([]Need, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, 256)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	exec := mode.Perm()&0o111 != 0
	switch {
	case bytes.HasPrefix(head, []byte(elf.ELFMAG)):
		return elfNeeds(f, rel, exec)
	case bytes.HasPrefix(head, []byte("#!")) && exec:
		return scriptNeeds(head, rel), nil
	}
	return nil, nil
}

// libraryName reports whether a file name is a shared library's, as the
// loader and ldconfig look for them: libz.so, libz.so.1.3, ld-linux.so.2.
func libraryName(name string) bool {
	return strings.HasSuffix(name, ".so") || strings.Contains(name, ".so.")
}

// hostMachine is the ELF machine of this build of hdo's architecture.
var hostMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386, "riscv64": elf.EM_RISCV}[runtime.GOARCH]

// scriptNeeds reads a #! line as the kernel does: the interpreter, and
// one argument; with /usr/bin/env, the program it runs is needed too.
func scriptNeeds(head []byte, rel string) []Need {
	line, _, _ := bytes.Cut(head[2:], []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) == 0 || !strings.HasPrefix(fields[0], "/") {
		return nil
	}
	needs := []Need{{File: rel, Kind: Interpreter, Name: fields[0]}}
	if path.Base(fields[0]) == "env" && len(fields) > 1 && !strings.HasPrefix(fields[1], "-") && !strings.Contains(fields[1], "=") {
		needs = append(needs, Need{File: rel, Kind: Interpreter, Name: fields[1], Dirs: []string{"/usr/local/bin", "/usr/bin", "/bin"}})
	}
	return needs
}

// elfNeeds returns an ELF file's interpreter and libraries, if it is a
// program with exec set or a shared library. A file that is not an ELF
// object after all (a truncated one, say) needs nothing.
func elfNeeds(f *os.File, rel string, exec bool) ([]Need, error) {
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil, nil
	}
	defer ef.Close()
	if ef.Machine != hostMachine || !(exec || ef.Type == elf.ET_DYN && libraryName(path.Base(rel))) {
		return nil, nil
	}
	var needs []Need
	for _, p := range ef.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			// A damaged object (the Go toolchain's testdata has
			// some) that no loader would run.
			return nil, nil
		}
		needs = append(needs, Need{File: rel, Kind: Interp, Name: string(bytes.TrimRight(b, "\x00")), Class: ef.Class, Machine: ef.Machine})
	}
	libs, err := ef.DynString(elf.DT_NEEDED)
	if err != nil || len(libs) == 0 {
		return needs, nil // static, or no dynamic section
	}
	runpath, _ := ef.DynString(elf.DT_RUNPATH)
	if len(runpath) == 0 {
		// DT_RPATH counts only without DT_RUNPATH.
		runpath, _ = ef.DynString(elf.DT_RPATH)
	}
	origin := "/" + path.Dir(rel)
	var dirs []string
	for _, rp := range runpath {
		for _, d := range strings.Split(rp, ":") {
			d = strings.ReplaceAll(strings.ReplaceAll(d, "${ORIGIN}", origin), "$ORIGIN", origin)
			if d != "" {
				dirs = append(dirs, path.Clean(d))
			}
		}
	}
	for _, lib := range libs {
		needs = append(needs, Need{File: rel, Kind: Library, Name: lib, Dirs: dirs, Class: ef.Class, Machine: ef.Machine})
	}
	return needs, nil
}

// defaultDirs are the directories glibc's loader searches after an
// object's run paths (Debian's multiarch ones first), besides those
// /etc/ld.so.conf names (see Root.confDirs).
func defaultDirs(m elf.Machine) []string {
	triplet := map[elf.Machine]string{elf.EM_X86_64: "x86_64-linux-gnu", elf.EM_AARCH64: "aarch64-linux-gnu", elf.EM_386: "i386-linux-gnu"}[m]
	var dirs []string
	if triplet != "" {
		dirs = append(dirs, "/lib/"+triplet, "/usr/lib/"+triplet)
	}
	if m == elf.EM_X86_64 || m == elf.EM_AARCH64 {
		dirs = append(dirs, "/lib64", "/usr/lib64")
	}
	return append(dirs, "/lib", "/usr/lib")
}

// Root is the file system a package runs in: trees merged, the first on
// top, as the sandbox and venvs merge a package and its run closure.
type Root struct {
	trees []string
	conf  []string // directories /etc/ld.so.conf names
}

// NewRoot merges the trees (directories on the host).
func NewRoot(trees ...string) *Root {
	r := &Root{trees: trees}
	r.conf = r.confDirs("/etc/ld.so.conf", 0)
	return r
}

// resolve finds name (absolute in the root) in the top-most tree that has
// it, following symlinks in the root as the kernel would, and returns its
// host path and Lstat.
func (r *Root) resolve(name string, depth int) (string, fs.FileInfo, error) {
	if depth > 40 {
		return "", nil, errors.New("too many levels of symbolic links")
	}
	name = path.Clean("/" + name)
	// Walk the components, so that a symlinked directory (lib64 ->
	// usr/lib64) is followed wherever it is.
	parts := strings.Split(strings.TrimPrefix(name, "/"), "/")
	cur := "/"
	for i, part := range parts {
		next := path.Join(cur, part)
		host, fi := r.lookup(next)
		if fi == nil {
			return "", nil, fs.ErrNotExist
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(host)
			if err != nil {
				return "", nil, err
			}
			if !strings.HasPrefix(target, "/") {
				target = path.Join(cur, target)
			}
			rest := path.Join(append([]string{target}, parts[i+1:]...)...)
			return r.resolve(rest, depth+1)
		}
		cur = next
	}
	host, fi := r.lookup(cur)
	if fi == nil {
		return "", nil, fs.ErrNotExist
	}
	return host, fi, nil
}

// lookup returns the host path and Lstat of name in the top-most tree
// holding it.
func (r *Root) lookup(name string) (string, fs.FileInfo) {
	for _, t := range r.trees {
		host := filepath.Join(t, filepath.FromSlash(name))
		if fi, err := os.Lstat(host); err == nil {
			return host, fi
		}
	}
	return "", nil
}

// confDirs reads an ld.so.conf file of the root and the files it includes.
func (r *Root) confDirs(name string, depth int) []string {
	if depth > 8 {
		return nil
	}
	host, fi, err := r.resolve(name, 0)
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(host)
	if err != nil {
		return nil
	}
	defer f.Close()
	var dirs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if pat, ok := strings.CutPrefix(line, "include "); ok {
			pat = strings.TrimSpace(pat)
			if !strings.HasPrefix(pat, "/") {
				pat = path.Join(path.Dir(name), pat)
			}
			for _, inc := range r.glob(pat) {
				dirs = append(dirs, r.confDirs(inc, depth+1)...)
			}
		} else if strings.HasPrefix(line, "/") {
			dirs = append(dirs, path.Clean(line))
		}
	}
	return dirs
}

// glob expands a pattern whose last component may hold wildcards, over
// every tree.
func (r *Root) glob(pat string) []string {
	dir, base := path.Split(pat)
	seen := map[string]bool{}
	var out []string
	for _, t := range r.trees {
		ents, err := os.ReadDir(filepath.Join(t, filepath.FromSlash(dir)))
		if err != nil {
			continue
		}
		for _, e := range ents {
			if ok, _ := path.Match(base, e.Name()); ok && !seen[e.Name()] {
				seen[e.Name()] = true
				out = append(out, path.Join(dir, e.Name()))
			}
		}
	}
	slices.Sort(out)
	return out
}

// Provides reports whether the root gives n what it needs.
func (r *Root) Provides(n Need) bool {
	return r.Provider(n) >= 0
}

// Provider returns the index (in NewRoot's order) of the tree holding the
// file that gives n what it needs, or -1 if none does.
func (r *Root) Provider(n Need) int {
	switch n.Kind {
	case Interp:
		return r.elfIn(n.Name, n)
	case Interpreter:
		if strings.HasPrefix(n.Name, "/") {
			return r.executableIn(n.Name)
		}
		for _, d := range n.Dirs {
			if t := r.executableIn(path.Join(d, n.Name)); t >= 0 {
				return t
			}
		}
	case Library:
		if strings.Contains(n.Name, "/") {
			return r.elfIn(n.Name, n)
		}
		// The run paths, then ld.so.conf's dirs (as ld.so.cache holds
		// them), then the defaults.
		for _, d := range slices.Concat(n.Dirs, r.conf, defaultDirs(n.Machine)) {
			if t := r.elfIn(path.Join(d, n.Name), n); t >= 0 {
				return t
			}
		}
	}
	return -1
}

// treeOf returns the index of the tree a host path is in.
func (r *Root) treeOf(host string) int {
	for i, t := range r.trees {
		if strings.HasPrefix(host, filepath.Clean(t)+string(filepath.Separator)) {
			return i
		}
	}
	return -1
}

// executableIn returns the tree of the executable file name resolves
// to, or -1.
func (r *Root) executableIn(name string) int {
	host, fi, err := r.resolve(name, 0)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return -1
	}
	return r.treeOf(host)
}

// elfIn returns the tree of the ELF file of n's class and machine (as the
// loader requires of a library) name resolves to, or -1.
func (r *Root) elfIn(name string, n Need) int {
	host, fi, err := r.resolve(name, 0)
	if err != nil || !fi.Mode().IsRegular() {
		return -1
	}
	ef, err := elf.Open(host)
	if err != nil {
		return -1
	}
	defer ef.Close()
	if ef.Class != n.Class || ef.Machine != n.Machine {
		return -1
	}
	return r.treeOf(host)
}

// Missing returns the needs of s that the root does not provide.
func (r *Root) Missing(s *Scan) []Need {
	var out []Need
	for _, n := range s.Needs {
		if !r.Provides(n) {
			out = append(out, n)
		}
	}
	return out
}

// Package is a package as Check sees it: its dir in the tree and its
// unpacked files.
type Package struct {
	Dir  string // root-relative: pkg/hello
	Tree string // its store entry
}

// Result is what Check found.
type Result struct {
	// Missing has one line for each need that the package over its run
	// closure lacks, naming the package that provides it when one of the
	// candidates does:
	//
	//	pkg/hello: usr/bin/hello needs libc.so.6: add ../libc to pkg/hello/run-deps
	Missing []string
	// Unused are the direct run-deps (as Check was given them) none of
	// whose files, nor their closures' files, any need of the package
	// used.
	Unused []string
}

// Check scans pkg against its run closure. direct maps each of pkg's own
// run-deps to its closure (itself included), for Unused. candidates are
// the packages to suggest, looked up by unpack (which unpacks one) only
// when something is missing.
func Check(pkg Package, closure []Package, direct map[string][]string, candidates []string, unpack func(dir string) (string, error)) (*Result, error) {
	s, err := Tree(pkg.Tree)
	if err != nil {
		return nil, err
	}
	trees := []string{pkg.Tree}
	in := map[string]bool{pkg.Dir: true}
	for _, c := range closure {
		trees = append(trees, c.Tree)
		in[c.Dir] = true
	}
	root := NewRoot(trees...)
	used := map[string]bool{}
	res := &Result{}
	var missing []Need
	for _, n := range s.Needs {
		switch t := root.Provider(n); {
		case t < 0:
			missing = append(missing, n)
		case t > 0:
			used[closure[t-1].Dir] = true
		}
	}
	for dep, members := range direct {
		if !slices.ContainsFunc(members, func(m string) bool { return used[m] }) {
			res.Unused = append(res.Unused, dep)
		}
	}
	slices.Sort(res.Unused)
	for _, n := range missing {
		line := fmt.Sprintf("%s: %s needs %s", pkg.Dir, n.File, n.Name)
		provider := ""
		for _, d := range candidates {
			if in[d] {
				continue
			}
			tree, err := unpack(d)
			if err != nil {
				continue
			}
			if NewRoot(tree).Provides(n) {
				provider = d
				break
			}
		}
		if provider != "" {
			rel, _ := filepath.Rel(pkg.Dir, provider)
			line += fmt.Sprintf(": add %s to %s/run-deps", filepath.ToSlash(rel), pkg.Dir)
		} else {
			line += ", which no built package of the tree provides"
		}
		res.Missing = append(res.Missing, line)
	}
	slices.Sort(res.Missing)
	return res, nil
}
