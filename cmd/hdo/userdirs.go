package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"

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
		Mirrors:       fetch.MirrorsFromEnv(e.environ),
	}
	// A status line on a terminal; elsewhere a line every few seconds per
	// long download and one per file fetched.
	f.Progress = e.stderr
	if _, ok := f.Mirrors["goproxy"]; !ok {
		f.MirrorFunc = goEnvProxies(e)
	}
	return f
}

// goEnvProxies returns a fetch.Fetcher MirrorFunc that answers
// mirror://goproxy with the module proxies of `go env GOPROXY` (which
// reads go's own config file), asked once and only if a URL needs it.
func goEnvProxies(e *env) func(name string) []string {
	var once sync.Once
	var bases []string
	return func(name string) []string {
		if name != "goproxy" {
			return nil
		}
		once.Do(func() {
			cmd := exec.Command("go", "env", "GOPROXY")
			cmd.Env = e.environ
			if out, err := cmd.Output(); err == nil {
				bases = fetch.GoProxyBases(string(out))
			}
		})
		return bases
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
