package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	crashN    = flag.Int("crash.n", 5, "TestCrash: number of kills (200 or more for a real run)")
	crashSeed = flag.Uint64("crash.seed", 0, "TestCrash: seed of the tree and of the kills (0: a random one, printed)")
	crashPkgs = flag.Int("crash.pkgs", 30, "TestCrash: packages in the generated tree")
)

// How TestCrash kills a build.
const (
	killHdo    = "hdo"    // SIGKILL the hdo process only (its .do scripts die with it, its sandboxes too)
	killGroup  = "group"  // SIGKILL hdo's whole process group
	killScript = "script" // SIGKILL a package's build script inside its sandbox
)

// crashStats are the figures TestCrash reports.
type crashStats struct {
	kills      map[string]int
	landed     int // kills that hit a running hdo (the rest found it done)
	violations []string
	workDirs   int // work dirs of killed builds left in the cache (hdo gc's job)
	sockDirs   int // socket dirs of killed hdo processes left in TMPDIR
}

// TestCrash is the crash-injection driver: it builds a generated tree of
// stage0 packages and .do targets with the real hdo binary, SIGKILLs hdo,
// its process group or a build script at random instants, -crash.n times,
// and after each kill checks that
//
//   - every target file that exists is whole (tarballs read to the end,
//     pkghashes and closures well formed, .do outputs complete);
//   - every target the state calls up to date (hdo targets minus hdo ood)
//     has exactly the bytes of a clean build of the same sources;
//   - the next run completes, leaves everything as a clean build would,
//     with nothing out of date, no temporary file and no process behind.
//
// Between kills it flips "knobs" (a package's VERSION, a .do input) or
// starts from scratch, so that kills hit first builds and rebuilds alike.
// Run it long with go test ./cmd/hdo -run TestCrash -crash.n=200 -v.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 30-package tree")
	}
	seed := *crashSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (rerun with -crash.seed=%d)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 2))
	g := genStageTree(seed, *crashPkgs, newMarker("hdo-crash-"))
	base := t.TempDir()
	refs := &refBuilds{g: g, base: base, byConfig: map[string]map[string][]byte{}}
	config := []byte("111")
	refs.get(t, config)

	h := newHdoTree(t, filepath.Join(base, "crash"))
	g.write(t, h.root)
	all := g.allTargets()
	st := crashStats{kills: map[string]int{}}
	violation := func(i int, kind, format string, args ...any) {
		msg := fmt.Sprintf("kill %d (%s): %s", i, kind, fmt.Sprintf(format, args...))
		st.violations = append(st.violations, msg)
		t.Error(msg)
	}
	window := map[string]time.Duration{"scratch": refs.full, "rebuild": refs.full / 2}
	for i := range *crashN {
		kind := []string{killHdo, killGroup, killScript}[r.IntN(3)]
		st.kills[kind]++
		// Vary what the next run has to do: everything, or what one knob
		// changes. The kill comes at a random instant of how long such a
		// run took when it was not killed.
		mode := "rebuild"
		if i == 0 || r.IntN(4) == 0 {
			mode = "scratch"
			wipe(t, h, r.IntN(2) == 0)
		} else {
			k := r.IntN(len(config))
			config[k] ^= '1' ^ '2' // flip between 1 and 2
		}
		g.setKnobs(t, h.root, config)
		ref := refs.get(t, config)

		w := window[mode]
		if kind == killScript {
			w /= 2 // builds run in the first part of a run, .do targets last
		}
		delay := time.Duration(r.Int64N(int64(w) + 1))
		start := time.Now()
		landed, out := crashRun(t, h, g, kind, delay)
		if landed {
			st.landed++
		} else {
			window[mode] = (window[mode] + time.Since(start)) / 2
		}
		if kind == killScript && landed && (!strings.Contains(out, "build failed: build killed by signal 9") || strings.Contains(out, "[hdo exited 0")) {
			violation(i, kind, "hdo did not report the killed build script:\n%s", out)
		}
		if testing.Verbose() {
			t.Logf("kill %d: %s after %v, config %s, hit a running hdo: %v", i, kind, delay.Round(time.Millisecond), config, landed)
		}
		if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic:") {
			violation(i, kind, "hdo panicked:\n%s", out)
		}

		// What the kill left.
		for _, b := range checkWhole(h.root, all) {
			violation(i, kind, "after the kill: %s", b)
		}
		ood := lines(h.run(t, "ood"))
		for _, tg := range lines(h.run(t, "targets")) {
			if slices.Contains(ood, tg) {
				continue
			}
			got, err := os.ReadFile(filepath.Join(h.root, filepath.FromSlash(tg)))
			want, inRef := ref[tg]
			switch {
			case err != nil && inRef:
				violation(i, kind, "%s: the state calls it up to date but it cannot be read: %v", tg, err)
			case err == nil && !inRef:
				violation(i, kind, "%s: the state calls it up to date but a clean build does not make it", tg)
			case err == nil && !bytes.Equal(got, want):
				violation(i, kind, "%s: the state calls it up to date but it differs from a clean build (%d bytes, want %d)", tg, len(got), len(want))
			}
		}

		// The next run completes and leaves what a clean build leaves.
		h.run(t, "-j2", "-q", g.targets[0], g.targets[1], g.targets[2], g.targets[3])
		got := readTargets(t, h.root, all)
		for _, tg := range all {
			if !bytes.Equal(got[tg], ref[tg]) {
				violation(i, kind, "after the next run, %s differs from a clean build (%d bytes, want %d)", tg, len(got[tg]), len(ref[tg]))
			}
		}
		if ood := h.run(t, "ood"); ood != "" {
			violation(i, kind, "after the next run, hdo ood lists:\n%s", ood)
		}
		if missing := diffSets(all, lines(h.run(t, "targets"))); len(missing) > 0 {
			violation(i, kind, "after the next run, hdo targets lacks %v", missing)
		}
		if left := tempLeftovers(h.root); len(left) > 0 {
			violation(i, kind, "after the next run, temporary files remain: %v", left)
		}
		if pids := waitGone(g.marker, 10*time.Second); len(pids) > 0 {
			violation(i, kind, "build processes %v outlived hdo", pids)
		}
		if len(st.violations) > 20 {
			t.Fatalf("too many violations; stopping")
		}
	}
	st.workDirs = countEntries(filepath.Join(h.cache, "hdo", "build"))
	st.sockDirs = countEntries(h.tmp)
	t.Logf("crash: %d kills (%d of hdo, %d of its process group, %d of a build script), %d while hdo ran; %d violations; %d reference builds; left behind: %d work dirs, %d socket dirs",
		*crashN, st.kills[killHdo], st.kills[killGroup], st.kills[killScript], st.landed, len(st.violations), len(refs.byConfig), st.workDirs, st.sockDirs)
}

