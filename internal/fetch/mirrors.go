package fetch

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hdo-build/hdo/internal/nearest"
)

// DefaultMirrorNames are the mirror:// names with a default from the host
// (MirrorsFromEnv): a URL naming one is checked only when its file must be
// downloaded, so that a host without apt sources still uses its cache.
var DefaultMirrorNames = []string{"debian", "debian-security", "goproxy"}

// MirrorNameError is a mirror://NAME/ URL whose NAME is neither
// configured nor one of DefaultMirrorNames: a typo or a missing
// HDO_MIRROR_NAME, reported even when the file is in the cache.
type MirrorNameError struct {
	Name       string   // as written, e.g. debain
	Configured []string // the names that are, sorted
}

func (e *MirrorNameError) Error() string {
	msg := fmt.Sprintf("mirror://%s/ is not a configured mirror", e.Name)
	if len(e.Configured) == 0 {
		msg += " (none is)"
	} else {
		msg += fmt.Sprintf(" (configured: %s)", strings.Join(e.Configured, ", "))
	}
	if n, ok := nearest.Word(strings.ToLower(e.Name), e.Configured); ok {
		return msg + fmt.Sprintf("; did you mean mirror://%s/?", n)
	}
	return msg + fmt.Sprintf("; set HDO_MIRROR_%s to its base URLs", strings.ReplaceAll(strings.ToUpper(e.Name), "-", "_"))
}

// checkMirrorNames returns a *MirrorNameError for the first mirror:// URL
// of srcs whose name is neither in f.Mirrors nor a default name.
func (f *Fetcher) checkMirrorNames(srcs []Source) error {
	for _, s := range srcs {
		for _, raw := range s.URLs {
			scheme, rest, ok := strings.Cut(raw, "://")
			if !ok || !strings.EqualFold(scheme, "mirror") {
				continue
			}
			name, _, _ := strings.Cut(rest, "/")
			lower := strings.ToLower(name)
			if len(f.Mirrors[lower]) > 0 || slices.Contains(DefaultMirrorNames, lower) {
				continue
			}
			var names []string
			for n, bases := range f.Mirrors {
				if len(bases) > 0 {
					names = append(names, n)
				}
			}
			for _, n := range DefaultMirrorNames {
				if len(f.Mirrors[n]) == 0 && f.MirrorFunc != nil && len(f.MirrorFunc(n)) > 0 {
					names = append(names, n)
				}
			}
			sort.Strings(names)
			return fmt.Errorf("fetch %s: %w", s.Name, &MirrorNameError{Name: name, Configured: names})
		}
	}
	return nil
}

// MirrorsFromEnv returns the mirror:// bases named by HDO_MIRROR_<NAME>
// variables in environ (space-separated base URLs, tried in order; NAME
// matched in lower case). When HDO_MIRROR_DEBIAN is unset or empty,
// mirror://debian defaults to the Debian archive in the host's apt sources
// (see AptDebianMirror), and likewise mirror://debian-security (set by
// HDO_MIRROR_DEBIAN_SECURITY; underscores in NAME stand for dashes).
// mirror://goproxy defaults to the module proxies of GOPROXY, so
// mirror://goproxy/golang.org/toolchain/@v/v0.0.1-go1.26.8.linux-amd64.zip
// is a Go toolchain zip; when GOPROXY is not in environ, callers may ask
// `go env GOPROXY` (see GoProxyBases) through Fetcher.MirrorFunc.
func MirrorsFromEnv(environ []string) map[string][]string {
	return mirrorsFromEnv(environ, "/")
}

// EnvMirrors returns the bases the HDO_MIRROR_<NAME> variables of environ
// name, and nothing from the host: with HostMirrors as Fetcher.MirrorFunc,
// the host's apt sources are read only when a URL needs them.
func EnvMirrors(environ []string) map[string][]string {
	m := make(map[string][]string)
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		name, ok := strings.CutPrefix(k, "HDO_MIRROR_")
		if !ok || name == "" {
			continue
		}
		// HDO_MIRROR_DEBIAN_SECURITY names mirror://debian-security/.
		name = strings.ReplaceAll(strings.ToLower(name), "_", "-")
		if bases := strings.Fields(v); len(bases) > 0 {
			m[name] = bases
		} else {
			delete(m, name)
		}
	}
	return m
}

// HostMirrors returns a Fetcher.MirrorFunc for the names MirrorsFromEnv
// gives host defaults (DefaultMirrorNames), each worked out once, when a
// URL first needs it: debian and debian-security from the host's apt
// sources, goproxy from GOPROXY in environ, else from goEnv (nil: none).
func HostMirrors(environ []string, goEnv func() []string) func(name string) []string {
	return hostMirrors(environ, "/", goEnv)
}

func hostMirrors(environ []string, aptRoot string, goEnv func() []string) func(name string) []string {
	var mu sync.Mutex
	known := map[string][]string{}
	return func(name string) []string {
		mu.Lock()
		defer mu.Unlock()
		if bases, ok := known[name]; ok {
			return bases
		}
		var bases []string
		switch name {
		case "debian":
			if base, err := AptDebianMirror(aptRoot); err == nil {
				bases = []string{base}
			}
		case "debian-security":
			if base, err := AptDebianSecurityMirror(aptRoot); err == nil {
				bases = []string{base}
			}
		case "goproxy":
			for _, kv := range environ {
				if v, ok := strings.CutPrefix(kv, "GOPROXY="); ok {
					if b := GoProxyBases(v); len(b) > 0 {
						bases = b
					}
				}
			}
			if len(bases) == 0 && goEnv != nil {
				bases = goEnv()
			}
		}
		known[name] = bases
		return bases
	}
}

func mirrorsFromEnv(environ []string, aptRoot string) map[string][]string {
	m := EnvMirrors(environ)
	host := hostMirrors(environ, aptRoot, nil)
	for _, name := range DefaultMirrorNames {
		if _, ok := m[name]; !ok {
			if bases := host(name); len(bases) > 0 {
				m[name] = bases
			}
		}
	}
	return m
}

// SourceMirrorsFromEnv returns the bases listed in HDO_SOURCE_MIRRORS
// (space-separated), each serving files at <base>/<sha256>.
func SourceMirrorsFromEnv(environ []string) []string {
	var bases []string
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "HDO_SOURCE_MIRRORS="); ok {
			bases = strings.Fields(v) // the last one wins, as in a shell
		}
	}
	return bases
}

// GoProxyBases returns the module proxy URLs of a GOPROXY list (entries
// separated by ',' or '|'), in order, leaving out "direct", "off" and
// anything that is not an http, https or file URL.
func GoProxyBases(list string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(strings.TrimSpace(list), func(r rune) bool { return r == ',' || r == '|' }) {
		p = strings.TrimSpace(p)
		scheme, _, ok := strings.Cut(p, "://")
		if !ok {
			continue
		}
		switch strings.ToLower(scheme) {
		case "http", "https", "file":
			out = append(out, strings.TrimRight(p, "/"))
		}
	}
	return out
}
