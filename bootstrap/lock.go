package bootstrap

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/zeebo/blake3"
	"golang.org/x/mod/module"
)

// LockHeader is the first line of every seed lock this package reads.
const LockHeader = "hdo-seed-lock 1"

// Lock is a parsed seed.lock: everything needed to produce a seed root.
type Lock struct {
	// Name is the file name used in error messages, e.g. pkg/seed/seed.lock.
	Name string
	// Comment holds the comment lines before the header, without "#", kept
	// by Format, e.g. " seed for the test suite".
	Comment []string
	// Arch is the Debian architecture of the seed, e.g. amd64.
	Arch string
	// Go is the Go toolchain that builds the stage0 commands, e.g. go1.26.8.
	Go string
	// Stage0 is the module providing the stage0 commands; nil without cmds.
	Stage0 *Module
	// Cmds are the commands of the stage0 multicall binary.
	Cmds []Cmd
	// GoToolchain is the Go distribution unpacked at /usr/local/go, or nil.
	GoToolchain *GoToolchain
	// Packages are the Debian packages the deb lines were resolved from,
	// e.g. [gcc-12 make]; `hdo bootstrap lock` resolves them again.
	Packages []string
	// Debs are the pinned Debian packages, extracted in this order.
	Debs []Deb
	// Links are fixup symlinks made after everything else.
	Links []Link
	// Prunes are paths removed after the debs are unpacked (docs, manuals,
	// translations a seed does not need), before the links are made.
	Prunes []Prune
}

// Prune is a path removed from the seed with everything under it.
type Prune struct {
	Path string // absolute path in the seed, e.g. /usr/share/doc
	Line int
}

// Module is a Go module pinned by its go.sum hashes.
type Module struct {
	Path    string // e.g. github.com/u-root/u-root
	Version string // e.g. v0.16.0
	Sum     string // hash of the module zip, e.g. h1:wY40O83M...=
	ModSum  string // hash of its go.mod, e.g. h1:yL/XdSSW...=
	Line    int
}

// Cmd is one stage0 command: a Go main package installed at Path.
type Cmd struct {
	Package string // import path, e.g. github.com/u-root/u-root/cmds/core/cat or hdo/sh
	Path    string // install path in the seed, e.g. /bin/cat
	Line    int
}

// GoToolchain is a golang.org/toolchain release pinned by the sha256 of its
// module zip.
type GoToolchain struct {
	Version string // e.g. go1.26.8
	SHA256  string // hex sha256 of the zip
	Line    int
}

// Deb is one pinned Debian binary package.
type Deb struct {
	Name    string // e.g. gcc-12
	Version string // e.g. 12.2.0-14+deb12u1
	URL     string // e.g. mirror://debian/pool/main/g/gcc-12/gcc-12_12.2.0-14+deb12u1_amd64.deb
	Size    int64  // bytes of the .deb
	SHA256  string // hex sha256 of the .deb
	Line    int
}

// Link is a fixup symlink made in the seed root.
type Link struct {
	Path   string // absolute path in the seed, e.g. /usr/bin/cc
	Target string // symlink target, e.g. gcc-12
	Line   int
}

// LockError is a problem at one line of a lock file.
type LockError struct {
	File string // e.g. pkg/seed/seed.lock
	Line int    // 1-based; 0 for the file as a whole
	Msg  string
}

