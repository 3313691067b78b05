package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The init is this binary re-executed with argv[0] initArg0 and initEnv
// set; it gets its files as files_linux.go says, reads an initConfig from
// one and writes one report to another.
const (
	initArg0 = "hdo-sandbox-init"
	initEnv  = "HDO_SANDBOX_INIT"
)

// initConfig is the part of Config the init needs.
type initConfig struct {
	Layers      []Layer
	Assembly    Assembly
	Work        string
	DestDir     string
	Args        []string
	Env         []string
	NExtra      int
	NCgroup     int // cgroup dirs to join, passed before the extra files
	BuildID     int // the init's uid and gid that the build user maps to
	TmpSize     int64
	Interactive bool
	Network     bool
}

// report is what the init sends back: a setup error, or how the build ended.
type report struct {
	Error      string // setup failed: the build never ran
	Exit       int    // exit status of the build; 128+Signal if killed
	Signal     int    // signal that killed the build, or 0
	Assembly   string // the method that assembled the root, e.g. "overlay"
	AssembleNs int64  // time spent assembling the root
	SetupNs    int64  // time from the init getting its files to starting the build
}

// Run runs cfg.Args in a new sandbox and waits for it and every process it
// started to end. A build that ran and failed gives an *ExitError; an
// expired Config.Timeout gives an error wrapping ErrTimeout, a done ctx one
// wrapping ctx.Err(). In all cases no process of the build is left when Run
// returns.
func Run(ctx context.Context, cfg *Config) error {
	_, err := run(ctx, cfg)
	return err
}

// run is Run returning the init's report too, for tests and benchmarks.
func run(ctx context.Context, cfg *Config) (*report, error) {
	if !mainCalled.Load() {
		return nil, errors.New("sandbox: Main was not called: call sandbox.Main first thing in main (and in TestMain)")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := cfg.checkDirs(); err != nil {
		return nil, err
	}
	what := cfg.Args[0]
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sandbox %s: %w", what, err)
	}
	if err := giveToBuild(cfg.Work, cfg.DestDir); err != nil {
		return nil, fmt.Errorf("sandbox %s: give the work dir to the build user: %w", what, err)
	}
	cg, err := newBuildCgroup(cfg.MemoryMax, cfg.PidsMax)
	if err != nil {
		return nil, fmt.Errorf("sandbox %s: %w", what, err)
	}
	defer cg.remove()
	if len(cg.unenforced) > 0 && !cfg.LimitsBestEffort {
		return nil, fmt.Errorf("sandbox %s: cannot limit the build's %s: this host gives hdo no cgroup of its own (run hdo as root, or in a delegated cgroup: systemd-run --user -p Delegate=yes --pty hdo ...)", what, strings.Join(cg.unenforced, " and "))
	}
	_, _, buildID := idMaps()
	data := (&initConfig{
		Layers:      cfg.Layers,
		Assembly:    cfg.Assembly,
		Work:        cfg.Work,
		DestDir:     cfg.DestDir,
		Args:        cfg.Args,
		Env:         cfg.Env,
		NExtra:      len(cfg.ExtraFiles),
		NCgroup:     len(cg.fds),
		BuildID:     buildID,
		TmpSize:     cfg.TmpSize,
		Interactive: cfg.Interactive,
		Network:     cfg.Network,
	}).encode()

	var std stdio
	defer std.closeChildEnds()
	var files []*os.File
	var consoleSock *os.File
	if cfg.Interactive {
		// The build's terminal comes from the init over this socket,
		// passed as its stdin; its stdout and stderr are that terminal.
		consoleSock, files, err = std.console()
		if consoleSock != nil {
			defer consoleSock.Close()
		}
	} else {
		files, err = std.files(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox %s: %w", what, err)
	}
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox %s: %w", what, err)
	}
	std.childEnds = append(std.childEnds, cfgR)
	go func() {
		// Written now, the config waits in the pipe for the init, which
		// reads it first thing. Should the init never read it, the write
		// fails once no one has the read end.
		cfgW.Write(data)
		cfgW.Close()
	}()
	repR, repW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox %s: %w", what, err)
	}
	defer repR.Close()
	std.childEnds = append(std.childEnds, repW)
	files = append(files, cfgR, repW)
	files = append(files, cg.fds...)
	files = append(files, cfg.ExtraFiles...)
	for _, f := range append(files[:3:3], cfg.ExtraFiles...) {
		if err := giveFileToBuild(f); err != nil {
			return nil, fmt.Errorf("sandbox %s: give the build its pipes: %w", what, err)
		}
	}

	var p initProcess
	if cfg.noSpawner {
		p, err = startInit(files, cfg.Network)
	} else {
		p, err = spawn(files, cfg.Network)
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox %s: start init: %w", what, err)
	}
	std.closeChildEnds()
	cg.closeFDs()
	relayc := make(chan *relay, 1)
	if consoleSock != nil {
		go func() {
			master, err := receiveConsole(consoleSock)
			if err != nil {
				relayc <- nil // the init failed first: its report says why
				return
			}
			r, err := startRelay(master, cfg.Stdin, cfg.Stdout)
			if err != nil {
				master.Close()
			}
			relayc <- r
		}()
	} else {
		relayc <- nil
	}

	reportc := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(repR) // EOF when the init exits: no one else has the pipe
		reportc <- b
	}()

	done := make(chan struct{})
	killc := make(chan error, 1)
	go func() {
		var expired <-chan time.Time
		if cfg.Timeout > 0 {
			t := time.NewTimer(cfg.Timeout)
			defer t.Stop()
			expired = t.C
		}
		var why error
		select {
		case <-done:
		case <-ctx.Done():
			why = ctx.Err()
		case <-expired:
			why = fmt.Errorf("%w after %v", ErrTimeout, cfg.Timeout)
		}
		if why != nil {
			// SIGKILL to pid 1 kills every process of its pid namespace.
			p.kill()
		}
		killc <- why
	}()
	waitErr := p.wait()
	close(done)
	if r := <-relayc; r != nil {
		r.stop()
	}
	std.copies.Wait()
	if why := <-killc; why != nil {
		return nil, fmt.Errorf("sandbox %s: %w", what, why)
	}

	rep := new(report)
	b := <-reportc
	if len(b) == 0 {
		return nil, fmt.Errorf("sandbox %s: init died without a report: %v", what, waitErr)
	}
	if err := rep.decode(b); err != nil {
		return nil, fmt.Errorf("sandbox %s: bad report from init %q: %w", what, b, err)
	}
	if rep.Error != "" {
		return rep, fmt.Errorf("sandbox %s: %s", what, rep.Error)
	}
	if rep.Exit != 0 || rep.Signal != 0 {
		return rep, &ExitError{Code: rep.Exit, Signal: syscall.Signal(rep.Signal)}
	}
	return rep, nil
}

