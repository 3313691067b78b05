package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path"
	"runtime/pprof"
	"strings"

	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/engine/jobserver"
	"github.com/hdo-build/hdo/internal/doshell"
	"github.com/hdo-build/hdo/internal/pkgrule"
	"github.com/hdo-build/hdo/internal/pkgtree"
	"github.com/hdo-build/hdo/internal/termstatus"
	"golang.org/x/term"
)

// buildFlags are the flags of a top-level build.
type buildFlags struct {
	jobs       int
	keepGoing  bool
	trace      bool
	force      bool
	quiet      bool
	style      string
	cpuprofile string
	binaryOnly bool
}

// buildFlagSet is a set of build flags, as a verb takes them.
type buildFlagSet uint

const (
	fJobs buildFlagSet = 1 << iota
	fKeepGoing
	fTrace
	fForce
	fQuiet
	fJobserver
	fProfile
	fBinaryOnly

	// fBuild is every build flag: hdo TARGET... and the redo names.
	fBuild = fJobs | fKeepGoing | fTrace | fForce | fQuiet | fJobserver | fProfile | fBinaryOnly
	// fPackages are the flags of verbs that build packages to use them.
	fPackages = fJobs | fQuiet | fBinaryOnly
)

// register returns the flag set of the verb name, holding the build flags
// the verb's table entry names (all of them for build and the redo
// names).
func (b *buildFlags) register(e *env, name string) *flag.FlagSet {
	set := fBuild
	if v, ok := verbs[name]; ok {
		set = v.build
	}
	b.style = string(jobserver.Pipe)
	fs := newFlags(e, name)
	if set&fJobs != 0 {
		fs.IntVar(&b.jobs, "j", 0, "run up to `N` jobs at once (default: the jobserver of a parent make, else 1)")
	}
	if set&fKeepGoing != 0 {
		fs.BoolVar(&b.keepGoing, "k", false, "keep going: build what does not depend on a failed target")
	}
	if set&fTrace != 0 {
		fs.BoolVar(&b.trace, "x", false, "trace .do scripts (sh -x)")
	}
	if set&fForce != 0 {
		fs.BoolVar(&b.force, "f", false, "rebuild the targets even if up to date (redo)")
	}
	if set&fQuiet != 0 {
		fs.BoolVar(&b.quiet, "q", false, "print only warnings and errors")
	}
	if set&fJobserver != 0 {
		fs.StringVar(&b.style, "jobserver", b.style, "jobserver `style` offered to children: pipe or fifo")
	}
	if set&fProfile != 0 {
		fs.StringVar(&b.cpuprofile, "cpuprofile", "", "write a CPU profile to `file`")
	}
	if set&fBinaryOnly != 0 {
		fs.BoolVar(&b.binaryOnly, "binary-only", false, "take packages only from a binary cache; fail instead of building")
	}
	return fs
}

