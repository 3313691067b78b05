package fetch

import (
	"strings"
)

// MirrorsFromEnv returns the mirror:// bases named by HDO_MIRROR_<NAME>
// variables in environ (space-separated base URLs, tried in order; NAME
// matched in lower case). When HDO_MIRROR_DEBIAN is unset or empty,
// mirror://debian defaults to the Debian archive in the host's apt sources
// (see AptDebianMirror), and likewise mirror://debian-security (set by
// HDO_MIRROR_DEBIAN_SECURITY; underscores in NAME stand for dashes).
func MirrorsFromEnv(environ []string) map[string][]string {
	return mirrorsFromEnv(environ, "/")
}

func mirrorsFromEnv(environ []string, aptRoot string) map[string][]string {
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
	if _, ok := m["debian"]; !ok {
		if base, err := AptDebianMirror(aptRoot); err == nil {
			m["debian"] = []string{base}
		}
	}
	if _, ok := m["debian-security"]; !ok {
		if base, err := AptDebianSecurityMirror(aptRoot); err == nil {
			m["debian-security"] = []string{base}
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