// initProcess is a started init, killed and waited for the same way
// whether Run started it itself or through the spawner.
type initProcess interface {
	kill()
	wait() error // nil: the init exited 0
}

// directInit is an init Run started itself.
type directInit struct{ cmd *exec.Cmd }

func startInit(files []*os.File, network bool) (*directInit, error) {
	p, err := newInit(network)
	if err != nil {
		return nil, err
	}
	if err := p.give(files); err != nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		return nil, err
	}
	return &directInit{p.cmd}, nil
}

func (d *directInit) kill()       { d.cmd.Process.Kill() }
func (d *directInit) wait() error { return d.cmd.Wait() }

// stdio turns the build's standard streams into the files the init gets:
// an *os.File is passed as is, nil is /dev/null, and any other reader or
// writer is copied through a pipe.
type stdio struct {
	childEnds []*os.File     // closed once the init has them
	copies    sync.WaitGroup // copies of the build's output into writers
}

func (s *stdio) files(cfg *Config) ([]*os.File, error) {
	in, err := s.reader(cfg.Stdin)
	if err != nil {
		return nil, err
	}
	out, err := s.writer(cfg.Stdout)
	if err != nil {
		return nil, err
	}
	errf := out
	if !sameWriter(cfg.Stdout, cfg.Stderr) {
		if errf, err = s.writer(cfg.Stderr); err != nil {
			return nil, err
		}
	}
	return []*os.File{in, out, errf}, nil
}

// console returns the files of an interactive build: our end of the
// console socket, and the init's files, that socket's other end as stdin
// and /dev/null as stdout and stderr.
func (s *stdio) console() (*os.File, []*os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "console socket"), os.NewFile(uintptr(fds[1]), "console socket")
	s.childEnds = append(s.childEnds, theirs)
	null, err := s.writer(nil)
	if err != nil {
		return ours, nil, err
	}
	return ours, []*os.File{theirs, null, null}, nil
}

func (s *stdio) reader(r io.Reader) (*os.File, error) {
	switch r := r.(type) {
	case *os.File:
		return r, nil
	case nil:
		f, err := os.Open(os.DevNull)
		if err == nil {
			s.childEnds = append(s.childEnds, f)
		}
		return f, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.childEnds = append(s.childEnds, pr)
	// Not waited for: r may block long after the build is gone.
	go func() {
		io.Copy(pw, r)
		pw.Close()
	}()
	return pr, nil
}

func (s *stdio) writer(w io.Writer) (*os.File, error) {
	switch w := w.(type) {
	case *os.File:
		return w, nil
	case nil:
		f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err == nil {
			s.childEnds = append(s.childEnds, f)
		}
		return f, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.childEnds = append(s.childEnds, pw)
	s.copies.Add(1)
	go func() {
		defer s.copies.Done()
		io.Copy(w, pr) // until every process of the sandbox is gone
		pr.Close()
	}()
	return pw, nil
}

func (s *stdio) closeChildEnds() {
	for _, f := range s.childEnds {
		f.Close()
	}
	s.childEnds = nil
}

// sameWriter reports whether a and b are the same writer, which must then
// get one pipe: two copies would call its Write concurrently.
func sameWriter(a, b io.Writer) (same bool) {
	defer func() {
		if recover() != nil {
			same = false // not comparable
		}
	}()
	return a == b
}
