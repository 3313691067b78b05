package pkgspec

import "fmt"

// Error is a problem in a package file. Line is 0 when the problem is the
// file as a whole (for example a missing sha256sums).
type Error struct {
	File string // e.g. pkg/make/run-deps
	Line int    // 1-based; 0 for the whole file
	Msg  string // e.g. ../zlb is not a package directory (no build or seed.lock file)
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

func errorf(file string, line int, format string, args ...any) error {
	return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// lines splits data into lines without their line ending ("\n" or "\r\n").
// A final line without a newline counts; a trailing newline does not start
// another line.
func lines(data []byte) []string {
	var out []string
	s := string(data)
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		line := s[:i]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		out = append(out, line)
		if i == len(s) {
			break
		}
		s = s[i+1:]
	}
	return out
}

// checkFileName reports why name cannot be a plain file name in a build
// directory, or "" if it can.
func checkFileName(name string) string {
	switch {
	case name == "":
		return "is empty"
	case name == "." || name == "..":
		return "is not a file name"
	}
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '/':
			return "contains a slash; it must be a plain file name"
		case 0:
			return "contains a NUL byte"
		}
		if name[i] < 0x20 || name[i] == 0x7f {
			return "contains a control character"
		}
	}
	return ""
}
