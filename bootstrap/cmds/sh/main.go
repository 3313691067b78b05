// Command sh is the stage0 /bin/sh: a POSIX-style command line around the
// mvdan.cc/sh interpreter (u-root's gosh takes neither "-e" nor script
// arguments, which every build script and .do file needs).
//
// Usage:
//
//	sh [-aefnux] [-o option]... [+aefnux] [script [arg...]]
//	sh [options] -c command [name [arg...]]
//	sh [options] -s [arg...]
//
// Without a script or -c, commands are read from standard input, with a
// "$ " prompt when it is a terminal. A file that cannot be executed because
// it is neither a binary nor a #! script is run by this shell, as POSIX
// requires. hdo compiles this file into the stage0 multicall binary; its
// bytes are part of every stage0 seed's key.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/term"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// invocation is a parsed sh command line.
type invocation struct {
	opts    []string // interp options, e.g. -e, +x, -o pipefail
	command string   // the -c command string
	hasCmd  bool     // -c was given
	stdin   bool     // read commands from standard input
	name    string   // $0
	args    []string // $1...
}

// supportedFlags are the single-letter options the interpreter implements.
const supportedFlags = "aefnux"

// parseArgs parses the sh command line after the program name.
func parseArgs(args []string) (*invocation, error) {
	inv := &invocation{name: "sh"}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" {
			i++
			break
		}
		if len(a) < 2 || (a[0] != '-' && a[0] != '+') {
			break
		}
		sign := a[:1]
		for _, c := range a[1:] {
			switch {
			case c == 'c' && sign == "-":
				inv.hasCmd = true
			case c == 's' && sign == "-":
				inv.stdin = true
			case c == 'i':
				// Interactivity follows from standard input being a terminal.
			case c == 'o':
				i++
				if i == len(args) {
					return nil, fmt.Errorf("%so needs an option name", sign)
				}
				inv.opts = append(inv.opts, sign+"o", args[i])
			case strings.ContainsRune(supportedFlags, c):
				inv.opts = append(inv.opts, sign+string(c))
			default:
				return nil, fmt.Errorf("%s%c: unsupported option (this shell knows -c -s -o and -%s)", sign, c, supportedFlags)
			}
		}
	}
	operands := args[i:]
	switch {
	case inv.hasCmd:
		if len(operands) == 0 {
			return nil, errors.New("-c needs a command string")
		}
		inv.command = operands[0]
		if len(operands) > 1 {
			inv.name = operands[1]
			inv.args = operands[2:]
		}
	case inv.stdin || len(operands) == 0:
		inv.stdin = true
		inv.args = operands
	default:
		inv.name = operands[0]
		inv.args = operands[1:]
	}
	return inv, nil
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	// The interpreter panics on some things it does not implement (file
	// descriptors above 2); say so instead of printing a stack.
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "sh: %v (not supported by this shell)\n", p)
			code = 2
		}
	}()
	inv, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "sh: %v\nusage: sh [-aefnux] [-o option] [-c command [name [arg...]] | -s [arg...] | script [arg...]]\n", err)
		return 2
	}
	params := append(append([]string(nil), inv.opts...), "--")
	params = append(params, inv.args...)
	cmdIn := stdin
	if _, isFile := stdin.(*os.File); inv.stdin && !isFile {
		// The script comes from stdin. The interpreter would copy a reader
		// that is not a file into a pipe for its commands, eagerly, racing
		// the parser for the script's own bytes: its commands get none.
		cmdIn = nil
	}
	r, err := interp.New(
		interp.StdIO(cmdIn, stdout, stderr),
		interp.Params(params...),
		interp.ExecHandlers(scriptFallback),
	)
	if err != nil {
		fmt.Fprintf(stderr, "sh: %v\n", err)
		return 2
	}
	ctx := context.Background()
	switch {
	case inv.hasCmd:
		return runSource(ctx, r, strings.NewReader(inv.command), inv.name, stderr)
	case inv.stdin:
		return runStdin(ctx, r, stdin, stdout, stderr)
	}
	f, err := os.Open(inv.name)
	if err != nil {
		fmt.Fprintf(stderr, "sh: %v\n", err)
		return 127
	}
	defer f.Close()
	return runSource(ctx, r, f, inv.name, stderr)
}

// runSource parses a whole script and runs it.
func runSource(ctx context.Context, r *interp.Runner, src io.Reader, name string, stderr io.Writer) int {
	prog, err := syntax.NewParser().Parse(src, name)
	if err != nil {
		fmt.Fprintf(stderr, "sh: %v\n", err)
		return 2
	}
	return status(r.Run(ctx, prog), stderr)
}

// runStdin runs commands from standard input as they are read.
func runStdin(ctx context.Context, r *interp.Runner, stdin io.Reader, stdout, stderr io.Writer) int {
	f, _ := stdin.(*os.File)
	interactive := f != nil && term.IsTerminal(int(f.Fd()))
	prompt := func(s string) {
		if interactive {
			fmt.Fprint(stderr, s)
		}
	}
	parser := syntax.NewParser()
	code := 0
	prompt("$ ")
	err := parser.Interactive(stdin, func(stmts []*syntax.Stmt) bool {
		if parser.Incomplete() {
			prompt("> ")
			return true
		}
		for _, st := range stmts {
			err := r.Run(ctx, st)
			if r.Exited() {
				code = status(err, stderr)
				return false
			}
			if _, ok := interp.IsExitStatus(err); !ok && err != nil {
				fmt.Fprintf(stderr, "sh: %v\n", err)
			}
			code = status(err, io.Discard)
		}
		prompt("$ ")
		return true
	})
	if err != nil {
		fmt.Fprintf(stderr, "sh: %v\n", err)
		return 2
	}
	return code
}

// status maps the interpreter's result to an exit code.
func status(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if s, ok := interp.IsExitStatus(err); ok {
		return int(s)
	}
	fmt.Fprintf(stderr, "sh: %v\n", err)
	return 1
}

// scriptFallback runs a file that the kernel cannot execute (no #! line,
// not a binary) with this shell instead of failing with "exec format
// error".
func scriptFallback(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return func(ctx context.Context, args []string) error {
		hc := interp.HandlerCtx(ctx)
		path, err := interp.LookPathDir(hc.Dir, hc.Env, args[0])
		if err != nil || !needsShell(path) {
			return next(ctx, args)
		}
		self, err := os.Executable()
		if err != nil {
			return next(ctx, args)
		}
		var env []string
		hc.Env.Each(func(name string, vr expand.Variable) bool {
			if vr.Exported && vr.IsSet() {
				env = append(env, name+"="+vr.String())
			}
			return true
		})
		cmd := &exec.Cmd{
			Path:   self,
			Args:   append([]string{"sh", path}, args[1:]...),
			Env:    env,
			Dir:    hc.Dir,
			Stdin:  hc.Stdin,
			Stdout: hc.Stdout,
			Stderr: hc.Stderr,
		}
		err = cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &exit):
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return interp.NewExitStatus(uint8(128 + int(ws.Signal())))
			}
			return interp.NewExitStatus(uint8(exit.ExitCode()))
		default:
			fmt.Fprintf(hc.Stderr, "sh: %s: %v\n", args[0], err)
			return interp.NewExitStatus(126)
		}
	}
}

// needsShell reports whether path is an executable text file without a #!
// line, which POSIX shells run themselves.
func needsShell(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 4)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if n == 0 {
		return true
	}
	return !strings.HasPrefix(string(head), "#!") && string(head) != "\x7fELF"
}
