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
	stage0Once    sync.Once
	stage0Tarball string
	stage0Err     error
)

// sharedStage0 builds the standard stage0 seed once per test run, into a
// cache under the user's cache dir that later runs reuse (it is keyed by
// the lock, like hdo's own seed cache).
func sharedStage0() (string, error) {
	stage0Once.Do(func() {
		lock, err := bootstrap.ParseLock("stage0.lock", bootstrap.Stage0Lock())
		if err != nil {
			stage0Err = err
			return
		}
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		opts := bootstrap.Options{CacheDir: filepath.Join(base, "hdo-test", "bootstrap")}
		var sum string
		stage0Tarball, sum, stage0Err = bootstrap.Build(context.Background(), lock, opts)
		if stage0Err != nil {
			return
		}
		// Tests hard-link the seed into their caches: a test that wrote
		// through such a link would have spoiled it for every later run.
		if got, err := archive.ContentHashFile(stage0Tarball); err != nil || got != sum {
			os.Remove(stage0Tarball)
			os.Remove(strings.TrimSuffix(stage0Tarball, ".tar.gz") + ".blake3")
			stage0Tarball, _, stage0Err = bootstrap.Build(context.Background(), lock, opts)
		}
	})
	return stage0Tarball, stage0Err
}

// cmdStage0 is the script command "stage0 DIR": make DIR a seed package
// holding the standard stage0 lock, with the seed already in this script's
// hdo cache (as if an earlier run had built it), so that scripts do not
// each rebuild it.
func cmdStage0(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: stage0 DIR")
	}
	if _, err := sharedStage0(); err != nil {
		ts.Fatalf("building stage0: %v", err)
	}
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o755))
	ts.Check(os.WriteFile(filepath.Join(dir, "seed.lock"), bootstrap.Stage0Lock(), 0o644))
	ts.Check(copyStage0(ts.Getenv("XDG_CACHE_HOME")))
}