// buildCommand runs hdo TARGET... (or redo/redo-ifchange at the top level).
func buildCommand(ctx context.Context, e *env, name string, args []string, force bool) error {
	var bf buildFlags
	fs := bf.register(e, name)
	if err := parse(fs, splitJ(args)); err != nil {
		return err
	}
	bf.force = bf.force || force
	targets := fs.Args()
	if sock := e.getenv("HDO_SOCK"); sock != "" {
		// Inside a .do script: the hdo running the script builds them.
		op := "ifchange"
		if bf.force {
			op = "redo"
		}
		return sendRequest(e, sock, &engine.Request{
			Op: op, Args: targets,
			KeepGoing: bf.keepGoing, Trace: bf.trace, Jobs: bf.jobs,
		})
	}
	if len(targets) == 0 {
		return usagef("no targets given")
	}
	if bf.cpuprofile != "" {
		f, err := os.Create(bf.cpuprofile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	eng, stop, err := openEngine(e, &bf, targets)
	if err != nil {
		return err
	}
	defer stop()
	rels, err := relTargets(e, eng, targets)
	if err != nil {
		return err
	}
	for i, rel := range rels {
		// A package dir stands for its package.
		if pkgtree.IsPackageDir(eng.Root(), rel) {
			rels[i] = path.Join(rel, pkgtree.TarballFile)
			if !bf.quiet {
				fmt.Fprintf(e.stderr, "hdo: %s is a package directory: building %s\n", targets[i], eng.Display(e.cwd, rels[i]))
			}
		}
	}
	return eng.Build(ctx, rels, bf.force)
}

// openEngine opens the engine of the tree around e.cwd, or around the
// paths the command was given (see treeRoot), for building.
func openEngine(e *env, bf *buildFlags, paths []string) (*engine.Engine, func(), error) {
	root, err := treeRoot(e, paths)
	if err != nil {
		return nil, nil, err
	}
	status, stopStatus := newStatus(e, bf.quiet)
	pool, err := jobPool(e, status, bf)
	if err != nil {
		stopStatus()
		return nil, nil, err
	}
	pcfg, err := pkgConfig(e, root, bf.binaryOnly, status)
	if err != nil {
		pool.Close()
		stopStatus()
		return nil, nil, err
	}
	// The live status block shows each job's phase and downloaded bytes:
	// the fetcher's and the cache's own progress lines would be drawn
	// through it. -q wants neither.
	if _, live := status.(*termstatus.Display); live || bf.quiet {
		pcfg.Fetcher.Progress = nil
		if pcfg.Cache != nil {
			pcfg.Cache.Progress = nil
		}
	}
	var commands map[string]doshell.Command
	if e.getenv("HDO_SHELL") != "sh" {
		commands = inProcessCommands()
	}
	eng, err := engine.New(engine.Config{
		Commands:  commands,
		Root:      root,
		Jobserver: pool,
		KeepGoing: bf.keepGoing,
		Trace:     bf.trace,
		Env:       e.environ,
		Stderr:    e.stderr,
		Status:    status,
		Builtins:  builtins(pcfg),
		Suggest:   pkgrule.Suggest(root),
	})
	if err != nil {
		pool.Close()
		stopStatus()
		return nil, nil, err
	}
	return eng, func() {
		if err := eng.Close(); err != nil {
			fmt.Fprintln(e.stderr, "hdo:", err)
		}
		pool.Close()
		stopStatus()
	}, nil
}

// jobPool picks the jobserver: our own with -j N, else the one make passed
// in MAKEFLAGS, else one token.
func jobPool(e *env, status engine.Status, bf *buildFlags) (*jobserver.Pool, error) {
	style := jobserver.Style(bf.style)
	if style != jobserver.Pipe && style != jobserver.Fifo {
		return nil, usagef("-jobserver must be pipe or fifo, not %q", bf.style)
	}
	if bf.jobs < 0 {
		return nil, usagef("-j %d: want a number of jobs, 1 or more", bf.jobs)
	}
	if bf.jobs > jobserver.MaxJobs {
		return nil, usagef("-j %d: at most %d jobs run at once; use -j %d or fewer", bf.jobs, jobserver.MaxJobs, jobserver.MaxJobs)
	}
	if bf.jobs > 0 {
		return jobserver.New(bf.jobs, style)
	}
	pool, err := jobserver.FromMakeflags(e.getenv("MAKEFLAGS"))
	if err != nil {
		status.Warn("%s", err)
	}
	if pool != nil {
		return pool, nil
	}
	return jobserver.New(1, style)
}

// newStatus returns the progress display: a live status line on a
// terminal, plain lines otherwise.
func newStatus(e *env, quiet bool) (engine.Status, func()) {
	if quiet {
		return engine.NewQuietStatus(e.stderr), func() {}
	}
	if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) && e.getenv("TERM") != "dumb" {
		w, _, err := term.GetSize(int(f.Fd()))
		if err != nil {
			w = 80
		}
		t := termstatus.New(f, w)
		return t, t.Stop
	}
	return engine.NewPlainStatus(e.stderr), func() {}
}

// relTargets converts command-line paths to root-relative target names.
func relTargets(e *env, eng *engine.Engine, args []string) ([]string, error) {
	var rels []string
	for _, a := range args {
		rel, err := eng.Rel(e.cwd, a)
		if err != nil {
			return nil, err
		}
		rels = append(rels, rel)
	}
	return rels, nil
}

// splitJ accepts make's attached form -jN as well as -j N.
func splitJ(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if n, ok := strings.CutPrefix(a, "-j"); ok && n != "" && n[0] >= '0' && n[0] <= '9' {
			a = "-j=" + n
		}
		out = append(out, a)
	}
	return out
}

// newPlainStatusFor reports warnings as plain lines on e's stderr.
func newPlainStatusFor(e *env) engine.Status { return engine.NewPlainStatus(e.stderr) }
