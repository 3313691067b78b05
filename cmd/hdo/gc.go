package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/hdo-build/hdo/bootstrap"
	"github.com/hdo-build/hdo/internal/gc"
	"github.com/hdo-build/hdo/internal/gcroots"
)

// gcItemNames names one item of each kind.
var gcItemNames = map[string]string{
	gc.Store:     "store entry",
	gc.Sources:   "source",
	gc.Downloads: "download",
	gc.Seeds:     "seed cache entry",
	gc.Builds:    "build dir",
	gc.Checks:    "check dir",
}

// pathList is a repeatable flag.
type pathList []string

func (p *pathList) String() string     { return strings.Join(*p, " ") }
func (p *pathList) Set(v string) error { *p = append(*p, v); return nil }

func gcVerb(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "gc")
	dry := fs.Bool("dry-run", false, "list what would be removed; remove nothing")
	verbose := fs.Bool("v", false, "list everything removed")
	var keep pathList
	fs.Var(&keep, "keep", "also keep what `PATH` needs: a tree, a package dir, a .pkg.tar.gz or a venv (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("gc takes no arguments, only flags (%q is none)", fs.Arg(0))
	}
	for i, k := range keep {
		keep[i] = absFrom(e.cwd, k)
	}
	cache := cacheDir(e)
	rep, err := gc.Collect(ctx, gc.Options{
		CacheDir: cache,
		TempDir:  os.TempDir(),
		Keep:     keep,
		DryRun:   *dry,
		SeedLock: bootstrap.SeedNeeds,
		Waiting: func() {
			fmt.Fprintf(e.stderr, "hdo gc: waiting for running builds to finish (they hold %s/%s)\n", cache, gcroots.LockName)
		},
		Log: func(format string, args ...any) { fmt.Fprintf(e.stderr, "hdo gc: "+format+"\n", args...) },
	})
	if err != nil {
		return err
	}
	verb := "remove"
	if *dry {
		verb = "would remove"
	}
	for _, d := range rep.Dropped {
		fmt.Fprintf(e.stdout, "%s root %s (no longer there)\n", strings.Replace(verb, "remove", "forget", 1), d)
	}
	if *dry || *verbose {
		for _, it := range rep.Items {
			fmt.Fprintf(e.stdout, "%s %s %s\n", verb, gcItemNames[it.Kind], it.What)
		}
	}
	totals := rep.Totals()
	var all gc.Total
	for _, k := range gc.Kinds {
		t := totals[k]
		all.Count += t.Count
		all.Bytes += t.Bytes
		fmt.Fprintf(e.stdout, "%-14s %6d %10s\n", k, t.Count, humanBytes(t.Bytes))
	}
	freed := "freed"
	if *dry {
		freed = "would be freed"
	}
	fmt.Fprintf(e.stdout, "%-14s %6d %10s %s\n", "total", all.Count, humanBytes(all.Bytes), freed)
	return nil
}

// humanBytes formats a size for people: 512 B, 1.5 kB, 300.2 MB.
func humanBytes(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, unit := range []string{"kB", "MB", "GB", "TB"} {
		f /= 1000
		if f < 1000 {
			return fmt.Sprintf("%.1f %s", f, unit)
		}
	}
	return fmt.Sprintf("%.1f PB", f/1000)
}