func (e *LockError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// EmbeddedPrefix is the import path prefix of the commands whose sources hdo
// itself carries (hdo/sh, hdo/env).
const EmbeddedPrefix = "hdo/"

var (
	debNameRE  = lazyRegexp(`^[a-z0-9][a-z0-9+.-]+$`)
	goVerRE    = lazyRegexp(`^go1\.[0-9]+(\.[0-9]+|(rc|beta)[0-9]+)?$`)
	sha256RE   = lazyRegexp(`^[0-9a-f]{64}$`)
	h1RE       = lazyRegexp(`^h1:[A-Za-z0-9+/]{43}=$`)
	mirrorRE   = lazyRegexp(`^mirror://([a-z0-9][a-z0-9-]*)/(.+)$`)
	knownArchs = map[string]bool{"amd64": true, "arm64": true}
)

// lazyRegexp compiles expr on first use, not at every hdo start (most
// runs never need it).
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// lineKinds lists the line kinds in the order Format writes them.
var lineKinds = []string{"arch", "go", "stage0", "cmd", "gotoolchain", "packages", "deb", "prune", "link"}

// ParseLock parses a seed lock. name is used in errors ("name:line: what").
func ParseLock(name string, data []byte) (*Lock, error) {
	l := &Lock{Name: name}
	p := &lockParser{lock: l, seen: map[string]int{}, cmdPaths: map[string]int{},
		cmdNames: map[string]string{}, debs: map[string]int{}, links: map[string]int{}}
	header := false
	for i, raw := range strings.Split(string(data), "\n") {
		lineNo := i + 1
		text := raw
		if !header && strings.HasPrefix(strings.TrimSpace(text), "#") {
			l.Comment = append(l.Comment, strings.TrimPrefix(strings.TrimSpace(text), "#"))
			continue
		}
		if j := commentStart(text); j >= 0 {
			text = text[:j]
		}
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		if !header {
			if strings.Join(fields, " ") != LockHeader {
				if len(fields) == 2 && fields[0] == "hdo-seed-lock" {
					return nil, &LockError{name, lineNo, fmt.Sprintf("lock format %s is not supported by this hdo (it reads %q); upgrade hdo", fields[1], LockHeader)}
				}
				return nil, &LockError{name, lineNo, fmt.Sprintf("got %q, want the header %q as the first line", strings.TrimSpace(text), LockHeader)}
			}
			header = true
			continue
		}
		if err := p.line(lineNo, fields); err != nil {
			return nil, &LockError{name, lineNo, err.Error()}
		}
	}
	if !header {
		return nil, &LockError{name, 0, fmt.Sprintf("empty lock: want the header %q", LockHeader)}
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return l, nil
}

// commentStart returns the index of the '#' starting a comment in s, or -1.
// A comment starts at a '#' at the start of the line or after white space.
func commentStart(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return i
		}
	}
	return -1
}

type lockParser struct {
	lock     *Lock
	seen     map[string]int    // kinds allowed once -> line
	cmdPaths map[string]int    // install path -> line
	cmdNames map[string]string // command name -> package
	debs     map[string]int    // deb name -> line
	links    map[string]int    // link path -> line
}

var usage = map[string]string{
	"arch":        "arch ARCH",
	"go":          "go GOVERSION",
	"stage0":      "stage0 MODULE VERSION H1SUM H1GOMODSUM",
	"cmd":         "cmd IMPORTPATH PATH",
	"gotoolchain": "gotoolchain GOVERSION SHA256",
	"packages":    "packages NAME...",
	"deb":         "deb NAME VERSION mirror://NAME/POOLPATH SIZE SHA256",
	"link":        "link PATH TARGET",
	"prune":       "prune PATH",
}

func (p *lockParser) line(lineNo int, f []string) error {
	kind := f[0]
	u, ok := usage[kind]
	if !ok {
		return fmt.Errorf("unknown line kind %q; want one of %s", kind, strings.Join(lineKinds, ", "))
	}
	want := len(strings.Fields(u))
	if kind == "packages" {
		if len(f) < 2 {
			return fmt.Errorf("packages: got no names, want %q", u)
		}
	} else if len(f) != want {
		return fmt.Errorf("%s: got %d fields, want %d (%s)", kind, len(f), want, u)
	}
	switch kind {
	case "arch", "go", "stage0", "gotoolchain", "packages":
		if prev, dup := p.seen[kind]; dup {
			return fmt.Errorf("second %s line (the first is line %d); keep one", kind, prev)
		}
		p.seen[kind] = lineNo
	}
	l := p.lock
	switch kind {
	case "arch":
		if !knownArchs[f[1]] {
			return fmt.Errorf("arch %q is not supported; want amd64 or arm64", f[1])
		}
		l.Arch = f[1]
	case "go":
		if !goVerRE().MatchString(f[1]) {
			return fmt.Errorf("go: got %q, want a Go release such as go1.26.8", f[1])
		}
		l.Go = f[1]
	case "stage0":
		if err := module.Check(f[1], f[2]); err != nil {
			return fmt.Errorf("stage0: %v", err)
		}
		if !h1RE().MatchString(f[3]) || !h1RE().MatchString(f[4]) {
			return fmt.Errorf("stage0: got sums %q %q, want the two h1: hashes go.sum lists for %s %s (module zip, then go.mod)", f[3], f[4], f[1], f[2])
		}
		l.Stage0 = &Module{Path: f[1], Version: f[2], Sum: f[3], ModSum: f[4], Line: lineNo}
	case "cmd":
		return p.cmd(lineNo, f[1], f[2])
	case "gotoolchain":
		if !goVerRE().MatchString(f[1]) {
			return fmt.Errorf("gotoolchain: got %q, want a Go release such as go1.26.8", f[1])
		}
		if !sha256RE().MatchString(f[2]) {
			return fmt.Errorf("gotoolchain: got %q, want the sha256 of the toolchain zip (64 lower-case hex digits)", f[2])
		}
		l.GoToolchain = &GoToolchain{Version: f[1], SHA256: f[2], Line: lineNo}
	case "packages":
		seen := map[string]bool{}
		for _, name := range f[1:] {
			if !debNameRE().MatchString(name) {
				return fmt.Errorf("packages: %q is not a Debian package name", name)
			}
			if seen[name] {
				return fmt.Errorf("packages: %s is listed twice", name)
			}
			seen[name] = true
		}
		l.Packages = append([]string(nil), f[1:]...)
	case "deb":
		return p.deb(lineNo, f)
	case "prune":
		if err := checkRootPath(f[1]); err != nil {
			return fmt.Errorf("prune: %v", err)
		}
		for _, pr := range l.Prunes {
			if pr.Path == f[1] {
				return fmt.Errorf("prune: %s is already pruned on line %d", f[1], pr.Line)
			}
		}
		l.Prunes = append(l.Prunes, Prune{Path: f[1], Line: lineNo})
	case "link":
		if err := checkRootPath(f[1]); err != nil {
			return fmt.Errorf("link: %v", err)
		}
		if prev, dup := p.links[f[1]]; dup {
			return fmt.Errorf("link: %s is already linked on line %d", f[1], prev)
		}
		p.links[f[1]] = lineNo
		l.Links = append(l.Links, Link{Path: f[1], Target: f[2], Line: lineNo})
	}
	return nil
}

