package doshell

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestParseRefuses lists what runs with sh instead, each for a difference
// between the interpreter and dash that the compat test would otherwise
// show.
func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ script, reason string }{
		{"set -u\necho $x", "set -u"},
		{"! { false; echo in; }", "! before a compound command"},
		{"! if false; then :; fi", "! before a compound command"},
		{"! (exit 3)", ""}, // the interpreter ignores -e there too
		{"(false; echo in)\necho out", ""},
		{"set -x\necho", "set -x"},
		{"set -o pipefail", "set -o"},
		{"echo ${x?unset}", "${x?...}"},
		{"echo ${x:?unset}", "${x:?...}"},
		{"exec >out\necho x", "exec >"},
		{"exec 2>>log", "exec >>"},
		{"echo $$", "$$"},
		{"sleep 1 & echo $!", "$!"},
		{"echo $PPID", "$PPID"},
		{"echo $RANDOM", "$RANDOM"},
		{"echo $LINENO", "$LINENO"},
		{"trap 'rm -f x' EXIT", "trap: traps"},
		{"umask 077", "umask"},
		{". ./config.sh", "a sourced file is not checked"},
		{"source ./config.sh", "source"},
		{"eval 'echo x'", "eval"},
		{"local x=1", "local outside a function"},
		{"f() { local -r x=1; }", "local -r"},
		{"export -p", "export -p"},
		{"A=1 export B", "an assignment before export"},
		{"echo x >&3", ">&3"},
		{"echo x 3>f", "descriptor 3"},
		{"cat <&0", "the redirection <&"},
		{"echo x >&-", ">&-"},
		{"echo x >|f", "the redirection >|"},
		{"cat <>f", "the redirection <>"},
		{"echo() { :; }", "a function named echo"},
		{"cd() { :; }", "a function named cd"},
		{"wait %1", "wait with arguments"},
		{"[ a == a ]", "[ with =="},
		{"kill 0", "kill"},
		{"set -- a; shift 2", "shift"},
		{"echo $((010))", "the number 010"},
		{"echo $((0x1f + 1))", "the number 0x1f"},
		{"echo $((2 ** 3))", "**"},
		{"i=1; echo $((i++))", "++"},
		{"echo $((10 + 0))", ""},
		{"command -v cc", "command"},
		{"[[ -f x ]]", ""}, // POSIX: a command named [[, as dash runs it
		{"a=(1 2)", "not parsed"},
		{"echo $'x'", ""}, // POSIX: $ then 'x'
		{"echo ${x/a/b}", "not parsed"},
		{"cat <<<word", "not parsed"},
		{"echo x &>f", "not parsed"}, // dash: echo x &, then >f
		{"function f { :; }", "not parsed"},
		{"if then fi", "not parsed"},
	} {
		_, err := Parse([]byte(tc.script), "./t.do")
		var ue *UnsupportedError
		switch {
		case tc.reason == "" && err != nil:
			t.Errorf("%q: refused (%v), want it run", tc.script, err)
		case tc.reason == "":
		case !errors.As(err, &ue):
			t.Errorf("%q: got %v, want refused for %q", tc.script, err, tc.reason)
		case !strings.Contains(ue.Reason, tc.reason):
			t.Errorf("%q: refused for %q, want %q", tc.script, ue.Reason, tc.reason)
		}
	}
}

func runScript(t *testing.T, ctx context.Context, script string, opts Options) (rc int, stdout, stderr string, err error) {
	s, err := Parse([]byte(script), "./t.do")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, _ := os.CreateTemp(dir, "out")
	errf, _ := os.CreateTemp(dir, "err")
	defer out.Close()
	defer errf.Close()
	opts.Dir, opts.Stdout, opts.Stderr = dir, out, errf
	if opts.Env == nil {
		opts.Env = testEnv()
	}
	rc, err = s.Run(ctx, opts)
	o, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errf.Name())
	return rc, string(o), string(e), err
}

// A command name chosen at run time that the embedded shell does not run
// as sh does is an error naming the fix, not something else done.
func TestRunRefusesDynamicBuiltin(t *testing.T) {
	rc, _, stderr, err := runScript(t, context.Background(), "c=umask\n$c 077\necho never", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rc != 2 || !strings.Contains(stderr, "umask: the umask is the whole process's") || !strings.Contains(stderr, "#!/bin/sh") {
		t.Fatalf("rc %d, stderr %q", rc, stderr)
	}
}

// Commands run in-process with the shell's state at the call.
func TestRunCommands(t *testing.T) {
	var got *Call
	cmds := map[string]Command{"redo-ifchange": func(ctx context.Context, c *Call) int {
		got = c
		c.Stdout.Write([]byte("from-cmd\n"))
		return 3
	}}
	rc, stdout, _, err := runScript(t, context.Background(), "mkdir d; cd d\nexport X=1\nY=2\nredo-ifchange a 'b c' || echo rc $?", Options{Commands: cmds, Env: []string{"PATH=" + os.Getenv("PATH")}})
	if err != nil || rc != 0 {
		t.Fatal(rc, err)
	}
	if stdout != "from-cmd\nrc 3\n" {
		t.Errorf("stdout %q", stdout)
	}
	if strings.Join(got.Args, "|") != "a|b c" || !strings.HasSuffix(got.Dir, "/d") {
		t.Errorf("call %+v", got)
	}
	env := strings.Join(got.Env, " ")
	if !strings.Contains(env, "X=1") || strings.Contains(env, "Y=2") {
		t.Errorf("env %q: want X exported, Y not", env)
	}
}

// Cancelling the script stops the programs it runs, and what they started.
func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, _, _, err := runScript(t, ctx, "sh -c 'sleep 30 & wait'\necho after", Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}

// The programs a script runs get its extra descriptors, as sh's would.
func TestRunExtraFiles(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rc, _, stderr, err := runScript(t, context.Background(), "sh -c 'echo token >&3'", Options{ExtraFiles: []*os.File{w}})
	w.Close()
	if err != nil || rc != 0 {
		t.Fatal(rc, err, stderr)
	}
	b := make([]byte, 16)
	n, _ := r.Read(b)
	if string(b[:n]) != "token\n" {
		t.Errorf("read %q from fd 3", b[:n])
	}
}