// crashRun starts a full build of the tree and kills it as kind says
// after delay. It reports whether the kill hit a running hdo, and hdo's
// output.
func crashRun(t *testing.T, h *hdoTree, g *genTree, kind string, delay time.Duration) (bool, string) {
	t.Helper()
	var out bytes.Buffer
	cmd := h.command(t, append([]string{"-j2"}, g.targets...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return false, checkExit(t, err, &out)
	case <-time.After(delay):
	}
	switch kind {
	case killHdo:
		cmd.Process.Signal(syscall.SIGKILL)
	case killGroup:
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	case killScript:
		// The build script is the parent of the marked subshell.
		for {
			if pids := markedProcesses(g.marker); len(pids) > 0 {
				if pp := parentPid(pids[0]); pp > 1 {
					syscall.Kill(pp, syscall.SIGKILL)
					break
				}
			}
			select {
			case err := <-done:
				return false, checkExit(t, err, &out)
			case <-time.After(2 * time.Millisecond):
			}
		}
		// hdo reports the failed build and stops.
		if err := <-done; err == nil {
			return true, out.String() + "[hdo exited 0 after its build script was killed]"
		}
		return true, out.String()
	}
	err := <-done
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ProcessState.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL {
		return true, out.String()
	}
	// It ended just before the kill.
	return false, checkExit(t, err, &out)
}

// checkExit fails the test if a build that was not killed failed.
func checkExit(t *testing.T, err error, out *bytes.Buffer) string {
	t.Helper()
	if err != nil {
		t.Fatalf("hdo failed without being killed: %v\n%s", err, out.Bytes())
	}
	return out.String()
}

// wipe removes every target and the state, and with store the package
// store too, so that the next build starts from scratch.
func wipe(t *testing.T, h *hdoTree, store bool) {
	t.Helper()
	for _, pat := range []string{"pkg/*/.pkghash", "pkg/*/.closure", "pkg/*/.bclosure", "pkg/*/.pkg.tar.gz", "all", "count", "slow", "sub/report"} {
		m, _ := filepath.Glob(filepath.Join(h.root, pat))
		for _, f := range m {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.RemoveAll(filepath.Join(h.root, ".hdo")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(h.root, ".hdo"), 0o755); err != nil {
		t.Fatal(err)
	}
	if store {
		if err := removeAllWritable(filepath.Join(h.cache, "hdo", "store")); err != nil {
			t.Fatal(err)
		}
	}
}

// removeAllWritable removes a tree that may hold read-only directories
// (the store keeps packages read-only).
func removeAllWritable(dir string) error {
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// refBuilds are clean builds of a generated tree, one per knob setting:
// what every target must hold for those sources.
type refBuilds struct {
	g        *genTree
	base     string
	byConfig map[string]map[string][]byte
	full     time.Duration // how long the first clean build took
}

func (rb *refBuilds) get(t *testing.T, config []byte) map[string][]byte {
	t.Helper()
	if m, ok := rb.byConfig[string(config)]; ok {
		return m
	}
	dir := filepath.Join(rb.base, "ref-"+string(config))
	h := newHdoTree(t, dir)
	rb.g.write(t, h.root)
	rb.g.setKnobs(t, h.root, config)
	start := time.Now()
	h.run(t, append([]string{"-j2", "-q"}, rb.g.targets...)...)
	if rb.full == 0 {
		rb.full = time.Since(start)
		t.Logf("a clean build of the %d-package tree takes %v", len(rb.g.pkgs), rb.full.Round(time.Millisecond))
	}
	m := readTargets(t, h.root, rb.g.allTargets())
	if missing := diffSets(rb.g.allTargets(), keys(m)); len(missing) > 0 {
		t.Fatalf("a clean build did not make %v", missing)
	}
	if bad := checkWhole(h.root, rb.g.allTargets()); len(bad) > 0 {
		t.Fatalf("a clean build made bad targets: %v", bad)
	}
	rb.byConfig[string(config)] = m
	removeAllWritable(dir)
	return m
}

// diffSets returns the elements of want missing from got.
func diffSets(want, got []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			out = append(out, w)
		}
	}
	return out
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// countEntries counts the entries of dir (0 if it does not exist).
func countEntries(dir string) int {
	des, _ := os.ReadDir(dir)
	return len(des)
}
