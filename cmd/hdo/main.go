// Command hdo is a redo-style build system for source package trees.
//
// hdo is one multicall binary: invoked as redo, redo-ifchange and the other
// redo-* names it behaves as that command. See the README for the CLI.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"

	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/internal/hostroot"
	"github.com/hdo-build/hdo/sandbox"
)

// A verb is one subcommand: hdo VERB ARGS...
type verb struct {
	usage string // e.g. "log TARGET"
	help  string // one line
	run   func(ctx context.Context, env *env, args []string) error
}

// verbs maps the subcommand names to their implementations; each lives in
// its own file.
var verbs = map[string]verb{}

func register(name string, v verb) { verbs[name] = v }

// env is what every verb gets from the process, so verbs never read
// globals and tests can run them in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	cwd            string
	getenv         func(string) string
	environ        []string
}

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// exitError carries an exit status without a message (already printed).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	// A re-executed hdo may be the init of a build sandbox.
	sandbox.Main()
	// ... or the child of venv-run or hdo run that makes the new root.
	hostroot.Main()
	// hdo is short-lived and allocation-heavy while checking a tree: trade
	// some memory for fewer collections.
	debug.SetGCPercent(400)
	ctx, stop := signalContext()
	defer stop()
	os.Exit(run(ctx, os.Args))
}

// signalContext returns a context cancelled by the first SIGINT or SIGTERM;
// a second one exits at once.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ch
		cancel()
		<-ch
		os.Exit(130)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

// run executes one invocation and returns the exit status.
func run(ctx context.Context, args []string) int {
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hdo:", err)
		return 1
	}
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, cwd: cwd, getenv: os.Getenv, environ: os.Environ()}
	name := filepath.Base(args[0])
	err = dispatch(ctx, e, name, args[1:])
	return exitCode(e, name, err)
}

func exitCode(e *env, name string, err error) int {
	var ue *usageError
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, engine.ErrBuildFailed):
		return 1
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "%s: %s\n", name, ue.msg)
		if name == "hdo" {
			fmt.Fprintln(e.stderr, "run 'hdo help' for usage")
		}
		return 2
	default:
		fmt.Fprintf(e.stderr, "%s: %s\n", name, err)
		return 1
	}
}

func dispatch(ctx context.Context, e *env, name string, args []string) error {
	if strings.HasPrefix(name, "redo") {
		return redoCommand(ctx, e, name, args)
	}
	if name == venvRunName {
		return venvRunCommand(ctx, e, args)
	}
	if len(args) > 0 {
		if v, ok := verbs[args[0]]; ok {
			return v.run(ctx, e, args[1:])
		}
	}
	return buildCommand(ctx, e, "hdo", args, false)
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `usage: hdo [-j N] [-k] [-x] [-f] [-q] TARGET...   build targets (redo-ifchange; -f: redo)
       hdo VERB [ARGS]

verbs:
`)
	names := make([]string, 0, len(verbs))
	for n := range verbs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-34s %s\n", verbs[n].usage, verbs[n].help)
	}
	fmt.Fprintf(w, "\nAs a multicall binary hdo also answers to: %s\n", strings.Join(engine.Commands, " "))
}

// newFlags returns a flag set for a verb that reports errors as usage errors.
func newFlags(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: hdo %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses a verb's flags, turning -h into a clean exit.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{0}
		}
		return &exitError{2}
	}
	return nil
}
