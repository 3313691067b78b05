package beneath

import (
	"fmt"
	"path"
	"strings"
)

// NameLimits bound an untrusted name.
type NameLimits struct {
	MaxNameLen int // one path component in bytes, e.g. 255
	MaxPathLen int // the whole name in bytes, e.g. 4096
	MaxDepth   int // path components, e.g. 256
}

// DefaultNameLimits are the limits of a Linux path: 255-byte components,
// 4096-byte paths, and 256 levels.
var DefaultNameLimits = NameLimits{MaxNameLen: 255, MaxPathLen: 4096, MaxDepth: 256}

// CleanName checks a name (an archive entry, or a hard link's target) from
// an untrusted source and returns it cleaned ("./usr//bin/" -> "usr/bin"),
// or a reason to refuse it. The result is "." for the directory itself and
// otherwise a relative path with no ".." component, so it always stays
// inside the directory.
func CleanName(name string, lim NameLimits) (clean, reason string) {
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
	clean = path.Clean(name)
	if depth := strings.Count(clean, "/") + 1; depth > lim.MaxDepth {
		return "", fmt.Sprintf("path is %d levels deep, over the limit of %d", depth, lim.MaxDepth)
	}
	return clean, ""
}
