package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hdo-build/hdo/engine/fingerprint"
	"github.com/hdo-build/hdo/internal/doshell"
)

// runDo runs a .do script for j: cwd is the script's directory, $1 the
// target, $2 the target without the default's extension, $3 a temporary
// output file. Whatever the script writes to stdout, or to $3, becomes the
// target; writing both, or writing the target itself, is an error.
func (e *Engine) runDo(ctx context.Context, j *Job, r rule) error {
	if err := e.setup(); err != nil {
		return err
	}
	doAbs := e.Abs(r.Do)
	dir := filepath.Dir(doAbs)
	target := e.Abs(j.Target)
	// The target itself, not what it points to: a symlink a script
	// installed through $3 may point at a file the script rewrites.
	before, err := fingerprint.Lstat(target)
	if err != nil {
		return err
	}
	out3 := tempName(target, "3")
	arg3, err := filepath.Rel(dir, out3)
	if err != nil {
		return err
	}
	// Read and write: should the script remove the directory it is in,
	// the output is still there to be read back through this descriptor.
	stdout, err := os.OpenFile(j.Out, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return err
	}
	defer stdout.Close()
	defer os.RemoveAll(out3)

	argv, script, err := e.doCommand(doAbs, r.Arg1, r.Arg2, arg3, j.caller.trace)
	if err != nil {
		return err
	}
	// The script's stderr is a pipe of ours, so that a redo* call writing
	// to it can be told from one whose stderr the script redirected.
	errR, errW, err := os.Pipe()
	if err != nil {
		return err
	}
	j.pipe = fileID(errW)
	copied := make(chan struct{})
	go func() {
		io.Copy(j.Log, errR)
		errR.Close()
		close(copied)
	}()
	files, _ := e.jobs.Files(3)
	env := e.scriptEnv(j.caller.env, dir, "HDO_SOCK="+e.srv.path, "HDO_JOB="+j.id)
	e.srv.jobs.Store(j.id, j)
	var status string // how the script failed
	if script != nil {
		status, err = e.runEmbedded(ctx, script, doshell.Options{
			Dir: dir, Args: argv[len(argv)-3:], Env: env,
			Stdout: stdout, Stderr: errW, ExtraFiles: files,
			Commands: e.cfg.Commands,
		}, errW)
	} else {
		status, err = runExternal(ctx, argv, dir, env, stdout, errW, files)
	}
	// Wait, as exec does, until every process holding the script's
	// stderr is gone.
	<-copied
	e.changed() // the script may have made or removed any file
	if lw, ok := j.Log.(*lineWriter); ok {
		lw.Flush()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", Quote(r.Do), err)
	}
	if status != "" {
		return fmt.Errorf("%s failed (%s); see hdo log %s", Quote(r.Do), status, Quote(j.Target))
	}

	after, err := fingerprint.Lstat(target)
	if err != nil {
		return err
	}
	if after != before && after.Exists {
		// Removing the old target is allowed: the new one replaces it.
		return fmt.Errorf("%s modified its target %s directly; write to $3 or to stdout instead", Quote(r.Do), Quote(j.Target))
	}
	st, err := stdout.Stat()
	if err != nil {
		return err
	}
	_, err3 := os.Lstat(out3)
	has3 := err3 == nil
	switch {
	case has3 && st.Size() > 0:
		return fmt.Errorf("%s wrote to stdout and created $3; write the output one way only", Quote(r.Do))
	case has3:
		return install(out3, target)
	case st.Size() > 0:
		out, err := keptOutput(stdout, j.Out, target)
		if err != nil {
			return fmt.Errorf("%s: its output to stdout: %w", Quote(r.Do), err)
		}
		return install(out, target)
	default:
		os.Remove(j.Out)
		return install(j.Out, target) // no output: the target is removed
	}
}

// keptOutput returns the path of the script's stdout capture, f, opened at
// path. If the script removed it (with the directory it was in), its
// content is copied from f to a new file next to target.
func keptOutput(f *os.File, path, target string) (string, error) {
	if fi, err := os.Lstat(path); err == nil {
		if cur, err := f.Stat(); err == nil && os.SameFile(fi, cur) {
			return path, nil
		}
	}
	tmp := tempName(target, "kept")
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return "", fmt.Errorf("the script removed it; cannot keep it: %w", err)
	}
	_, err = io.Copy(out, io.NewSectionReader(f, 0, 1<<62))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// runEmbedded runs script in the embedded shell and closes errW when it
// ends. It returns the script's exit status as a failure ("exit status
// 2"), or "" when it succeeded.
func (e *Engine) runEmbedded(ctx context.Context, script *doshell.Script, opts doshell.Options, errW *os.File) (string, error) {
	rc, err := script.Run(ctx, opts)
	errW.Close()
	if err != nil || rc == 0 {
		return "", err
	}
	return fmt.Sprintf("exit status %d", rc), nil
}

// runExternal runs argv, a script's interpreter and its arguments, in a
// process group of its own and closes errW once it started. It returns
// how the script failed ("exit status 2"), or "" when it succeeded.
func runExternal(ctx context.Context, argv []string, dir string, env []string, stdout, errW *os.File, files []*os.File) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout = stdout
	cmd.Stderr = errW
	cmd.ExtraFiles = files
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err := cmd.Start()
	errW.Close()
	if err != nil {
		return "", err
	}
	err = waitCancel(ctx, cmd)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ProcessState.String(), nil
	}
	return "", err
}

// doCommand returns the command line that runs a .do script: its #!
// interpreter if it has one, else sh -e (sh -e -x with -x). With no #!
// line, no -x and the embedded shell on, it also returns the script
// parsed, if the embedded shell runs it as sh would (see package doshell).
func (e *Engine) doCommand(do, arg1, arg2, arg3 string, trace bool) ([]string, *doshell.Script, error) {
	src, err := os.ReadFile(do)
	if err != nil {
		return nil, nil, err
	}
	line, _, _ := bytes.Cut(src, []byte("\n"))
	base := "./" + filepath.Base(do)
	if rest, ok := strings.CutPrefix(string(line), "#!"); ok {
		rest = strings.TrimSpace(rest)
		if rest == "" {
			return nil, nil, fmt.Errorf("%s: empty #! line", do)
		}
		// As the kernel does: the interpreter, then at most one argument.
		interp, arg, _ := strings.Cut(rest, " ")
		argv := []string{interp}
		if arg = strings.TrimSpace(arg); arg != "" {
			argv = append(argv, arg)
		}
		return append(argv, base, arg1, arg2, arg3), nil, nil
	}
	flags := "-e"
	if trace {
		flags = "-ex"
	}
	argv := []string{"sh", flags, base, arg1, arg2, arg3}
	if trace || e.cfg.Commands == nil {
		return argv, nil, nil
	}
	script, err := doshell.Parse(src, base)
	if err != nil {
		// sh runs it, and says what is wrong with it, if anything is.
		return argv, nil, nil
	}
	return argv, script, nil
}

// waitCancel waits for cmd; when ctx ends it sends SIGTERM to the script's
// process group and, if that is not enough, SIGKILL.
func waitCancel(ctx context.Context, cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	return ctx.Err()
}
