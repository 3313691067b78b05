package main

import (
	"bytes"
	"flag"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

var concurrentRounds = flag.Int("concurrent.rounds", 3, "TestConcurrentProcesses: rounds of 4 processes (the first from scratch, then after changing a knob)")

// buildLineRE matches the line hdo prints when it starts building a
// target (after taking its lock and finding it still out of date).
var buildLineRE = regexp.MustCompile(`(?m)^hdo: build (\S+)$`)

// TestConcurrentProcesses starts 4 hdo processes at once on one generated
// tree of stage0 packages, asking for overlapping targets, and checks
// that every process succeeds, every target is built exactly once across
// the four (counting the "hdo: build T" lines of their stderr), and that
// the tree ends up as a clean build leaves it: the same bytes, nothing out
// of date, every target recorded. Then it changes a package or a .do
// input and does it again.
func TestConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 30-package tree")
	}
	g := genStageTree(7, 30, newMarker("hdo-concurrent-"))
	base := t.TempDir()
	refs := &refBuilds{g: g, base: base, byConfig: map[string]map[string][]byte{}}
	h := newHdoTree(t, filepath.Join(base, "tree"))
	g.write(t, h.root)
	all := g.allTargets()

	// Overlapping requests: everything; everything again through count;
	// the first two thirds of the packages and a report; the last two
	// thirds, backwards, and slow.
	var first, last []string
	for i, p := range g.pkgs {
		if i < 2*len(g.pkgs)/3 {
			first = append(first, p+"/.pkg.tar.gz")
		}
		if i >= len(g.pkgs)/3 {
			last = append([]string{p + "/.pkg.tar.gz"}, last...)
		}
	}
	requests := [][]string{
		{"all"},
		{"count"},
		append(first, "sub/report"),
		append(last, "slow"),
	}

	// The tree is a gc root from its first package build on; before that,
	// gc would rightly drop the seed the test put in the cache.
	h.run(t, "-q", "pkg/seed/.pkg.tar.gz")

	configs := []string{"111", "211", "221", "121", "122"}
	for round := range *concurrentRounds {
		config := []byte(configs[round%len(configs)])
		g.setKnobs(t, h.root, config)
		ref := refs.get(t, config)
		before := readTargets(t, h.root, all)

		outs := make([]bytes.Buffer, len(requests))
		errs := make([]error, len(requests))
		var cmds []*exec.Cmd
		for i, req := range requests {
			cmd := h.command(t, append([]string{"-j2"}, req...)...)
			cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
			cmds = append(cmds, cmd)
		}
		var wg sync.WaitGroup
		for i, cmd := range cmds {
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			wg.Go(func() { errs[i] = cmd.Wait() })
		}
		// hdo gc, over and over while they build: it must take nothing
		// a build uses (it waits for running package builds).
		stop := make(chan struct{})
		gcDone := make(chan gcStats)
		go func() { gcDone <- gcLoop(t, h, stop) }()
		wg.Wait()
		close(stop)
		gcs := <-gcDone
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: hdo %s: %v\n%s", round, strings.Join(requests[i], " "), err, outs[i].Bytes())
			}
		}

		for i := range outs {
			if m := regexp.MustCompile(`(?m)^.*(was not built by hdo|modified outside hdo).*$`).Find(outs[i].Bytes()); m != nil {
				t.Errorf("round %d: hdo %s took another process's target for a hand-made file: %s", round, strings.Join(requests[i], " "), m)
			}
		}
		builds := map[string]int{}
		total := 0
		for i := range outs {
			for _, m := range buildLineRE.FindAllStringSubmatch(outs[i].String(), -1) {
				builds[m[1]]++
				total++
			}
		}
		for tg, n := range builds {
			if n > 1 {
				t.Errorf("round %d: %s built %d times", round, tg, n)
			}
		}
		// Whatever changed was rebuilt, by one of them; from scratch that
		// is everything.
		got := readTargets(t, h.root, all)
		for _, tg := range all {
			if !bytes.Equal(got[tg], ref[tg]) {
				t.Errorf("round %d: %s differs from a clean build (%d bytes, want %d)", round, tg, len(got[tg]), len(ref[tg]))
			}
			if !bytes.Equal(before[tg], ref[tg]) && builds[tg] != 1 {
				t.Errorf("round %d: %s changed but was built %d times", round, tg, builds[tg])
			}
		}
		if ood := h.run(t, "ood"); ood != "" {
			t.Errorf("round %d: hdo ood lists:\n%s", round, ood)
		}
		if missing := diffSets(all, lines(h.run(t, "targets"))); len(missing) > 0 {
			t.Errorf("round %d: hdo targets lacks %v", round, missing)
		}
		if left := tempLeftovers(h.root); len(left) > 0 {
			t.Errorf("round %d: temporary files remain: %v", round, left)
		}
		for _, e := range gcs.errs {
			t.Errorf("round %d: %s", round, e)
		}
		t.Logf("round %d (knobs %s): 4 processes, %d builds of %d targets, none twice; hdo gc ran %d times alongside, removing %d items", round, config, total, len(builds), gcs.runs, gcs.removed)
		if t.Failed() {
			for i := range outs {
				t.Logf("hdo %s:\n%s", strings.Join(requests[i], " "), outs[i].Bytes())
			}
			t.FailNow()
		}
	}
}

// gcStats are what gcLoop saw.
type gcStats struct {
	runs, removed int
	errs          []string
}

var gcRemovedRE = regexp.MustCompile(`(?m)^remove `)

// gcLoop runs hdo gc -v on the tree's cache until stop is closed.
func gcLoop(t *testing.T, h *hdoTree, stop chan struct{}) gcStats {
	var st gcStats
	for {
		select {
		case <-stop:
			return st
		default:
		}
		var out bytes.Buffer
		cmd := h.command(t, "gc", "-v")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			st.errs = append(st.errs, fmt.Sprintf("hdo gc: %v\n%s", err, out.Bytes()))
		}
		st.runs++
		st.removed += len(gcRemovedRE.FindAll(out.Bytes(), -1))
	}
}
