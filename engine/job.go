package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hdo-build/hdo/engine/fingerprint"
	"github.com/hdo-build/hdo/engine/jobserver"
	"github.com/hdo-build/hdo/engine/state"
)

// A Job is one running build of a target. Builtins receive it; .do scripts
// reach it through redo-ifchange and friends.
type Job struct {
	// Target is the root-relative target, e.g. pkg/make/.pkghash.
	Target string
	// Out is the absolute path a builtin writes the new content to (a
	// temporary file in the target's directory, renamed into place when
	// the build succeeds). Leaving it absent removes the target.
	Out string
	// Log receives the build's messages; it is the target's log.
	Log io.Writer
	// Forced is set when the user asked for this target to be rebuilt
	// (hdo -f, redo), not merely brought up to date: a builtin must then
	// not reuse an existing output.
	Forced bool

	e      *Engine
	node   *node
	caller *caller // who asked for the build: its env, stderr and flags
	id     string
	log    *lazyLog
	pipe   pipeID // the script's stderr pipe, once it runs

	mu     sync.Mutex
	deps   []state.Dep
	depIdx map[string]int
	always bool
	stamp  *fingerprint.Hash

	tokMu   sync.Mutex
	tok     jobserver.Token
	hasTok  bool
	waiting int
}

func (e *Engine) newJob(ctx context.Context, n *node, r rule, c *caller) (*Job, error) {
	abs := e.Abs(n.path)
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, err
	}
	logf := &lazyLog{dir: e.db.Dir, name: logName(n.path), warn: e.warn}
	j := &Job{
		Target: n.path,
		Out:    tempName(abs, "out"),
		e:      e,
		node:   n,
		caller: c,
		id:     fmt.Sprintf("%x", rand.Uint64()),
		log:    logf,
		depIdx: map[string]int{},
	}
	j.Log = &lineWriter{w: io.MultiWriter(logf, c.stderr)}
	removeStale(abs)
	return j, nil
}

// tempName returns the temporary name of kind (see tempKinds) next to
// path, hidden and marked as hdo's. One build of path runs at a time (its
// caller holds path's build lock), so the name is fixed: the next build
// removes what a killed one left without listing the directory.
func tempName(path, kind string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".hdo-"+kind)
}

// tempKinds are the temporary files of a target's build: the script's
// stdout, its $3, and the copy of a stdout the script removed.
var tempKinds = []string{"out", "3", "kept"}

// removeStale removes temporary files a killed build of path left behind.
// The caller holds path's build lock.
func removeStale(path string) {
	for _, kind := range tempKinds {
		os.RemoveAll(tempName(path, kind))
	}
}

func (j *Job) cleanup() {
	os.Remove(j.Out)
	if lw, ok := j.Log.(*lineWriter); ok {
		lw.Flush()
	}
	j.log.Close()
	if j.e.srv != nil {
		j.e.srv.jobs.Delete(j.id)
	}
}

// Root returns the tree root.
func (j *Job) Root() string { return j.e.root }

// Abs returns the absolute path of a root-relative name.
func (j *Job) Abs(rel string) string { return j.e.Abs(rel) }

// Jobserver returns the engine's jobserver, to hand to sandboxed builds.
func (j *Job) Jobserver() *jobserver.Pool { return j.e.jobs }

// acquire takes a token for the job.
func (j *Job) acquire(ctx context.Context) error {
	t, err := j.e.jobs.Acquire(ctx)
	if err != nil {
		return err
	}
	j.tokMu.Lock()
	j.tok, j.hasTok = t, true
	j.tokMu.Unlock()
	return nil
}

// release gives the job's token back when the job ends.
func (j *Job) release() {
	j.tokMu.Lock()
	defer j.tokMu.Unlock()
	if j.hasTok {
		j.e.jobs.Release(j.tok)
		j.hasTok = false
	}
}

// beginWait gives the token back while the job waits for its dependencies,
// so that they can use it: a job blocked in redo-ifchange is not running.
func (j *Job) beginWait() {
	j.tokMu.Lock()
	defer j.tokMu.Unlock()
	j.waiting++
	if j.waiting == 1 && j.hasTok {
		j.e.jobs.Release(j.tok)
		j.hasTok = false
	}
}

// endWait takes a token again when the last wait ends.
func (j *Job) endWait(ctx context.Context) error {
	j.tokMu.Lock()
	j.waiting--
	if j.waiting > 0 || j.hasTok {
		j.tokMu.Unlock()
		return nil
	}
	j.tokMu.Unlock()
	t, err := j.e.jobs.Acquire(ctx)
	if err != nil {
		return err
	}
	j.tokMu.Lock()
	defer j.tokMu.Unlock()
	if j.waiting > 0 || j.hasTok {
		j.e.jobs.Release(t)
		return nil
	}
	j.tok, j.hasTok = t, true
	return nil
}

// DepHash returns the hex identity (the blake3 of its bytes, for a file)
// with which the job recorded its dependency on the root-relative path,
// or "" if it has none.
func (j *Job) DepHash(path string) string {
	j.mu.Lock()
	defer j.mu.Unlock()
	if i, ok := j.depIdx[path]; ok && j.deps[i].Kind == state.IfChange {
		return j.deps[i].Hash.String()
	}
	return ""
}