func (p *lockParser) cmd(lineNo int, pkg, dst string) error {
	if err := module.CheckImportPath(pkg); err != nil {
		return fmt.Errorf("cmd: %v", err)
	}
	if strings.HasPrefix(pkg, EmbeddedPrefix) {
		if _, ok := embeddedCmds[strings.TrimPrefix(pkg, EmbeddedPrefix)]; !ok {
			return fmt.Errorf("cmd: hdo carries no command %s; the embedded commands are %s", pkg, strings.Join(embeddedNames(), ", "))
		}
	}
	if err := checkRootPath(dst); err != nil {
		return fmt.Errorf("cmd: %v", err)
	}
	name := path.Base(pkg)
	if path.Base(dst) != name {
		return fmt.Errorf("cmd: %s must be installed under its command name %q, got %s (add a link line for other names)", pkg, name, dst)
	}
	if other, ok := p.cmdNames[name]; ok && other != pkg {
		return fmt.Errorf("cmd: %s and %s are both named %q; the multicall binary needs distinct names", other, pkg, name)
	}
	if prev, dup := p.cmdPaths[dst]; dup {
		return fmt.Errorf("cmd: %s is already installed by line %d", dst, prev)
	}
	p.cmdNames[name] = pkg
	p.cmdPaths[dst] = lineNo
	p.lock.Cmds = append(p.lock.Cmds, Cmd{Package: pkg, Path: dst, Line: lineNo})
	return nil
}

