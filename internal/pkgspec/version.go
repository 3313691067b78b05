package pkgspec

import (
	"regexp"
	"strings"
)

var versionRE = regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*`)

// Version guesses the package's version from its first source's name
// (make-4.4.1.tar.gz, make-dfsg_4.3.orig.tar.gz), for the binary cache's
// index; "" if no source names one.
func (p *Package) Version() string {
	for _, s := range p.Sources {
		n := s.Name
		if i := strings.LastIndexAny(n, "-_"); i >= 0 {
			n = n[i+1:]
		}
		for _, suf := range []string{".tar.gz", ".tar.xz", ".tar.bz2", ".tar.zst", ".tgz", ".zip", ".orig", ".tar"} {
			n = strings.TrimSuffix(n, suf)
		}
		n = strings.TrimSuffix(n, ".orig")
		if v := versionRE.FindString(n); v != "" {
			return strings.TrimRight(v, ".")
		}
	}
	return ""
}
