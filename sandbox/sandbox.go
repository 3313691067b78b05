// Package sandbox runs a package build in new Linux user, mount, pid,
// network, uts and ipc namespaces where nothing is visible but the build
// closure: a read-only union of layers as /, a writable /home/build (the
// working directory), /destdir and /tmp, a minimal /dev, a fresh /proc,
// loopback only. The build runs as uid 1000 "build" in a user namespace
// of its own, without capabilities (as the caller's host uid, or nobody
// for root: see ids_linux.go), in a cgroup and cgroup namespace of its
// own (cgroup_linux.go), and every process it starts dies with it.
//
// The sandbox is made by the calling binary re-executed, so every program
// that calls Run must call Main first thing in main (and in TestMain). A
// first Run starts a spawner (spawner_linux.go), which keeps inits started
// ahead of time. An init (init_linux.go) is pid 1 of new namespaces; it
// prepares a scratch tmpfs, /dev, /proc and the hostname, then waits for a
// build: it assembles the root (root_linux.go: overlayfs, or bind mounts
// where the kernel refuses overlayfs), starts the build, reaps every
// process and reports how the build ended.
package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/hdo-build/hdo/internal/overlay"
)

// Layer is one read-only tree of the root filesystem (see overlay.Layer).
type Layer = overlay.Layer

// Assembly says how the read-only root is put together from the layers.
type Assembly int

const (
	// AssembleAuto uses overlayfs and falls back to bind mounts where the
	// kernel refuses overlayfs (too many layers, unsupported filesystem).
	AssembleAuto Assembly = iota
	// AssembleOverlay uses overlayfs only: one mount whose lower layers are
	// the layers, whatever their size.
	AssembleOverlay
	// AssembleBind binds each layer entry that no other layer shares into
	// a tmpfs, creating the directories layers share. It costs one mount
	// per unshared entry, so it is the fallback, not the default.
	AssembleBind

	// assembleOverlayLegacy is AssembleOverlay with the classic mount(2)
	// option string instead of the fsopen/fsconfig mount API; for tests.
	assembleOverlayLegacy
)

// String returns the name of the assembly method, e.g. "overlay".
func (a Assembly) String() string {
	switch a {
	case AssembleAuto:
		return "auto"
	case AssembleOverlay:
		return "overlay"
	case AssembleBind:
		return "bind"
	case assembleOverlayLegacy:
		return "overlay-legacy"
	}
	return fmt.Sprintf("Assembly(%d)", int(a))
}

// Config describes one sandboxed run.
type Config struct {
	// Layers form the read-only root (/). Where two layers hold the same
	// path, the earlier layer wins; callers reject such conflicts first.
	Layers []Layer
	// Assembly picks how the root is assembled; the zero value is
	// AssembleAuto.
	Assembly Assembly

	Work    string   // e.g. /home/me/.cache/hdo/work/zlib; bound read-write at /home/build, the working directory
	DestDir string   // e.g. /home/me/.cache/hdo/dest/zlib; bound read-write at /destdir; empty: /destdir stays empty and read-only
	Args    []string // e.g. {"/bin/sh", "-e", "./build"}; Args[0] without a slash is looked up in the PATH of Env, inside the sandbox
	Env     []string // e.g. {"HOME=/home/build", "PATH=/bin:/usr/bin"}; exactly the build's environment, nothing is inherited

	// The build's standard streams: an *os.File is passed as is, nil is
	// /dev/null, any other reader or writer is copied through a pipe (and
	// Run returns once the build's output is all written).
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// ExtraFiles are passed to the build as fds 3, 4, ...; e.g. the GNU
	// make jobserver pipe.
	ExtraFiles []*os.File

	Timeout time.Duration // e.g. 2*time.Hour; 0: none. Exceeding it kills every process of the build.
	TmpSize int64         // e.g. 1<<30; size limit of the /tmp tmpfs in bytes; 0: the tmpfs default (half of RAM)

	// MemoryMax (bytes) and PidsMax (processes and threads) bound the
	// build as a whole, through a cgroup of its own; 0: no limit. Where
	// the host gives hdo no cgroup to create (a normal user outside a
	// delegated cgroup), Run fails, unless LimitsBestEffort.
	MemoryMax        int64
	PidsMax          int64
	LimitsBestEffort bool

	// Interactive gives the build a terminal of its own (hdo shell): a
	// pseudo-terminal in the sandbox, its controlling terminal, relayed to
	// Stdin and Stdout (Stdin, when a terminal, in raw mode meanwhile:
	// Ctrl-C reaches the build, not the caller). The caller's terminal is
	// never passed in, so what the build pushes into its terminal stays
	// there.
	Interactive bool
	// Network shares the host's network namespace (and /etc/resolv.conf)
	// instead of a private one holding only loopback.
	Network bool

	noSpawner bool // start the init from this process; for tests and benchmarks
}

