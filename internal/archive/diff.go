package archive

import (
	"fmt"
	"io/fs"
	"strings"
)

// Diff compares the package tarballs at paths a and b, read with the checks
// of Extract, and returns one line per path that differs, sorted by path:
//
//	only in a: usr/share/doc/x
//	only in b: usr/bin/y
//	changed: usr/bin/make (content)
//	changed: lib/libz.so (symlink target libz.so.1 -> libz.so.2)
//
// A changed line names every aspect that differs: type, mode, content or
// symlink target. Identical trees give no lines. Diff is what
// reproducibility checks print; it never extracts anything.
func Diff(a, b string) ([]string, error) {
	la, err := ListFile(a)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	lb, err := ListFile(b)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	return DiffListings(la, lb), nil
}

// DiffListings is Diff of two listings; see Diff for the lines.
func DiffListings(a, b *Listing) []string {
	var out []string
	i, j := 0, 0
	for i < len(a.Entries) || j < len(b.Entries) {
		switch {
		case j == len(b.Entries) || i < len(a.Entries) && a.Entries[i].Path < b.Entries[j].Path:
			out = append(out, "only in a: "+a.Entries[i].Path)
			i++
		case i == len(a.Entries) || b.Entries[j].Path < a.Entries[i].Path:
			out = append(out, "only in b: "+b.Entries[j].Path)
			j++
		default:
			if what := entryDiff(a.Entries[i], b.Entries[j]); what != "" {
				out = append(out, fmt.Sprintf("changed: %s (%s)", a.Entries[i].Path, what))
			}
			i++
			j++
		}
	}
	return out
}

// entryDiff says how two entries for one path differ, or "" if they do not.
func entryDiff(a, b Entry) string {
	if a.Type != b.Type {
		return fmt.Sprintf("type %s -> %s", a.Type, b.Type)
	}
	var what []string
	if a.Mode != b.Mode {
		what = append(what, fmt.Sprintf("mode %s -> %s", ModeString(a.Mode), ModeString(b.Mode)))
	}
	if a.Size != b.Size || a.Sum != b.Sum {
		what = append(what, "content")
	}
	if a.Target != b.Target {
		what = append(what, fmt.Sprintf("symlink target %s -> %s", a.Target, b.Target))
	}
	return strings.Join(what, ", ")
}

// ModeString formats permission and sticky bits as four octal digits, the
// way chmod takes them: 0755, 1777.
func ModeString(m fs.FileMode) string {
	u := uint32(m.Perm())
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return fmt.Sprintf("%04o", u)
}
