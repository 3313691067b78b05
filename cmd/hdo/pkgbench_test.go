package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/internal/pkgrule"
)

// pkgTree writes a tree of n packages forming a random DAG (package i
// depends on up to 5 packages below it, split between build-deps and
// run-deps), with p2pkgs-style shell rules in pkg/ if shell is set.
func pkgTree(b *testing.B, n int, shell bool) (dir string, targets []string) {
	b.Helper()
	dir = b.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(dir, ".hdo"), 0o755))
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, "pkg", fmt.Sprintf("p%04d", i))
		must(os.MkdirAll(p, 0o755))
		must(os.WriteFile(filepath.Join(p, "build"), []byte(fmt.Sprintf("#!/bin/sh\necho building %d\n", i)), 0o644))
		var run, build strings.Builder
		seen := map[int]bool{}
		for k := r.IntN(6); k > 0 && i > 0; k-- {
			d := r.IntN(i)
			if seen[d] {
				continue
			}
			seen[d] = true
			if r.IntN(2) == 0 {
				fmt.Fprintf(&run, "../p%04d\n", d)
			} else {
				fmt.Fprintf(&build, "../p%04d\n", d)
			}
		}
		if run.Len() > 0 {
			must(os.WriteFile(filepath.Join(p, "run-deps"), []byte(run.String()), 0o644))
		}
		if build.Len() > 0 {
			must(os.WriteFile(filepath.Join(p, "build-deps"), []byte(build.String()), 0o644))
		}
		targets = append(targets, fmt.Sprintf("pkg/p%04d/.pkghash", i), fmt.Sprintf("pkg/p%04d/.closure", i))
	}
	if shell {
		for _, f := range []string{"default.pkghash.do", "default.closure.do"} {
			data, err := os.ReadFile(filepath.Join("testdata", "p2pkgs", f))
			must(err)
			must(os.WriteFile(filepath.Join(dir, "pkg", f), data, 0o644))
		}
	}
	// The targets go in a file: 2000 arguments are fine, but keep the
	// command line short and the same for both variants.
	must(os.WriteFile(filepath.Join(dir, "all.do"), []byte("redo-ifchange $(cat targets)\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "targets"), []byte(strings.Join(targets, "\n")+"\n"), 0o644))
	return dir, targets
}

func resetPkgTree(dir string) {
	os.RemoveAll(filepath.Join(dir, ".hdo"))
	os.Mkdir(filepath.Join(dir, ".hdo"), 0o755)
	for _, pat := range []string{"pkg/*/.pkghash", "pkg/*/.closure", "all"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, f := range m {
			os.Remove(f)
		}
	}
}

const benchPackages = 1000

// BenchmarkPkgTree computes every .pkghash and .closure of a 1000-package
// tree from scratch (cold) and re-checks it with nothing changed (noop),
// with the built-in rules and with p2pkgs-style shell rules run by hdo.
func BenchmarkPkgTree(b *testing.B) {
	for _, v := range []struct {
		name  string
		shell bool
	}{{"builtin", false}, {"shell", true}} {
		b.Run(v.name+"/cold", func(b *testing.B) {
			dir, targets := pkgTree(b, benchPackages, v.shell)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				resetPkgTree(dir)
				b.StartTimer()
				hdoExec(b, dir, "-j2", "-q", "all")
			}
			b.ReportMetric(float64(len(targets)), "targets")
		})
		b.Run(v.name+"/noop", func(b *testing.B) {
			dir, targets := pkgTree(b, benchPackages, v.shell)
			hdoExec(b, dir, "-j2", "-q", "all")
			hdoExec(b, dir, "-q", "all")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				hdoExec(b, dir, "-q", "all")
			}
			b.ReportMetric(float64(len(targets)), "targets")
		})
	}
}

// BenchmarkPkgTreeNoopInProcess is the built-in no-op without process
// start-up, for profiling.
func BenchmarkPkgTreeNoopInProcess(b *testing.B) {
	dir, targets := pkgTree(b, benchPackages, false)
	hdoExec(b, dir, "-j2", "-q", "all")
	hdoExec(b, dir, "-q", "all")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := engine.New(engine.Config{Root: dir, Jobs: 1, Env: os.Environ(), Status: engine.NewQuietStatus(os.Stderr), Builtins: builtins(pkgrule.Config{Root: dir})})
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Build(context.Background(), targets, false); err != nil {
			b.Fatal(err)
		}
		if n := e.Built(); n != 0 {
			b.Fatalf("no-op built %d targets", n)
		}
		e.Close()
	}
	b.ReportMetric(float64(len(targets)), "targets")
}
