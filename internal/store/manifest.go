package store

import (
	"bytes"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/hdo-build/hdo/internal/archive"
	"github.com/hdo-build/hdo/internal/pkgtree"
)

// manifestHeader starts every manifest; the number is the format version.
const manifestHeader = "hdo-manifest 1"

// Manifest lists every path of an extracted package with its type, mode
// and content, so that packages can be compared without walking their
// trees.
type Manifest struct {
	ContentHash string          // hex blake3-256 of the package's uncompressed tar stream
	Entries     []archive.Entry // sorted by Path; modes as in the tarball
}

// Encode returns the manifest's text form, the same bytes for the same
// manifest:
//
//	hdo-manifest 1
//	content <hex blake3 of the tar stream>
//	d 0755 "usr/bin"
//	f 0755 <size> <hex blake3 of the content> "usr/bin/make"
//	l "libz.so.1" "usr/lib/libz.so"
//
// Paths and symlink targets are Go-quoted, so any byte can appear in them.
func (m Manifest) Encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\ncontent %s\n", manifestHeader, m.ContentHash)
	for _, e := range m.Entries {
		switch e.Type {
		case archive.TypeDir:
			fmt.Fprintf(&b, "d %s %s\n", archive.ModeString(e.Mode), strconv.Quote(e.Path))
		case archive.TypeFile:
			fmt.Fprintf(&b, "f %s %d %s %s\n", archive.ModeString(e.Mode), e.Size, e.Sum, strconv.Quote(e.Path))
		case archive.TypeSymlink:
			fmt.Fprintf(&b, "l %s %s\n", strconv.Quote(e.Target), strconv.Quote(e.Path))
		}
	}
	return b.Bytes()
}

// ParseManifest parses the output of Encode, refusing anything Encode
// would not have written.
func ParseManifest(data []byte) (Manifest, error) {
	var m Manifest
	text, ok := strings.CutSuffix(string(data), "\n")
	if !ok {
		return m, fmt.Errorf("manifest: does not end in a newline")
	}
	lines := strings.Split(text, "\n")
	if lines[0] != manifestHeader {
		return m, fmt.Errorf("manifest: line 1: got %q, want %q", lines[0], manifestHeader)
	}
	if len(lines) < 2 {
		return m, fmt.Errorf("manifest: no content line")
	}
	sum, ok := strings.CutPrefix(lines[1], "content ")
	if !ok || !pkgtree.IsHex64(sum) {
		return m, fmt.Errorf("manifest: line 2: got %q, want content <64 hex digits>", lines[1])
	}
	m.ContentHash = sum
	for i, line := range lines[2:] {
		e, err := parseEntry(line)
		if err != nil {
			return Manifest{}, fmt.Errorf("manifest: line %d: %w", i+3, err)
		}
		if n := len(m.Entries); n > 0 && m.Entries[n-1].Path >= e.Path {
			return Manifest{}, fmt.Errorf("manifest: line %d: %q is out of order", i+3, e.Path)
		}
		m.Entries = append(m.Entries, e)
	}
	return m, nil
}

func parseEntry(line string) (archive.Entry, error) {
	var e archive.Entry
	kind, rest, _ := strings.Cut(line, " ")
	var fields []string
	var err error
	switch kind {
	case "d":
		e.Type = archive.TypeDir
		fields, rest, err = words(rest, 1)
		if err == nil {
			e.Mode, err = parseMode(fields[0])
		}
	case "f":
		e.Type = archive.TypeFile
		fields, rest, err = words(rest, 3)
		if err == nil {
			e.Mode, err = parseMode(fields[0])
		}
		if err == nil {
			e.Size, err = strconv.ParseInt(fields[1], 10, 64)
			if err == nil && (e.Size < 0 || strconv.FormatInt(e.Size, 10) != fields[1]) {
				err = fmt.Errorf("bad size %q", fields[1])
			}
		}
		if err == nil {
			e.Sum = fields[2]
			if !pkgtree.IsHex64(e.Sum) {
				err = fmt.Errorf("bad content hash %q", e.Sum)
			}
		}
	case "l":
		e.Type, e.Mode = archive.TypeSymlink, 0o777
		e.Target, rest, err = quoted(rest)
		if err == nil {
			rest, ok := strings.CutPrefix(rest, " ")
			if !ok {
				return e, fmt.Errorf("want a quoted path after the target")
			}
			e.Path, rest, err = quoted(rest)
			if err == nil && rest != "" {
				err = fmt.Errorf("trailing %q", rest)
			}
		}
		if err == nil && e.Target == "" {
			err = fmt.Errorf("empty symlink target")
		}
		return e, checkPath(e, err)
	default:
		return e, fmt.Errorf("unknown entry type %q", kind)
	}
	if err != nil {
		return e, err
	}
	e.Path, rest, err = quoted(rest)
	if err == nil && rest != "" {
		err = fmt.Errorf("trailing %q", rest)
	}
	return e, checkPath(e, err)
}

// checkPath refuses a path Extract would never have listed.
func checkPath(e archive.Entry, err error) error {
	if err != nil {
		return err
	}
	if e.Path == "" || e.Path == "." || strings.HasPrefix(e.Path, "/") || strings.HasSuffix(e.Path, "/") ||
		strings.Contains(e.Path, "//") || strings.IndexByte(e.Path, 0) >= 0 {
		return fmt.Errorf("bad path %q", e.Path)
	}
	for c := range strings.SplitSeq(e.Path, "/") {
		if c == "." || c == ".." {
			return fmt.Errorf("bad path %q", e.Path)
		}
	}
	return nil
}

// words splits n space-terminated words off s.
func words(s string, n int) ([]string, string, error) {
	out := make([]string, 0, n)
	for range n {
		w, rest, ok := strings.Cut(s, " ")
		if !ok || w == "" {
			return nil, "", fmt.Errorf("want %d fields before the path", n)
		}
		out = append(out, w)
		s = rest
	}
	return out, s, nil
}

// quoted reads one strconv.Quote'd string off the front of s, requiring
// the exact form Quote produces.
func quoted(s string) (string, string, error) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", fmt.Errorf("want a quoted string at %q", s)
	}
	v, err := strconv.Unquote(q)
	if err != nil || strconv.Quote(v) != q {
		return "", "", fmt.Errorf("badly quoted string %s", q)
	}
	return v, s[len(q):], nil
}

func parseMode(s string) (fs.FileMode, error) {
	if len(s) != 4 {
		return 0, fmt.Errorf("bad mode %q", s)
	}
	u, err := strconv.ParseUint(s, 8, 32)
	if err != nil || u > 0o1777 {
		return 0, fmt.Errorf("bad mode %q", s)
	}
	m := fs.FileMode(u & 0o777)
	if u&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m, nil
}
