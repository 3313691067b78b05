package pkgspec

import (
	"path"
	"strings"
	"unicode"
)

// Dep is one line of a build-deps or run-deps file.
type Dep struct {
	Path string // cleaned, slash-separated, relative to the package dir, e.g. ../zlib
	Line int    // 1-based line number in the file
}

// ParseDeps parses a build-deps or run-deps file: one relative path to
// another package directory per line. Blank lines, lines starting with '#'
// and comments starting with '#' after whitespace are ignored; surrounding
// whitespace is trimmed. name is the file's path for error messages (e.g.
// pkg/make/run-deps). Absolute paths, paths with whitespace, the package
// itself (".") and a path listed twice are errors.
func ParseDeps(name string, data []byte) ([]Dep, error) {
	var deps []Dep
	seen := make(map[string]int)
	for i, line := range lines(data) {
		n := i + 1
		line = stripComment(line)
		if line == "" {
			continue
		}
		// Any space, not only ASCII ones: the trimming above would read
		// "zlib\u00a0" as zlib but "zlib\u00a0/" as another directory.
		if strings.IndexFunc(line, unicode.IsSpace) >= 0 {
			return nil, errorf(name, n, "%q: one path per line, without spaces", line)
		}
		if strings.IndexByte(line, 0) >= 0 {
			return nil, errorf(name, n, "%q contains a NUL byte", line)
		}
		if path.IsAbs(line) {
			return nil, errorf(name, n, "%s is an absolute path; use a path relative to the package directory, like ../zlib", line)
		}
		p := path.Clean(line)
		if p == "." {
			return nil, errorf(name, n, "%s is the package itself", line)
		}
		if first, ok := seen[p]; ok {
			return nil, errorf(name, n, "%s is listed twice (lines %d and %d)", line, first, n)
		}
		seen[p] = n
		deps = append(deps, Dep{Path: p, Line: n})
	}
	return deps, nil
}

// stripComment removes a whole-line comment or a trailing comment (a '#'
// after whitespace) and the surrounding whitespace.
func stripComment(line string) string {
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "#") {
		return ""
	}
	for i := 1; i < len(line); i++ {
		if line[i] == '#' && (line[i-1] == ' ' || line[i-1] == '\t') {
			return strings.TrimSpace(line[:i])
		}
	}
	return line
}