// maxExtraFiles bounds Config.ExtraFiles, which are passed between
// processes in one message.
const maxExtraFiles = 32

// ErrTimeout is wrapped by the error Run returns when Config.Timeout
// expired.
var ErrTimeout = errors.New("timed out")

// ExitError reports a build that ran and failed.
type ExitError struct {
	Code   int            // exit status; 128+n when killed by signal n
	Signal syscall.Signal // the signal that killed the build, or 0
}

func (e *ExitError) Error() string {
	if e.Signal != 0 {
		return fmt.Sprintf("build killed by signal %d (%v)", int(e.Signal), e.Signal)
	}
	return fmt.Sprintf("build exited with status %d", e.Code)
}

// validate checks cfg for mistakes that would otherwise surface as obscure
// errors from inside the sandbox.
func (cfg *Config) validate() error {
	if len(cfg.Args) == 0 || cfg.Args[0] == "" {
		return errors.New("sandbox: no command: set Config.Args")
	}
	if len(cfg.Layers) == 0 {
		return errors.New("sandbox: no layers: the root filesystem would be empty")
	}
	for _, l := range cfg.Layers {
		if !strings.HasPrefix(l.Dir, "/") {
			return fmt.Errorf("sandbox: layer %s: directory %q is not absolute", l.Name, l.Dir)
		}
	}
	for _, d := range []struct{ name, dir string }{{"Work", cfg.Work}, {"DestDir", cfg.DestDir}} {
		if d.dir != "" && !strings.HasPrefix(d.dir, "/") {
			return fmt.Errorf("sandbox: %s %q is not absolute", d.name, d.dir)
		}
	}
	if cfg.Timeout < 0 || cfg.TmpSize < 0 || cfg.MemoryMax < 0 || cfg.PidsMax < 0 {
		return fmt.Errorf("sandbox: negative Timeout (%v), TmpSize (%d), MemoryMax (%d) or PidsMax (%d)", cfg.Timeout, cfg.TmpSize, cfg.MemoryMax, cfg.PidsMax)
	}
	switch cfg.Assembly {
	case AssembleAuto, AssembleOverlay, AssembleBind, assembleOverlayLegacy:
	default:
		return fmt.Errorf("sandbox: unknown assembly %v", cfg.Assembly)
	}
	if len(cfg.ExtraFiles) > maxExtraFiles {
		return fmt.Errorf("sandbox: %d extra files, at most %d", len(cfg.ExtraFiles), maxExtraFiles)
	}
	for i, e := range cfg.Env {
		if !strings.Contains(e, "=") {
			return fmt.Errorf("sandbox: Env[%d] %q is not NAME=value", i, e)
		}
	}
	return nil
}

// checkDirs checks the host directories of cfg exist, so that a missing
// one is reported by name rather than as a failed mount.
func (cfg *Config) checkDirs() error {
	isDir := func(what, dir string) error {
		fi, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("sandbox: %s: %w", what, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("sandbox: %s: %s is not a directory", what, dir)
		}
		return nil
	}
	for _, l := range cfg.Layers {
		if err := isDir("layer "+l.Name, l.Dir); err != nil {
			return err
		}
	}
	if cfg.Work != "" {
		if err := isDir("work directory", cfg.Work); err != nil {
			return err
		}
	}
	if cfg.DestDir != "" {
		if err := isDir("destdir", cfg.DestDir); err != nil {
			return err
		}
	}
	return nil
}
