// Package doshell runs .do scripts that have no #! line inside the hdo
// process, in an embedded POSIX shell (mvdan.cc/sh's interpreter), instead
// of starting sh -e for each one. Its commands (redo-ifchange and the
// other redo* names) run in-process too, so a .do script that asks for
// its dependencies and writes its output with shell builtins starts no
// process at all.
//
// The embedded shell must not change what a script does: Parse accepts
// only scripts whose every construct it runs as dash (sh -e) does, and
// says why it refuses the others; the caller runs those with sh. What a
// script can choose only at run time (a command name in a variable) and
// the embedded shell cannot run exactly, it refuses with an error naming
// the fix (a #!/bin/sh line), never by doing something else.
package doshell

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// Script is a parsed .do script the embedded shell can run.
type Script struct {
	file *syntax.File
}

// UnsupportedError says why a script is run with sh instead.
type UnsupportedError struct {
	Name   string // the script, as given to Parse
	Reason string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s: %s: run with sh", e.Name, e.Reason)
}

// Parse parses src, the script named name ($0), and checks that the
// embedded shell runs it as sh would. If not, the error is an
// *UnsupportedError.
func Parse(src []byte, name string) (*Script, error) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(bytes.NewReader(src), name)
	if err != nil {
		// sh reports it, in its own words.
		return nil, &UnsupportedError{Name: name, Reason: "not parsed: " + err.Error()}
	}
	if reason := check(f); reason != "" {
		return nil, &UnsupportedError{Name: name, Reason: reason}
	}
	declify(f)
	subshellStatus(f)
	return &Script{file: f}, nil
}

// Command is a command that runs in-process (redo-ifchange, ...): it gets
// the calling shell's current state and returns an exit status.
type Command func(ctx context.Context, c *Call) int

// Call is one run of a Command.
type Call struct {
	Args   []string // without the command's name
	Dir    string   // the shell's current directory
	Env    []string // the exported variables
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Options are what a script runs with.
type Options struct {
	Dir    string   // the working directory
	Args   []string // $1, $2, ...
	Env    []string // the environment
	Stdout *os.File
	Stderr *os.File
	// ExtraFiles are the descriptors 3, 4, ... every program the script
	// starts gets (the jobserver's), as a sh script's children would.
	ExtraFiles []*os.File
	// Commands run in-process; they are looked up, as programs are, only
	// for names that are not builtins or functions.
	Commands map[string]Command
}

// killGrace is how long a program started by a cancelled script has after
// SIGTERM before it gets SIGKILL.
const killGrace = 5 * time.Second

// Run runs s as sh -e would, with positional parameters opts.Args, and
// returns its exit status. err is only for failures of the shell itself.
func (s *Script) Run(ctx context.Context, opts Options) (status int, err error) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	r, err := interp.New(
		interp.Dir(opts.Dir),
		interp.Env(expand.ListEnviron(opts.Env...)),
		interp.StdIO(devnull, opts.Stdout, opts.Stderr),
		interp.Params(append([]string{"-e", "--"}, opts.Args...)...),
		interp.CallHandler(callHandler),
		interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc {
			return func(ctx context.Context, args []string) error {
				return execute(ctx, s.file.Name, args, &opts)
			}
		}),
	)
	if err != nil {
		return 0, err
	}
	err = r.Run(ctx, s.file)
	if st, ok := interp.IsExitStatus(err); ok {
		return int(st), nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, err
	}
	return 0, nil
}

// echoName is what the call handler renames echo to: sh's echo, not the
// interpreter's (see echo).
const echoName = "\x00echo"

// printfName runs the printf program: dash's builtin follows POSIX as it
// does, where the interpreter's lacks precisions and %c.
const printfName = "\x00printf"

// failName prints its second argument as sh's message and returns the
// first as the exit status.
const failName = "\x00fail"

// callHandler runs before every simple command, after expansion.
func callHandler(ctx context.Context, args []string) ([]string, error) {
	switch name := args[0]; {
	case name == "echo":
		args[0] = echoName
	case name == "printf":
		args[0] = printfName
	case name == "cd" && len(args) == 2 && args[1] != "-" && !strings.HasPrefix(args[1], "-"):
		// The interpreter's cd fails with status 1, sh's with 2.
		hc := interp.HandlerCtx(ctx)
		if hc.Env.Get("CDPATH").String() == "" {
			dir := args[1]
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(hc.Dir, dir)
			}
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				return []string{failName, "2", "cd: can't cd to " + args[1]}, nil
			}
		}
	case refused[name] != "":
		// Only a name chosen at run time gets here: check refuses the
		// literal ones before the script starts.
		hc := interp.HandlerCtx(ctx)
		fmt.Fprintf(hc.Stderr, "hdo: %s: %s, which the embedded shell does not run as sh would; start the .do script with #!/bin/sh\n", name, refused[name])
		return nil, interp.NewExitStatus(2)
	}
	return args, nil
}