func (p *lockParser) deb(lineNo int, f []string) error {
	name, version, url, size, sum := f[1], f[2], f[3], f[4], f[5]
	if !debNameRE().MatchString(name) {
		return fmt.Errorf("deb: %q is not a Debian package name", name)
	}
	if _, err := ParseVersion(version); err != nil {
		return fmt.Errorf("deb %s: %v", name, err)
	}
	m := mirrorRE().FindStringSubmatch(url)
	if m == nil || !strings.HasSuffix(url, ".deb") {
		return fmt.Errorf("deb %s: got %q, want mirror://NAME/POOLPATH ending in .deb", name, url)
	}
	if pool := m[2]; path.Clean(pool) != pool || strings.HasPrefix(pool, "../") || strings.Contains(pool, "//") {
		return fmt.Errorf("deb %s: pool path %q is not clean", name, pool)
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != size {
		return fmt.Errorf("deb %s: got size %q, want a positive decimal number of bytes", name, size)
	}
	if !sha256RE().MatchString(sum) {
		return fmt.Errorf("deb %s: got sha256 %q, want 64 lower-case hex digits", name, sum)
	}
	if prev, dup := p.debs[name]; dup {
		return fmt.Errorf("deb %s is already pinned on line %d", name, prev)
	}
	p.debs[name] = lineNo
	p.lock.Debs = append(p.lock.Debs, Deb{Name: name, Version: version, URL: url, Size: n, SHA256: sum, Line: lineNo})
	return nil
}

// checkRootPath checks an absolute path inside the seed root.
func checkRootPath(p string) error {
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "/" {
		return fmt.Errorf("got %q, want a clean absolute path such as /bin/sh", p)
	}
	return nil
}

func (p *lockParser) finish() error {
	l := p.lock
	fail := func(line int, format string, args ...any) error {
		return &LockError{l.Name, line, fmt.Sprintf(format, args...)}
	}
	if l.Arch == "" {
		return fail(0, "no arch line; add one such as \"arch amd64\"")
	}
	if len(l.Cmds) > 0 {
		if l.Stage0 == nil {
			return fail(l.Cmds[0].Line, "cmd lines need a stage0 line naming the module that provides them")
		}
		if l.Go == "" {
			return fail(l.Cmds[0].Line, "cmd lines need a go line naming the toolchain that builds them, e.g. \"go go1.26.8\"")
		}
		for _, c := range l.Cmds {
			if !strings.HasPrefix(c.Package, EmbeddedPrefix) && !strings.HasPrefix(c.Package, l.Stage0.Path+"/") {
				return fail(c.Line, "cmd: %s is not in the stage0 module %s", c.Package, l.Stage0.Path)
			}
		}
	} else {
		if l.Stage0 != nil {
			return fail(l.Stage0.Line, "stage0 line without cmd lines; add cmd lines or remove it")
		}
		if line, ok := p.seen["go"]; ok {
			return fail(line, "go line without cmd lines; it only names the toolchain that builds stage0 commands")
		}
	}
	if len(l.Cmds) == 0 && len(l.Debs) == 0 && l.GoToolchain == nil && len(l.Links) == 0 {
		return fail(0, "the lock pins nothing; add cmd, deb or gotoolchain lines")
	}
	return nil
}

// Format returns the canonical text of the lock: the leading comment, the
// header, then one line per entry in the order arch, go, stage0, cmd,
// gotoolchain, packages, deb, link, fields separated by one space. Comments
// after the header are not kept. ParseLock(Format()) gives back the lock.
func (l *Lock) Format() []byte {
	var b bytes.Buffer
	for _, c := range l.Comment {
		b.WriteString("#" + c + "\n")
	}
	l.formatBody(&b)
	return b.Bytes()
}

// formatBody writes the canonical lock without its leading comment.
func (l *Lock) formatBody(b *bytes.Buffer) {
	b.WriteString(LockHeader + "\n")
	fmt.Fprintf(b, "arch %s\n", l.Arch)
	if l.Go != "" {
		fmt.Fprintf(b, "go %s\n", l.Go)
	}
	if m := l.Stage0; m != nil {
		fmt.Fprintf(b, "stage0 %s %s %s %s\n", m.Path, m.Version, m.Sum, m.ModSum)
	}
	for _, c := range l.Cmds {
		fmt.Fprintf(b, "cmd %s %s\n", c.Package, c.Path)
	}
	if t := l.GoToolchain; t != nil {
		fmt.Fprintf(b, "gotoolchain %s %s\n", t.Version, t.SHA256)
	}
	if len(l.Packages) > 0 {
		fmt.Fprintf(b, "packages %s\n", strings.Join(l.Packages, " "))
	}
	for _, d := range l.Debs {
		fmt.Fprintf(b, "deb %s %s %s %d %s\n", d.Name, d.Version, d.URL, d.Size, d.SHA256)
	}
	for _, pr := range l.Prunes {
		fmt.Fprintf(b, "prune %s\n", pr.Path)
	}
	for _, k := range l.Links {
		fmt.Fprintf(b, "link %s %s\n", k.Path, k.Target)
	}
}

// FormatVersion is the version of the bootstrap output format. It is part
// of every seed's key: bump it whenever the same lock would give other bytes.
const FormatVersion = 1

// KeyInputs returns the bytes Key hashes: the format version, the hash of
// the command sources hdo embeds, and the canonical lock text without its
// comment.
func (l *Lock) KeyInputs() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "hdo-bootstrap %d\n", FormatVersion)
	fmt.Fprintf(&b, "embedded %s\n", embeddedHash())
	l.formatBody(&b)
	return b.Bytes()
}

// Key returns the hex blake3-256 of KeyInputs: the identity of the seed
// this lock produces.
func (l *Lock) Key() string {
	sum := blake3.Sum256(l.KeyInputs())
	return hex.EncodeToString(sum[:])
}

// SeedNeeds parses a seed lock and returns what gc must keep for it: the
// key of the seed it produces and the sha256 of every source it pins (its
// .debs and Go toolchain). It fits gc.Options.SeedLock.
func SeedNeeds(name string, data []byte) (key string, sources []string, err error) {
	l, err := ParseLock(name, data)
	if err != nil {
		return "", nil, err
	}
	for _, d := range l.Debs {
		sources = append(sources, d.SHA256)
	}
	if t := l.GoToolchain; t != nil {
		sources = append(sources, t.SHA256)
	}
	return l.Key(), sources, nil
}
