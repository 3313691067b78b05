package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hdo-build/hdo/internal/ptytest"
	"golang.org/x/sys/unix"
)

// interactiveEnv makes the test binary run TestInteractive's terminal
// side, writing its findings to the file it names.
const interactiveEnv = "HDO_SANDBOX_TEST_INTERACTIVE"

// TestInteractive runs the test binary again as a session leader on a new
// pseudo-terminal, the caller's terminal, and checks that an interactive
// build gets a terminal of its own (named in its /dev/pts, its job
// control working), relayed to the caller's; that what the build pushes
// into its terminal (TIOCSTI, the red team's injection) never reaches
// the caller's; that the caller's terminal modes are given back; and that
// a batch build has no terminal at all (/dev/tty gives ENXIO).
func TestInteractive(t *testing.T) {
	if result := os.Getenv(interactiveEnv); result != "" {
		interactiveChild(t, result)
		return
	}
	ptm, pts := ptytest.Open(t)
	var tty syncBuffer // what the terminal side printed
	go io.Copy(&tty, ptm)

	result := filepath.Join(t.TempDir(), "result")
	cmd := exec.Command(os.Args[0], "-test.run=^TestInteractive$")
	cmd.Env = append(os.Environ(), interactiveEnv+"="+result, probeEnv+"="+probePath)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Run(); err != nil {
		t.Fatalf("terminal side: %v\n%s", err, tty.String())
	}
	got, err := os.ReadFile(result)
	if err != nil {
		t.Fatal(err)
	}
	// The build's terminal echoes what was pushed into it; the batch
	// build, given the caller's terminal as stdin, may not push into a
	// terminal that is not its controlling one.
	want := "interactive: foreground: ok\r\nttyname: /dev/pts/0\r\nopenw /dev/tty: ok\r\necho injected\r\nsti echo injected: ok\r\n" +
		"caller's input: none\ncaller's terminal modes kept: true\n" +
		"batch: foreground: ENOTTY\nttyname: not a terminal in /dev: /dev/pts/0\nopenw /dev/tty: ENXIO\nsti echo injected: EPERM\n" +
		"caller's input: none\ncaller's terminal modes kept: true\n"
	if string(got) != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
}

func interactiveChild(t *testing.T, result string) {
	var report string
	for _, interactive := range []bool{true, false} {
		before, err := unix.IoctlGetTermios(0, unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		f := newFixture(t, AssembleAuto)
		var out syncBuffer
		cfg := f.cfg
		cfg.Interactive = interactive
		cfg.Stdin = os.Stdin
		cfg.Stdout = &out
		cfg.Args = []string{"/bin/probe", "foreground", "+", "ttyname", "+", "openw", "/dev/tty", "+", "sti", "echo injected"}
		if err := Run(context.Background(), &cfg); err != nil {
			t.Fatal(err)
		}
		after, err := unix.IoctlGetTermios(0, unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		// Whatever the build pushed into a terminal would now wait in
		// ours: a shell would read it as typed.
		input := "none"
		fds := []unix.PollFd{{Fd: 0, Events: unix.POLLIN}}
		if n, _ := unix.Poll(fds, 300); n > 0 {
			b := make([]byte, 256)
			k, _ := unix.Read(0, b)
			input = fmt.Sprintf("%q", b[:k])
		}
		name := map[bool]string{true: "interactive", false: "batch"}[interactive]
		report += fmt.Sprintf("%s: %scaller's input: %s\ncaller's terminal modes kept: %v\n",
			name, out.String(), input, *before == *after)
	}
	if err := os.WriteFile(result, []byte(strings.ReplaceAll(report, "\x00", "")), 0o644); err != nil {
		t.Fatal(err)
	}
}
