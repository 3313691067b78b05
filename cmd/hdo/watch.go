package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hdo-build/hdo/engine/watch"
)

func watchVerb(ctx context.Context, e *env, args []string) error {
	var bf buildFlags
	fs := bf.register(e, "watch")
	if err := parse(fs, splitJ(args)); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("watch needs a target")
	}
	if e.getenv("HDO_SOCK") != "" {
		return fmt.Errorf("hdo watch cannot run inside a .do script")
	}
	targets := fs.Args()
	force := bf.force
	logf := func(format string, args ...any) { fmt.Fprintf(e.stderr, "hdo watch: "+format+"\n", args...) }
	note := logf
	if bf.quiet {
		note = func(string, ...any) {}
	}
	// Each build is a fresh engine, so every per-run cache (stats, .do
	// listings) starts afresh.
	build := func(ctx context.Context) (*watch.Deps, error) {
		eng, stop, err := openEngine(e, &bf, targets)
		if err != nil {
			return nil, err
		}
		defer stop()
		rels, err := relTargets(e, eng, targets)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		err = eng.Build(ctx, rels, bf.force)
		bf.force = false // -f: the first build only
		deps := watch.Collect(eng.Root(), rels, eng.Record)
		if err == nil {
			note("%d built in %.2fs", eng.Built(), time.Since(start).Seconds())
		}
		return deps, err
	}
	bf.force = force
	return watch.Run(ctx, watch.Options{Build: build, Log: logf, Note: note})
}
