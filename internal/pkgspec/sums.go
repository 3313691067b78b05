package pkgspec

import (
	"strings"

	"github.com/hdo-build/hdo/internal/pkgtree"
)

// Sum is one line of a sha256sums file.
type Sum struct {
	Name   string // file name as fetched, e.g. make-4.4.tar.gz
	SHA256 string // 64 lowercase hex digits
	Line   int    // 1-based line number
}

// ParseSums parses a sha256sums file in the format sha256sum prints:
// "<64 hex digits>  <name>" (or " *<name>" for binary mode), including
// sha256sum's escaped form (a line starting with '\' whose name escapes
// '\' as "\\"). Hex digits may be upper case and are returned lower case.
// Blank lines and lines starting with '#' are ignored. A name listed twice
// is an error.
func ParseSums(name string, data []byte) ([]Sum, error) {
	var sums []Sum
	seen := make(map[string]int)
	for i, line := range lines(data) {
		n := i + 1
		if t := strings.TrimSpace(line); t == "" || t[0] == '#' {
			continue
		}
		escaped := false
		if line[0] == '\\' {
			escaped = true
			line = line[1:]
		}
		hex, rest, _ := strings.Cut(line, " ")
		if !pkgtree.IsHex64(strings.ToLower(hex)) { // sha256sum -c takes upper case too
			return nil, errorf(name, n, "%q is not a sha256 (64 hex digits); lines are \"<sha256>  <file name>\" as sha256sum prints them", short(hex))
		}
		if !strings.HasPrefix(rest, " ") && !strings.HasPrefix(rest, "*") {
			return nil, errorf(name, n, "want two spaces (or a space and '*') between the sha256 and the file name")
		}
		file := rest[1:]
		if escaped {
			u, ok := unescapeSumName(file)
			if !ok {
				return nil, errorf(name, n, "bad escape in file name %q; only \\\\ and \\n are allowed", file)
			}
			file = u
		}
		if msg := checkFileName(file); msg != "" {
			return nil, errorf(name, n, "file name %q %s", file, msg)
		}
		if first, ok := seen[file]; ok {
			return nil, errorf(name, n, "%q has two sums (lines %d and %d)", file, first, n)
		}
		seen[file] = n
		sums = append(sums, Sum{Name: file, SHA256: strings.ToLower(hex), Line: n})
	}
	return sums, nil
}

// short keeps error messages on one readable line.
func short(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

func unescapeSumName(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i == len(s) {
			return "", false
		}
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			return "", false
		}
	}
	return b.String(), true
}
