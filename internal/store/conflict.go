package store

import (
	"fmt"
	"sort"

	"github.com/hdo-build/hdo/internal/archive"
)

// Conflict is one path that two packages provide differently.
type Conflict struct {
	Path string // e.g. "usr/bin/x"
	A, B string // the packages, as named to Conflicts, e.g. "pkg/a" and "pkg/b"; A < B
	What string // what differs, e.g. "content" or "modes (0755 vs 0644)"
}

func (c Conflict) String() string {
	return fmt.Sprintf("%s and %s both provide %s with different %s", c.A, c.B, c.Path, c.What)
}

// ConflictError lists the conflicts between the packages of one root,
// sorted by path.
type ConflictError struct {
	Conflicts []Conflict
}

func (e *ConflictError) Error() string {
	msg := e.Conflicts[0].String()
	if n := len(e.Conflicts) - 1; n == 1 {
		msg += " (and 1 more conflict)"
	} else if n > 1 {
		msg += fmt.Sprintf(" (and %d more conflicts)", n)
	}
	return msg
}

// Conflicts checks that the packages named (e.g. "pkg/make" -> its
// manifest) can share one root: no path may be provided by two of them
// with a different type, content, symlink target or file mode. Directories
// present in several packages (whatever their modes), and files identical
// in every respect, are not conflicts. The error is a *ConflictError.
func Conflicts(named map[string]Manifest) error {
	names := make([]string, 0, len(named))
	for name := range named {
		names = append(names, name)
	}
	sort.Strings(names)
	type provider struct {
		name  string
		entry *archive.Entry
	}
	seen := make(map[string]provider)
	var out []Conflict
	for _, name := range names {
		entries := named[name].Entries
		for i := range entries {
			e := &entries[i]
			p, ok := seen[e.Path]
			if !ok {
				seen[e.Path] = provider{name, e}
				continue
			}
			if what := difference(p.entry, e); what != "" {
				out = append(out, Conflict{Path: e.Path, A: p.name, B: name, What: what})
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.A != b.A {
			return a.A < b.A
		}
		return a.B < b.B
	})
	return &ConflictError{Conflicts: out}
}

// difference says how two entries for one path differ, or "" if one
// root can hold both.
func difference(a, b *archive.Entry) string {
	switch {
	case a.Type != b.Type:
		return fmt.Sprintf("types (%s vs %s)", a.Type, b.Type)
	case a.Type == archive.TypeSymlink && a.Target != b.Target:
		return fmt.Sprintf("symlink targets (%s vs %s)", a.Target, b.Target)
	case a.Type == archive.TypeFile && (a.Sum != b.Sum || a.Size != b.Size):
		return "content"
	case a.Type == archive.TypeDir:
		// Packages often ship the same directories; the merged root shows
		// one of them, and a mode difference there breaks nothing a build
		// could rely on.
		return ""
	case a.Mode != b.Mode:
		return fmt.Sprintf("modes (%s vs %s)", archive.ModeString(a.Mode), archive.ModeString(b.Mode))
	}
	return ""
}