// addDep records a dependency; a path recorded twice keeps its first kind
// unless the new one is IfChange.
func (j *Job) addDep(d state.Dep) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if i, ok := j.depIdx[d.Path]; ok {
		if d.Kind == state.IfChange {
			j.deps[i] = d
		}
		return
	}
	j.depIdx[d.Path] = len(j.deps)
	j.deps = append(j.deps, d)
}

// IfChange brings the root-relative paths up to date, in parallel, and
// records that the target depends on their current content (redo-ifchange).
// With force they are rebuilt (redo).
func (j *Job) IfChange(ctx context.Context, force bool, paths ...string) error {
	return j.ifChange(ctx, force, j.caller, paths)
}

// ifChange is IfChange for caller c: a redo* process of the job's script.
func (j *Job) ifChange(ctx context.Context, force bool, c *caller, paths []string) error {
	j.beginWait()
	hashes, errs := j.e.ensureAll(ctx, paths, force, j.node, newRequest(c, nil), nil)
	if err := j.endWait(ctx); err != nil {
		return err
	}
	var failed, stopped []string
	for i, p := range paths {
		switch {
		case errs[i] == nil:
			j.addDep(state.Dep{Path: p, Kind: state.IfChange, Hash: hashes[i]})
		case errors.Is(errs[i], errStopped):
			stopped = append(stopped, p)
			errs[i] = nil
		case isReported(errs[i]):
			// Already shown where it happened: say only which failed.
			failed = append(failed, p)
			errs[i] = nil
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var msg []string
	if len(failed) > 0 {
		msg = append(msg, strings.Join(failed, ", ")+" failed")
	}
	if len(stopped) > 0 {
		msg = append(msg, strings.Join(stopped, ", ")+" not built (-k builds them anyway)")
	}
	if len(msg) > 0 {
		return &reported{errors.New(strings.Join(msg, "; "))}
	}
	return nil
}

// IfCreate records that the target must be rebuilt when the root-relative
// paths, which must not exist now, are created (redo-ifcreate).
func (j *Job) IfCreate(paths ...string) error {
	var errs []error
	for _, p := range paths {
		st, err := fingerprint.Of(j.e.Abs(p))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.Exists {
			errs = append(errs, fmt.Errorf("redo-ifcreate %s: it exists; depend on it with redo-ifchange instead", p))
			continue
		}
		j.addDep(state.Dep{Path: p, Kind: state.IfCreate})
	}
	return errors.Join(errs...)
}

// Always marks the target out of date on every run (redo-always).
func (j *Job) Always() {
	j.mu.Lock()
	j.always = true
	j.mu.Unlock()
}

// Stamp makes data the target's identity for its dependents instead of its
// content (redo-stamp).
func (j *Job) Stamp(data []byte) {
	h := fingerprint.Stamp(data)
	j.mu.Lock()
	j.stamp = &h
	j.mu.Unlock()
}

// installBuiltin renames a builtin's output into place, or removes the
// target if the builtin wrote none.
func (j *Job) installBuiltin() error {
	return install(j.Out, j.e.Abs(j.Target))
}

// install makes tmp the new content of target atomically, by rename. If
// tmp does not exist, target is removed.
//
// It does not fsync: a rename is atomic against a crash of any process, and
// a target can always be rebuilt from its sources; an fsync per target would
// cost more than building most targets. Builtins whose outputs are costly to
// rebuild (package tarballs) sync what they write before returning.
func install(tmp, target string) error {
	st, err := os.Lstat(tmp)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	if err != nil {
		return err
	}
	if st.IsDir() {
		// A directory target replaces an old directory only by removing it.
		if old, err := os.Lstat(target); err == nil && old.IsDir() {
			if err := os.RemoveAll(target); err != nil {
				return err
			}
		}
	}
	return os.Rename(tmp, target)
}

// lineWriter passes whole lines to w so parallel jobs do not interleave
// mid-line.
type lineWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if i := bytes.LastIndexByte(l.buf, '\n'); i >= 0 {
		if _, err := l.w.Write(l.buf[:i+1]); err != nil {
			return 0, err
		}
		l.buf = append(l.buf[:0], l.buf[i+1:]...)
	}
	return len(p), nil
}

// Flush writes a final partial line.
func (l *lineWriter) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.w.Write(append(l.buf, '\n'))
		l.buf = nil
	}
}

// lazyLog is a target's log file, created on the first byte written: most
// builds write nothing, and creating files is costly on some disks. A
// build that writes nothing removes the previous build's log.
type lazyLog struct {
	mu   sync.Mutex
	dir  *state.StateDir
	name string // relative to dir, e.g. log/pkg/make/.pkghash.log
	warn func(format string, args ...any)
	f    *os.File
	err  error
}

func (l *lazyLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil && l.err == nil {
		if l.err = l.dir.MkdirAll(path.Dir(l.name)); l.err == nil {
			l.f, l.err = l.dir.OpenFile(l.name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		}
		if l.err != nil && l.warn != nil {
			l.warn("cannot keep this build's log: %v", l.err)
		}
	}
	if l.err != nil {
		return len(p), nil // a log that cannot be written must not fail the build
	}
	return l.f.Write(p)
}

// Close closes the log, or removes the old one if nothing was written.
func (l *lazyLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		l.dir.Remove(l.name)
		return nil
	}
	return l.f.Close()
}
