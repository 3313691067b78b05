package bootstrap

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a Debian package version, [epoch:]upstream[-revision], as
// deb-version(7) defines it.
type Version struct {
	Epoch    int    // e.g. 1 in 1:2.3-4; 0 when absent
	Upstream string // e.g. 2.3
	Revision string // e.g. 4; empty when absent
}

// ParseVersion parses a Debian version string.
func ParseVersion(s string) (Version, error) {
	var v Version
	bad := func(why string) (Version, error) {
		return Version{}, fmt.Errorf("version %q: %s", s, why)
	}
	rest := s
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		e, err := strconv.Atoi(rest[:i])
		if err != nil || e < 0 || rest[:i] != strconv.Itoa(e) {
			return bad("the epoch before ':' must be a number")
		}
		v.Epoch = e
		rest = rest[i+1:]
	}
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		v.Revision = rest[i+1:]
		rest = rest[:i]
		if v.Revision == "" {
			return bad("empty revision after '-'")
		}
		for _, c := range v.Revision {
			if !isAlnum(c) && !strings.ContainsRune(".+~", c) {
				return bad(fmt.Sprintf("revision has %q; it may hold letters, digits and . + ~", c))
			}
		}
	}
	v.Upstream = rest
	if rest == "" {
		return bad("empty upstream version")
	}
	if rest[0] < '0' || rest[0] > '9' {
		return bad("the upstream version must start with a digit")
	}
	for _, c := range rest {
		if !isAlnum(c) && !strings.ContainsRune(".+~-:", c) {
			return bad(fmt.Sprintf("upstream version has %q; it may hold letters, digits and . + ~ -", c))
		}
	}
	return v, nil
}

// MustParseVersion is ParseVersion for versions known to be valid; it panics
// on a bad one.
func MustParseVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

func (v Version) String() string {
	s := v.Upstream
	if v.Epoch != 0 {
		s = strconv.Itoa(v.Epoch) + ":" + s
	}
	if v.Revision != "" {
		s += "-" + v.Revision
	}
	return s
}

// Compare returns -1, 0 or +1 as v sorts before, equal to or after w in
// Debian version order.
func (v Version) Compare(w Version) int {
	switch {
	case v.Epoch < w.Epoch:
		return -1
	case v.Epoch > w.Epoch:
		return 1
	}
	if c := compareFragment(v.Upstream, w.Upstream); c != 0 {
		return c
	}
	return compareFragment(v.Revision, w.Revision)
}

func isAlnum(c rune) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// order is the weight of a character in the non-digit parts of a version:
// '~' before the end of the string, the end before letters, letters before
// everything else.
func order(c byte) int {
	switch {
	case c == 0 || isDigit(c):
		return 0
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		return int(c)
	case c == '~':
		return -1
	default:
		return int(c) + 256
	}
}

// compareFragment compares upstream versions or revisions: alternating
// runs of non-digits (compared by order) and digits (compared as numbers).
func compareFragment(a, b string) int {
	at := func(s string, i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := order(at(a, i)), order(at(b, j))
			if ac != bc {
				return sign(ac - bc)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		first := 0
		for i < len(a) && j < len(b) && isDigit(a[i]) && isDigit(b[j]) {
			if first == 0 {
				first = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if first != 0 {
			return sign(first)
		}
	}
	return 0
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
