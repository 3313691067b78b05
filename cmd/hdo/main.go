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
	"strings"
	"syscall"

	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/internal/hostroot"
	"github.com/hdo-build/hdo/sandbox"
)

// env is what every verb gets from the process, so verbs never read
// globals and tests can run them in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	cwd            string
	getenv         func(string) string
	environ        []string
}

// usageError is a bad command line: exit status 2. It is printed as
//
//	hdo: MSG
//	usage: hdo VERB's usage
//	run 'hdo help VERB' for details
//
// with the verb that returned it (dispatch fills it in).
type usageError struct {
	msg  string
	verb *verb
}

func (u *usageError) Error() string { return u.msg }

// usagef returns a usageError saying what is wrong with the command line,
// e.g. "publish needs -o DIR"; never "usage: ...", which the error's
// printing adds.
func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

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
// a second one exits at once, with status 130.
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
	case errors.Is(err, engine.ErrInterrupted) || errors.Is(err, context.Canceled):
		// Ctrl-C (or SIGTERM): not a failure, and said once, by the hdo
		// the user ran, not by the redo* calls of its scripts.
		if !strings.HasPrefix(name, "redo") {
			fmt.Fprintf(e.stderr, "%s: interrupted\n", name)
		}
		return 130
	case errors.Is(err, engine.ErrBuildFailed):
		return 1
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "%s: %s\n", name, ue.msg)
		if name == "hdo" && ue.verb != nil {
			fmt.Fprintf(e.stderr, "usage: hdo %s\n", ue.verb.usage)
			fmt.Fprintf(e.stderr, "run 'hdo help %s' for details\n", ue.verb.name)
		} else if name == "hdo" {
			fmt.Fprintln(e.stderr, "run 'hdo help' for the verbs")
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
	v, rest := buildVerbEntry, args
	if len(args) > 0 {
		if named, ok := verbs[args[0]]; ok {
			v, rest = named, args[1:]
		}
	}
	err := v.run(ctx, e, rest)
	var ue *usageError
	if errors.As(err, &ue) && ue.verb == nil {
		ue.verb = v
	}
	return err
}

// buildVerb is hdo TARGET...
func buildVerb(ctx context.Context, e *env, args []string) error {
	return buildCommand(ctx, e, "hdo", args, false)
}

// printUsage prints the verb list: the table's groups in order, each
// verb's usage and its line wrapped beside it.
func printUsage(w io.Writer) {
	fmt.Fprint(w, "usage: hdo [flags] TARGET...         build targets (see build below)\n")
	fmt.Fprint(w, "       hdo VERB [ARGS]              hdo help VERB describes one\n")
	for _, g := range verbGroups {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, v := range g.verbs {
			printVerbLine(w, "hdo "+v.usage, v.help)
		}
	}
	fmt.Fprintf(w, "\nAs a multicall binary hdo also answers to: %s\n", strings.Join(engine.Commands, " "))
}

// Columns of the verb list: usages start at 2 and lines at helpColumn,
// wrapped before lineWidth; a usage too long for its column gets a line
// of its own.
const (
	helpColumn = 31
	lineWidth  = 80
)

func printVerbLine(w io.Writer, usage, help string) {
	pad := strings.Repeat(" ", helpColumn)
	line := "  " + usage
	if len(line) >= helpColumn-1 {
		fmt.Fprintln(w, line)
		line = pad
	} else {
		line += strings.Repeat(" ", helpColumn-len(line))
	}
	n := len(line)
	for i, word := range strings.Fields(help) {
		if i > 0 && n+1+len(word) > lineWidth {
			fmt.Fprintln(w, line)
			line, n = pad+word, helpColumn+len(word)
			continue
		}
		if i > 0 {
			line += " "
			n++
		}
		line += word
		n += len(word)
	}
	fmt.Fprintln(w, line)
}

// newFlags returns the flag set of a verb (named as in the table).
func newFlags(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {}
	return fs
}

// parse parses a verb's flags. -h prints the verb's usage and flags and
// exits 0; a bad flag is a usage error, printed as every other.
func parse(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage := buildVerbEntry.usage
		if v, ok := verbs[fs.Name()]; ok {
			usage = v.usage
		}
		fmt.Fprintf(out, "usage: hdo %s\n", usage)
		fs.PrintDefaults()
		return &exitError{0}
	case err != nil:
		return usagef("%v", err)
	}
	return nil
}
