package engine

import (
	"os"
	"path/filepath"
	"strings"
)

// kernelPath returns the absolute path p, cleaned as the kernel walks it: a
// ".." leads up from where the components before it lead, symlinks
// followed, not from their spelling (with y/x -> ., /t/y/x/x/.. is /t, not
// /t/y/x). Components no ".." follows keep their spelling, symlinks
// included; a ".." after a component that does not exist is taken
// lexically. The second result reports whether a symlink was resolved.
func kernelPath(p string) (string, bool) {
	if !hasDotDot(p) {
		return filepath.Clean(p), false
	}
	lex := "/"  // the path as spelled so far, cleaned
	phys := "/" // where it leads, symlinks resolved; "" past a missing component
	resolved := false
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "", ".":
		case "..":
			if phys != "" && phys != lex {
				lex = phys
				resolved = true
			}
			lex = filepath.Dir(lex)
			if phys != "" {
				phys = lex
			} else if r, err := filepath.EvalSymlinks(lex); err == nil {
				phys = r
			}
		default:
			lex = filepath.Join(lex, c)
			if phys == "" {
				break
			}
			next := filepath.Join(phys, c)
			fi, err := os.Lstat(next)
			switch {
			case err != nil:
				phys = ""
			case fi.Mode()&os.ModeSymlink != 0:
				if phys, err = filepath.EvalSymlinks(next); err != nil {
					phys = ""
				}
			default:
				phys = next
			}
		}
	}
	return lex, resolved
}

// hasDotDot reports whether the slash-separated path has a ".." component.
func hasDotDot(p string) bool {
	for {
		i := strings.Index(p, "..")
		if i < 0 {
			return false
		}
		if (i == 0 || p[i-1] == '/') && (i+2 == len(p) || p[i+2] == '/') {
			return true
		}
		p = p[i+2:]
	}
}
