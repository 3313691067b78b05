package engine

import (
	"path"
	"strings"
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
// exists, else a matching builtin, else none (ok false).
func (e *Engine) lookup(target string) (rule, bool, error) {
	if isInternal(target) {
		return rule{}, false, nil
	}
	for _, c := range candidates(target) {
		fp, err := e.fingerprint(c.Do)
		if err != nil {
			return rule{}, false, err
		}
		if fp.stat.Exists && !fp.stat.IsDir() {
			c.ID = c.Do
			return c, true, nil
		}
	}
	for _, b := range e.cfg.Builtins {
		if id, ok := b.Match(target); ok {
			return rule{ID: id, Builtin: b}, true, nil
		}
	}
	return rule{}, false, nil
}

// isInternal reports whether p is inside the state directory.
func isInternal(p string) bool {
	return p == ".hdo" || strings.HasPrefix(p, ".hdo/")
}
