package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hdo-build/hdo/engine"
)

// benchTree writes the redo benchmark tree: n sources src/N.in, n targets
// N.out built by one default.out.do, and all depending on every target.
func benchTree(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "src"), 0o755))
	must(os.Mkdir(filepath.Join(dir, ".hdo"), 0o755))
	var list strings.Builder
	for i := 0; i < n; i++ {
		must(os.WriteFile(filepath.Join(dir, "src", fmt.Sprintf("%d.in", i)), []byte(fmt.Sprintf("source %d\n", i)), 0o644))
		fmt.Fprintf(&list, "%d.out\n", i)
	}
	must(os.WriteFile(filepath.Join(dir, "list"), []byte(list.String()), 0o644))
	must(os.WriteFile(filepath.Join(dir, "default.out.do"), []byte("redo-ifchange src/$2.in\ncat src/$2.in\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "all.do"), []byte("redo-ifchange $(cat list)\ncat $(cat list)\n"), 0o644))
	return dir
}

var (
	hdoBinOnce sync.Once
	hdoBin     string
	hdoBinErr  error
)

// realHdo builds the hdo binary itself, once per test run, for the
// benchmarks and the tests that run hdo as a separate process (crash,
// concurrency, cache faults, hostile input): the test binary that stands in
// for hdo in script tests is three times larger and slower to start.
// TestMain removes it.
func realHdo(tb testing.TB) string {
	tb.Helper()
	hdoBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hdo-bin-")
		if err != nil {
			hdoBinErr = err
			return
		}
		os.Chmod(dir, 0o755) // runnable by the users tests switch to
		hdoBin = filepath.Join(dir, "hdo")
		args := append(append([]string{"build"}, hdoBuildFlags...), "-o", hdoBin, ".")
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			hdoBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if hdoBinErr != nil {
		tb.Fatal(hdoBinErr)
	}
	return hdoBin
}

// removeRealHdo removes the binary realHdo built, if any.
func removeRealHdo() {
	if hdoBin != "" {
		os.RemoveAll(filepath.Dir(hdoBin))
	}
}

func hdoExec(b *testing.B, dir string, args ...string) {
	b.Helper()
	hdoExecEnv(b, dir, nil, args...)
}

// hdoExecEnv runs hdo with env added to the environment.
func hdoExecEnv(b *testing.B, dir string, env []string, args ...string) {
	b.Helper()
	cmd := exec.Command(realHdo(b), args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "HDO_ROOT=", "MAKEFLAGS="), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("hdo %v: %v\n%s", args, err, out)
	}
}

func resetTree(b *testing.B, dir string) {
	b.Helper()
	os.RemoveAll(filepath.Join(dir, ".hdo"))
	os.Mkdir(filepath.Join(dir, ".hdo"), 0o755)
	matches, _ := filepath.Glob(filepath.Join(dir, "*.out"))
	for _, m := range matches {
		os.Remove(m)
	}
	os.Remove(filepath.Join(dir, "all"))
}

const benchTargets = 1000

// BenchmarkFirstBuild: the whole tree from scratch, 1001 targets, each
// running redo-ifchange and cat: in the embedded shell (redo-ifchange
// in-process, one process per target: cat), and with HDO_SHELL=sh (sh,
// an hdo process for redo-ifchange, and cat).
func BenchmarkFirstBuild(b *testing.B) {
	for _, shell := range []string{"embedded", "sh"} {
		for _, j := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/j%d", shell, j), func(b *testing.B) {
				env := []string{"HDO_SHELL="}
				if shell == "sh" {
					env = []string{"HDO_SHELL=sh"}
				}
				dir := benchTree(b, benchTargets)
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					resetTree(b, dir)
					b.StartTimer()
					hdoExecEnv(b, dir, env, fmt.Sprintf("-j%d", j), "-q", "all")
				}
				b.ReportMetric(benchTargets+1, "targets")
			})
		}
	}
}

// BenchmarkNoop: hdo all with nothing changed, as a process (start-up,
// state load, 3000 stats).
func BenchmarkNoop(b *testing.B) {
	dir := benchTree(b, benchTargets)
	hdoExec(b, dir, "-j2", "-q", "all")
	hdoExec(b, dir, "-q", "all") // settle racy stats of just-written files
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		hdoExec(b, dir, "-q", "all")
	}
	b.ReportMetric(benchTargets+1, "targets")
}

// BenchmarkFirstNoop: the first no-op right after a first build, which
// pays for every stat the build recorded too close to the file's write to
// be trusted (see fingerprint.Racy), unless the build settled them.
func BenchmarkFirstNoop(b *testing.B) {
	dir := benchTree(b, benchTargets)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		resetTree(b, dir)
		hdoExec(b, dir, "-j2", "-q", "all")
		b.StartTimer()
		hdoExec(b, dir, "-q", "all")
	}
	b.ReportMetric(benchTargets+1, "targets")
}

// BenchmarkNoopInProcess: the same no-op without process start-up, to show
// where the time goes.
func BenchmarkNoopInProcess(b *testing.B) {
	dir := benchTree(b, benchTargets)
	hdoExec(b, dir, "-j2", "-q", "all")
	hdoExec(b, dir, "-q", "all")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := engine.New(engine.Config{Root: dir, Jobs: 1, Env: os.Environ(), Status: engine.NewQuietStatus(os.Stderr)})
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Build(context.Background(), []string{"all"}, false); err != nil {
			b.Fatal(err)
		}
		if n := e.Built(); n != 0 {
			b.Fatalf("no-op built %d targets", n)
		}
		e.Close()
	}
	b.ReportMetric(benchTargets+1, "targets")
}

// BenchmarkOneChanged: one source edited; its target and all are rebuilt
// (all.do re-requests the 1000 targets, all up to date).
func BenchmarkOneChanged(b *testing.B) {
	dir := benchTree(b, benchTargets)
	hdoExec(b, dir, "-j2", "-q", "all")
	src := filepath.Join(dir, "src", "500.in")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		os.WriteFile(src, []byte(fmt.Sprintf("edit %d\n", i)), 0o644)
		b.StartTimer()
		hdoExec(b, dir, "-q", "all")
	}
	b.ReportMetric(benchTargets+1, "targets")
}
