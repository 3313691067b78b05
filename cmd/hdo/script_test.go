package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/internal/hostroot"
	"github.com/hdo-build/hdo/sandbox"
	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

// TestMain makes this test binary answer to hdo and every redo-* name, so
// that scripts run the real CLI as separate processes.
func TestMain(m *testing.M) {
	sandbox.Main()
	hostroot.Main()
	cmds := map[string]func(){
		"hdo": func() {
			// As main: Ctrl-C cancels the context.
			ctx, _ := signalContext()
			os.Exit(run(ctx, os.Args))
		},
		venvRunName: func() { os.Exit(run(context.Background(), os.Args)) },
	}
	for _, name := range engine.Commands {
		cmds[name] = func() { os.Exit(run(context.Background(), os.Args)) }
	}
	testscript.Main(cleanupM{m}, cmds)
}

// cleanupM removes what the tests share across the run (the hdo binary
// realHdo builds) once they are done.
type cleanupM struct{ m *testing.M }

func (c cleanupM) Run() int {
	defer removeRealHdo()
	defer func() {
		if probeErr == nil && probeBin != "" {
			os.RemoveAll(filepath.Dir(probeBin))
		}
	}()
	return c.m.Run()
}

func TestScript(t *testing.T) {
	testscript.Run(t, scriptParams(t, "testdata/script"))
}

// TestScriptSh runs every script again with HDO_SHELL=sh, so that .do
// scripts run with sh, not in the embedded shell: both must give what
// the scripts expect.
func TestScriptSh(t *testing.T) {
	p := scriptParams(t, "testdata/script")
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		err := setup(env)
		env.Setenv("HDO_SHELL", "sh")
		return err
	}
	testscript.Run(t, p)
}

func scriptParams(t *testing.T, dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("XDG_CACHE_HOME", filepath.Join(env.WorkDir, ".cache"))
			env.Setenv("HDO_ROOT", "")
			env.Setenv("MAKEFLAGS", "")
			env.Setenv("HDO_SHELL", "")
			// Pin the tree root to $WORK whatever the temp dir's parents hold.
			return os.Mkdir(filepath.Join(env.WorkDir, ".hdo"), 0o755)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile":  cmdWaitfile,
			"sleep":     cmdSleep,
			"countmax":  cmdCountmax,
			"lines":     cmdLines,
			"jobfifo":   cmdJobfifo,
			"touchpast": cmdTouchpast,
			"stage0":    cmdStage0,
			"probe":     cmdProbe,
			"listen":    cmdListen,
			"marker":    cmdMarker,
			"hostmake":  cmdHostmake,
			"hostbin":   cmdHostbin,
			"serve":     cmdServe,
		},
	}
}

// waitfile PATH: wait up to 30s for PATH to exist.
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: waitfile PATH")
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.Fatalf("%s did not appear within 30s", args[0])
}

// sleep DURATION
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}

// countmax FILE MIN MAX: the largest number in FILE (one per line) is in
// [MIN, MAX]. The work script in the concurrency tests writes them.
func cmdCountmax(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: countmax FILE MIN MAX")
	}
	f, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer f.Close()
	lo, _ := strconv.Atoi(args[1])
	hi, _ := strconv.Atoi(args[2])
	max := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
		ts.Check(err)
		if n > max {
			max = n
		}
	}
	ts.Logf("max concurrency %d", max)
	if (max < lo || max > hi) != neg {
		ts.Fatalf("max concurrency %d, want between %d and %d", max, lo, hi)
	}
}

// lines FILE N: FILE has exactly N lines.
func cmdLines(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: lines FILE N")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	if err != nil && !os.IsNotExist(err) {
		ts.Fatalf("%v", err)
	}
	n := strings.Count(string(b), "\n")
	want, _ := strconv.Atoi(args[1])
	if (n != want) != neg {
		ts.Fatalf("%s has %d lines, want %d:\n%s", args[0], n, want, b)
	}
}

// jobfifo PATH N: act as a make 4.4 jobserver with N tokens (N-1 in the
// fifo plus the implicit one of the process we start) for the rest of the
// script.
func cmdJobfifo(ts *testscript.TestScript, neg bool, args []string) {
	path := ts.MkAbs(args[0])
	n, _ := strconv.Atoi(args[1])
	ts.Check(unix.Mkfifo(path, 0o600))
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	ts.Check(err)
	_, err = unix.Write(fd, []byte(strings.Repeat("+", n-1)))
	ts.Check(err)
	ts.Defer(func() { unix.Close(fd) })
}

// touchpast PATH SECONDS: set PATH's mtime SECONDS into the past, so that
// its stat cannot be racy.
func cmdTouchpast(ts *testscript.TestScript, neg bool, args []string) {
	secs, _ := strconv.Atoi(args[1])
	t := time.Now().Add(-time.Duration(secs) * time.Second)
	ts.Check(os.Chtimes(ts.MkAbs(args[0]), t, t))
}

// TestScriptCommandsDocumented: testdata/script/README.md lists exactly the
// commands scripts have besides testscript's own.
func TestScriptCommandsDocumented(t *testing.T) {
	b, err := os.ReadFile("testdata/script/README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if cell, ok := strings.CutPrefix(line, "| `"); ok {
			name, _, _ := strings.Cut(cell, " ")
			documented[strings.TrimSuffix(name, "`")] = true
		}
	}
	for name := range scriptParams(t, "testdata/script").Cmds {
		if !documented[name] {
			t.Errorf("script command %s is not in testdata/script/README.md", name)
		}
		delete(documented, name)
	}
	for name := range documented {
		t.Errorf("testdata/script/README.md lists %s, which scripts do not have", name)
	}
}