// execute runs a command that is neither a builtin nor a function: one of
// ours, or a program found on PATH.
func execute(ctx context.Context, script string, args []string, opts *Options) error {
	hc := interp.HandlerCtx(ctx)
	switch args[0] {
	case echoName:
		return exitStatus(echo(hc.Stdout, args[1:]))
	case statusName:
		n, _ := strconv.Atoi(args[1])
		return exitStatus(n)
	case failName:
		fmt.Fprintf(hc.Stderr, "%s: %s\n", script, args[2])
		n, _ := strconv.Atoi(args[1])
		return exitStatus(n)
	case printfName:
		args = append([]string{"printf"}, args[1:]...)
	}
	if cmd := opts.Commands[args[0]]; cmd != nil {
		// As a program would, the command gets files: whoever it hands
		// its stderr to (the hdo running the script) writes to them.
		stdout, waitOut, err := asFile(hc.Stdout)
		if err != nil {
			return err
		}
		stderr, waitErr, err := asFile(hc.Stderr)
		if err != nil {
			waitOut()
			return err
		}
		rc := cmd(ctx, &Call{
			Args: args[1:], Dir: hc.Dir, Env: exported(hc.Env),
			Stdin: hc.Stdin, Stdout: stdout, Stderr: stderr,
		})
		waitOut()
		waitErr()
		return exitStatus(rc)
	}
	path, err := interp.LookPathDir(hc.Dir, hc.Env, args[0])
	if err != nil {
		// As sh says it.
		fmt.Fprintf(hc.Stderr, "%s: %s: not found\n", script, args[0])
		return interp.NewExitStatus(127)
	}
	cmd := &exec.Cmd{
		Path: path, Args: args, Env: exported(hc.Env), Dir: hc.Dir,
		Stdin: hc.Stdin, Stdout: hc.Stdout, Stderr: hc.Stderr,
		ExtraFiles: opts.ExtraFiles,
		// A group of its own, so that a cancelled script takes what the
		// program started with it.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(hc.Stderr, "%s: %v\n", args[0], startError(err))
		return interp.NewExitStatus(126)
	}
	stop := context.AfterFunc(ctx, func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		time.AfterFunc(killGrace, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	})
	err = cmd.Wait()
	stop()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return interp.NewExitStatus(uint8(128 + int(ws.Signal())))
		}
		return interp.NewExitStatus(uint8(ee.ExitCode()))
	default:
		return err
	}
}

// asFile returns w as a file: w itself, or a pipe copied to w until the
// returned func, which closes the pipe, returns.
func asFile(w io.Writer) (*os.File, func(), error) {
	if f, ok := w.(*os.File); ok {
		return f, func() {}, nil
	}
	r, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	done := make(chan struct{})
	go func() {
		io.Copy(w, r)
		r.Close()
		close(done)
	}()
	return pw, func() { pw.Close(); <-done }, nil
}

// startError is err without exec's wrapping of the path.
func startError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func exitStatus(n int) error {
	if n == 0 {
		return nil
	}
	return interp.NewExitStatus(uint8(n))
}

// exported returns the environment a program gets from env.
func exported(env expand.Environ) []string {
	var list []string
	for name, vr := range env.Each {
		if vr.Exported && vr.IsSet() && vr.Kind == expand.String {
			list = append(list, name+"="+vr.Str)
		}
	}
	return list
}

// echo writes args as dash's echo does: -n only as the first argument,
// backslash escapes always, \c ends the output. It returns the exit
// status.
func echo(w io.Writer, args []string) int {
	newline := true
	if len(args) > 0 && args[0] == "-n" {
		newline, args = false, args[1:]
	}
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if !unescape(&b, a) {
			newline = false
			break
		}
	}
	if newline {
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return 1
	}
	return 0
}

// unescape appends s to b with echo's backslash escapes replaced; it
// returns false at \c, which ends all output.
func unescape(b *strings.Builder, s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch c = s[i]; c {
		case 'c':
			return false
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case '\\':
			b.WriteByte('\\')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			// \0NNN: up to three digits after the 0; \NNN: up to three.
			n, v := 3, 0
			if c == '0' {
				i++
			}
			for ; n > 0 && i < len(s) && s[i] >= '0' && s[i] <= '7'; n-- {
				v = v<<3 + int(s[i]-'0')
				i++
			}
			i--
			b.WriteByte(byte(v))
		default:
			b.WriteByte('\\')
			b.WriteByte(c)
		}
	}
	return true
}
