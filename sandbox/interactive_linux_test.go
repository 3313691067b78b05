package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/hdo-build/hdo/internal/ptytest"
	"golang.org/x/sys/unix"
)

// interactiveEnv makes the test binary run TestInteractive's terminal
// side, writing its findings to the file it names.
const interactiveEnv = "HDO_SANDBOX_TEST_INTERACTIVE"

// TestInteractive runs the test binary again as a session leader on a new
// pseudo-terminal and checks a build takes over the terminal's foreground
// as a job-control shell does, only when Interactive, and that Run gives
// the terminal back.
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
	want := "interactive: foreground: ok\nterminal given back: true\n" +
		"batch: foreground: ENOTTY\nterminal given back: true\n"
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func interactiveChild(t *testing.T, result string) {
	var report string
	for _, interactive := range []bool{true, false} {
		f := newFixture(t, AssembleAuto)
		var out syncBuffer
		cfg := f.cfg
		cfg.Interactive = interactive
		cfg.Stdin = os.Stdin
		cfg.Stdout = &out
		cfg.Args = []string{"/bin/probe", "foreground"}
		if err := Run(context.Background(), &cfg); err != nil {
			t.Fatal(err)
		}
		fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
		if err != nil {
			t.Fatal(err)
		}
		name := map[bool]string{true: "interactive", false: "batch"}[interactive]
		report += fmt.Sprintf("%s: %sterminal given back: %v\n", name, out.String(), fg == syscall.Getpgrp())
	}
	if err := os.WriteFile(result, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
}
