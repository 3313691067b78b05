package pkgspec

import (
	"regexp"
	"strings"
	"sync"
)

var (
	versionRE = lazyRegexp(`^[0-9][0-9A-Za-z.+~]*`)
	// repackRE is a Debian repack suffix: 1.2.13.dfsg, 2.0+dfsg1, 3.1~ds.
	repackRE      = lazyRegexp(`[.+~](dfsg|ds|repack)[0-9]*$`)
	goModuleRE    = lazyRegexp(`^v([0-9]+\.[0-9]+\.[0-9]+[0-9A-Za-z.+-]*)\.zip$`)
	goToolchainRE = lazyRegexp(`^v0\.0\.1-go([0-9][0-9.a-z]*)\.[a-z0-9]+-[a-z0-9]+\.zip$`)
)

// lazyRegexp compiles expr on first use, not at every hdo start (most
// runs never need it).
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// Version is the package's version, for the binary cache's index: its
// version file's, else a guess from its first source's name
// (make-4.4.1.tar.gz, make-dfsg_4.3.orig.tar.gz, zlib_1.2.13.dfsg.orig.tar.bz2
// give 4.4.1, 4.3 and 1.2.13; a Go module zip v1.6.0.zip gives 1.6.0, a Go
// toolchain zip v0.0.1-go1.26.8.linux-amd64.zip 1.26.8); "" if neither.
func (p *Package) Version() string {
	if p.VersionText != "" {
		return p.VersionText
	}
	for _, s := range p.Sources {
		if m := goToolchainRE().FindStringSubmatch(s.Name); m != nil {
			return m[1]
		}
		if m := goModuleRE().FindStringSubmatch(s.Name); m != nil {
			return m[1]
		}
		n := s.Name
		if i := strings.LastIndexAny(n, "-_"); i >= 0 {
			n = n[i+1:]
		}
		for _, suf := range []string{".tar.gz", ".tar.xz", ".tar.bz2", ".tar.zst", ".tgz", ".zip", ".orig", ".tar"} {
			n = strings.TrimSuffix(n, suf)
		}
		n = strings.TrimSuffix(n, ".orig")
		if len(n) > 1 && n[0] == 'v' && n[1] >= '0' && n[1] <= '9' {
			n = n[1:] // toml-v1.6.0.zip
		}
		if v := versionRE().FindString(n); v != "" {
			return repackRE().ReplaceAllString(strings.TrimRight(v, "."), "")
		}
	}
	return ""
}
