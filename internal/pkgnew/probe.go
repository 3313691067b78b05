package pkgnew

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/hdo-build/hdo/internal/decompress"
)

// System is how a source tree is built.
type System int

const (
	None      System = iota // nothing hdo new recognizes
	Autotools               // a configure script
	Meson                   // meson.build
	CMake                   // CMakeLists.txt
	Make                    // a Makefile alone
)

func (s System) String() string {
	return [...]string{"none", "autotools", "meson", "cmake", "make"}[s]
}

// Layout is what Probe learns from a source tarball's listing.
type Layout struct {
	TopDir string // the one directory everything is in, e.g. hello-2.12; "" if none
	System System
	C      bool // it has C or C++ sources or headers
}

// MaxProbeEntries bounds the entries Probe reads.
const MaxProbeEntries = 1_000_000

// IsTarball reports whether name looks like a tar archive Probe reads.
func IsTarball(name string) bool {
	for _, suf := range []string{".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tar.zst", ".tar.lzma"} {
		if strings.HasSuffix(name, suf) {
			return true
		}
	}
	return false
}

// Probe reads the listing of the tarball r (compressed as its name says)
// and says how it is laid out: its top directory, its build system
// (configure, meson.build, CMakeLists.txt or a Makefile at the top, in
// that order) and whether it holds C. Only names are read, never written.
func Probe(name string, r io.Reader) (Layout, error) {
	zr, release, err := decompress.Reader(name, r)
	if err != nil {
		return Layout{}, fmt.Errorf("%s: %w", name, err)
	}
	defer release()
	tr := tar.NewReader(zr)
	var l Layout
	top, oneTop, nested := "", true, false
	atTop := map[string]bool{}
	var names []string
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Layout{}, fmt.Errorf("%s: %w", name, err)
		}
		if n >= MaxProbeEntries {
			return Layout{}, fmt.Errorf("%s: more than %d entries", name, MaxProbeEntries)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		p := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if p == "" {
			continue
		}
		first, rest, _ := strings.Cut(p, "/")
		if top == "" {
			top = first
		} else if first != top {
			oneTop = false
		}
		if rest != "" {
			nested = true
		}
		names = append(names, p)
		if h.Typeflag == tar.TypeReg && isC(p) {
			l.C = true
		}
	}
	if oneTop && nested {
		l.TopDir = top
	}
	for _, p := range names {
		rel := p
		if l.TopDir != "" {
			rel = strings.TrimPrefix(p, l.TopDir+"/")
		}
		if !strings.Contains(rel, "/") {
			atTop[rel] = true
		}
	}
	switch {
	case atTop["configure"]:
		l.System = Autotools
	case atTop["meson.build"]:
		l.System = Meson
	case atTop["CMakeLists.txt"]:
		l.System = CMake
	case atTop["Makefile"] || atTop["GNUmakefile"] || atTop["makefile"]:
		l.System = Make
	}
	return l, nil
}

// isC reports whether p is a C or C++ source or header.
func isC(p string) bool {
	switch path.Ext(p) {
	case ".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp":
		return true
	}
	return false
}
