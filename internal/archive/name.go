package archive

import (
	"fmt"
	"path"
	"strings"
)

// cleanName checks an entry name (or hard link target) from an untrusted
// archive and returns it cleaned ("./usr//bin/" -> "usr/bin"), or a reason
// to refuse it. The result is "." for the archive root and otherwise a
// relative path with no ".." component, so it always stays inside the
// destination.
func cleanName(name string, lim Limits) (string, string) {
	switch {
	case name == "":
		return "", "empty name"
	case strings.IndexByte(name, 0) >= 0:
		return "", "name contains a NUL byte"
	case len(name) > lim.MaxPathLen:
		return "", fmt.Sprintf("name is %d bytes long, over the limit of %d", len(name), lim.MaxPathLen)
	case name[0] == '/':
		return "", "absolute path; entries must be relative to the package root"
	}
	for c := range strings.SplitSeq(name, "/") {
		if c == ".." {
			return "", "path escapes the destination"
		}
		if len(c) > lim.MaxNameLen {
			return "", fmt.Sprintf("path component is %d bytes long, over the limit of %d", len(c), lim.MaxNameLen)
		}
	}
	clean := path.Clean(name)
	if depth := strings.Count(clean, "/") + 1; depth > lim.MaxDepth {
		return "", fmt.Sprintf("path is %d levels deep, over the limit of %d", depth, lim.MaxDepth)
	}
	return clean, ""
}
