package main

import (
	"os"
	"os/exec"
	"path/filepath"

	"github.com/hdo-build/hdo/internal/cachedir"
	"github.com/hdo-build/hdo/internal/fetch"
	"golang.org/x/term"
)

// cacheDir returns hdo's per-user cache directory (see cachedir): from
// $XDG_CACHE_HOME or $HOME, else the user's home directory.
func cacheDir(e *env) string {
	if d, err := cachedir.Default(e.getenv); err == nil {
		return string(d)
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "hdo")
}

// isTerminal reports whether w is a terminal, for progress displays.
func isTerminal(e *env, w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && e.getenv("TERM") != "dumb"
}

// newFetcher returns the source fetcher configured from the environment:
// HDO_SOURCE_MIRRORS, HDO_MIRROR_<NAME> (and the host's apt sources for
// mirror://debian/).
func newFetcher(e *env) *fetch.Fetcher {
	f := &fetch.Fetcher{
		CacheDir:      cachedir.Dir(cacheDir(e)).Sources(),
		SourceMirrors: fetch.SourceMirrorsFromEnv(e.environ),
		Mirrors:       fetch.EnvMirrors(e.environ),
		// Host defaults (apt sources, GOPROXY, go env) are worked out
		// only when a URL needs them: most runs fetch nothing.
		MirrorFunc: fetch.HostMirrors(e.environ, goEnvProxies(e)),
	}
	// A status line on a terminal; elsewhere a line every few seconds per
	// long download and one per file fetched.
	f.Progress = e.stderr
	return f
}

// goEnvProxies returns the module proxies of `go env GOPROXY` (which
// reads go's own config file), for fetch.HostMirrors, which asks once and
// only if a URL needs it.
func goEnvProxies(e *env) func() []string {
	return func() []string {
		cmd := exec.Command("go", "env", "GOPROXY")
		cmd.Env = e.environ
		out, err := cmd.Output()
		if err != nil {
			return nil
		}
		return fetch.GoProxyBases(string(out))
	}
}

// absFrom resolves p against cwd.
func absFrom(cwd, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(cwd, p)
}

// baseName is the last element of a path, e.g. the key name of
// keys/mycache.
func baseName(p string) string { return filepath.Base(p) }
