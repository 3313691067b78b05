package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hdo-build/hdo/bootstrap"
	"github.com/hdo-build/hdo/internal/archive"
	"github.com/rogpeppe/go-internal/testscript"
)

var (
	seedsMu sync.Mutex
	seeds   = map[string]*sharedSeedResult{} // by lock text
)

type sharedSeedResult struct {
	once    sync.Once
	tarball string
	err     error
}

// sharedStage0 builds the standard stage0 seed once per test run, into a
// cache under the user's cache dir that later runs reuse (it is keyed by
// the lock, like hdo's own seed cache).
func sharedStage0() (string, error) { return sharedSeed(bootstrap.Stage0Lock()) }

// sharedSeed builds the seed of a stage0-based lock once per test run,
// as sharedStage0 does.
func sharedSeed(lockText []byte) (string, error) {
	seedsMu.Lock()
	r, ok := seeds[string(lockText)]
	if !ok {
		r = &sharedSeedResult{}
		seeds[string(lockText)] = r
	}
	seedsMu.Unlock()
	r.once.Do(func() {
		lock, err := bootstrap.ParseLock("stage0.lock", lockText)
		if err != nil {
			r.err = err
			return
		}
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		opts := bootstrap.Options{CacheDir: filepath.Join(base, "hdo-test", "bootstrap")}
		var sum string
		r.tarball, sum, r.err = bootstrap.Build(context.Background(), lock, opts)
		if r.err != nil {
			return
		}
		// Tests hard-link the seed into their caches: a test that wrote
		// through such a link would have spoiled it for every later run.
		if got, err := archive.ContentHashFile(r.tarball); err != nil || got != sum {
			os.Remove(r.tarball)
			os.Remove(strings.TrimSuffix(r.tarball, ".tar.gz") + ".blake3")
			r.tarball, _, r.err = bootstrap.Build(context.Background(), lock, opts)
		}
	})
	return r.tarball, r.err
}

// cmdStage0 is the script command "stage0 DIR [PATH...]": make DIR a seed
// package holding the standard stage0 lock, with a prune line for each
// PATH (e.g. /bin/tar, for a test that brings GNU tar instead), and the
// seed already in this script's hdo cache (as if an earlier run had built
// it), so that scripts do not each rebuild it.
func cmdStage0(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: stage0 DIR [PATH...]")
	}
	lock := bootstrap.Stage0Lock()
	for _, p := range args[1:] {
		lock = append(lock, []byte("prune "+p+"\n")...)
	}
	tgz, err := sharedSeed(lock)
	if err != nil {
		ts.Fatalf("building stage0: %v", err)
	}
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o755))
	ts.Check(os.WriteFile(filepath.Join(dir, "seed.lock"), lock, 0o644))
	ts.Check(copySeed(ts.Getenv("XDG_CACHE_HOME"), tgz))
}
