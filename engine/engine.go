// Package engine is hdo's redo engine: it decides which targets are out of
// date, runs their .do scripts or built-in rules under one scheduler with a
// GNU make jobserver, and records what each build depended on.
//
// One engine (the top-level hdo process) owns the scheduler and the state of
// a tree; .do scripts reach it through redo-ifchange and friends, which are
// hdo itself talking to the engine over a unix socket (see Request and
// Send). A redo* call's environment, stderr and -k/-x travel with its
// request: what it asks for is built as if it had started it.
package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hdo-build/hdo/engine/fingerprint"
	"github.com/hdo-build/hdo/engine/jobserver"
	"github.com/hdo-build/hdo/engine/state"
	"github.com/hdo-build/hdo/internal/doshell"
)

// Builtin builds targets that no .do file covers, in-process.
type Builtin interface {
	// Match reports whether the builtin builds target (root-relative, e.g.
	// pkg/make/.pkghash) and returns the rule's ID, which must change
	// whenever the builtin's output for the same inputs would (e.g.
	// builtin:pkghash/1). exists answers from the engine's per-run stats.
	Match(target string, exists func(rel string) bool) (id string, ok bool)
	// Build writes the target's content to j.Out, declaring what it read
	// with j.IfChange and j.IfCreate.
	Build(ctx context.Context, j *Job) error
}

// Config configures an engine.
type Config struct {
	Root      string          // absolute tree root, e.g. /src/tree
	Jobs      int             // -j: concurrent jobs (when no inherited jobserver)
	Jobserver *jobserver.Pool // the pool to use; nil: create one of Jobs tokens
	KeepGoing bool            // -k: keep building what does not depend on a failure
	Trace     bool            // -x: run scripts with sh -x
	Env       []string        // environment for .do scripts, e.g. os.Environ()
	Exe       string          // hdo binary for the redo-* links; default os.Executable
	Stderr    io.Writer       // progress and script stderr; default os.Stderr
	Status    Status          // progress display; default: plain lines on Stderr
	Builtins  []Builtin
	// Suggest, if set, names the path the user probably meant by a
	// root-relative path that does not exist and that no rule builds
	// (e.g. pkg/make/.pkg.tar.gz for pkg/mak/.pkg.tar.gz), or "".
	Suggest func(rel string) string
	// ReadOnly opens the engine for queries only: no socket, no jobserver.
	ReadOnly bool
	// Commands, if not nil, turn the embedded shell on: a .do script
	// with no #! line that package doshell runs as sh -e would runs inside
	// this process, and these commands (the redo* names) in-process; other
	// scripts, and every script under -x, run with sh.
	Commands map[string]doshell.Command
}

// Status receives progress events. Implementations must be safe for
// concurrent use.
type Status interface {
	Start(target string)             // a build started
	Done(target string, err error)   // a build ended
	Warn(format string, args ...any) // a message for the user
	Writer() io.Writer               // where script stderr goes
}

// Engine builds targets of one tree.
type Engine struct {
	cfg   Config
	db    *state.DB
	root  string
	runID int64

	recMu sync.Mutex
	recs  map[string]*state.Record // loaded at start, updated as we go
	dirty map[string]*state.Record // source records to write at the end

	nodeMu sync.Mutex
	nodes  map[string]*node

	fpMu sync.Mutex
	fps  map[string]*fileState
	dirs map[string]*dirListing
	// gen counts the moments since which a script may have changed the
	// tree: every request from a script, every script's end. What this
	// run saw missing (a stat, a directory listing) holds only in the
	// generation it was seen in: a script that writes a file or a .do
	// file and then asks for it must find it.
	gen atomic.Uint64

	jobs   *jobserver.Pool
	ownJob bool
	srv    *server
	locks  *locker
	waits  waitGraph

	ctx       context.Context // the run's context, for requests from scripts
	setupOnce sync.Once
	setupErr  error

	recompMu   sync.Mutex
	recomputed map[string][]string // why -> targets recomputed for it (see foreign)

	built    atomic.Int64
	settleMu sync.Mutex
	toSettle []string // targets built in this run, to settle (see settle.go)
	warnOnce sync.Map
	stderrID pipeID // the file cfg.Stderr writes to, if it is one
}

// FindRoot returns the tree root for a process in dir: $HDO_ROOT, else the
// nearest ancestor of dir holding a .hdo directory, else dir.
func FindRoot(dir string, getenv func(string) string) (string, error) {
	if r := getenv("HDO_ROOT"); r != "" {
		return filepath.Abs(r)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if r, ok := StateRoot(dir, nil); ok {
		return r, nil
	}
	return dir, nil
}

// StateRoot returns the nearest ancestor of the absolute dir (dir itself
// included) holding a .hdo directory that this user may trust (see
// state.Untrusted: never another user's .hdo, nor one in a directory
// anyone can write to, like a planted /tmp/.hdo). skip, if not nil, hears
// of every .hdo found, with why it is not trusted ("" if it is), and
// returns whether to pass over it; without skip, untrusted ones are.
func StateRoot(dir string, skip func(dir, why string) bool) (string, bool) {
	for d := dir; ; {
		p := filepath.Join(d, state.Dir)
		if _, err := os.Lstat(p); err == nil {
			why := state.Untrusted(p)
			if skip != nil && !skip(d, why) || skip == nil && why == "" {
				return d, true
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", false
		}
		d = parent
	}
}

// New opens the engine for the tree at cfg.Root.
func New(cfg Config) (*Engine, error) {
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	if cfg.Status == nil {
		cfg.Status = NewPlainStatus(cfg.Stderr)
	}
	if cfg.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cfg.Exe = exe
	}
	var db *state.DB
	recs := map[string]*state.Record{}
	if _, err := os.Lstat(filepath.Join(cfg.Root, state.Dir)); err == nil || !cfg.ReadOnly {
		// A query of a tree never built here knows nothing and makes no
		// state; anything else opens (or creates) it.
		if db, err = state.Open(cfg.Root, cfg.Status.Warn); err != nil {
			return nil, err
		}
		if recs, err = db.LoadAll(); err != nil {
			db.Close()
			return nil, err
		}
	}
	e := &Engine{
		cfg:   cfg,
		db:    db,
		root:  cfg.Root,
		runID: time.Now().UnixNano(),
		recs:  recs,
		dirty: map[string]*state.Record{},
		nodes: map[string]*node{},
		fps:   map[string]*fileState{},
		dirs:  map[string]*dirListing{},
	}
	e.waits.init()
	if f, ok := cfg.Stderr.(*os.File); ok {
		e.stderrID = fileID(f)
	}
	if cfg.ReadOnly {
		return e, nil
	}
	var err error
	if e.locks, err = newLocker(db.Dir); err != nil {
		db.Close()
		return nil, err
	}
	e.jobs = cfg.Jobserver
	if e.jobs == nil {
		if e.jobs, err = jobserver.New(cfg.Jobs, jobserver.Pipe); err != nil {
			e.Close()
			return nil, err
		}
		e.ownJob = true
	}
	return e, nil
}

// Close writes pending state and releases the engine's resources.
func (e *Engine) Close() error {
	err := e.flush()
	if e.srv != nil {
		e.srv.close()
	}
	if e.ownJob && e.jobs != nil {
		e.jobs.Close()
	}
	if e.locks != nil {
		e.locks.close()
	}
	if e.db == nil {
		return err
	}
	if cerr := e.db.Close(); err == nil {
		err = cerr
	}
	return err
}

// Root returns the tree root.
func (e *Engine) Root() string { return e.root }

// Rel converts a path (absolute, or relative to cwd) to the root-relative,
// slash-separated form the engine uses as a target's name.
//
// A ".." is resolved as the kernel does (see kernelPath).
func (e *Engine) Rel(cwd, p string) (string, error) {
	if !filepath.IsAbs(p) {
		p = cwd + "/" + p
	}
	abs, resolved := kernelPath(p)
	rel, err := filepath.Rel(e.root, abs)
	if err != nil {
		return "", err
	}
	if resolved && (rel == ".." || strings.HasPrefix(rel, "../")) {
		// Resolved through a symlink out of the root's spelling: the
		// root may be spelled through one too.
		if real, err := filepath.EvalSymlinks(e.root); err == nil && real != e.root {
			if r, err := filepath.Rel(real, abs); err == nil && r != ".." && !strings.HasPrefix(r, "../") {
				rel = r
			}
		}
	}
	rel = filepath.ToSlash(rel)
	if rel == "." {
		return "", fmt.Errorf("%s: the tree root itself is not a target", p)
	}
	return rel, nil
}

// Abs returns the absolute path of a root-relative name.
func (e *Engine) Abs(rel string) string { return filepath.Join(e.root, filepath.FromSlash(rel)) }

// Display returns rel as the user should see it from cwd.
func (e *Engine) Display(cwd, rel string) string {
	p, err := filepath.Rel(cwd, e.Abs(rel))
	if err != nil {
		return rel
	}
	return p
}

func (e *Engine) warn(format string, args ...any) { e.cfg.Status.Warn(format, args...) }

// warnOnceFor prints a warning once per key per run.
func (e *Engine) warnOnceFor(key string, format string, args ...any) {
	if _, dup := e.warnOnce.LoadOrStore(key, true); !dup {
		e.warn(format, args...)
	}
}

// Built returns how many targets this engine has built so far.
func (e *Engine) Built() int64 { return e.built.Load() }

// fileState is one file's state in this run: stat once (a file seen
// missing: once per generation), hash at most once.
type fileState struct {
	once sync.Once
	stat fingerprint.Stat
	at   int64 // when the stat was taken
	err  error
	// missingIn is 1 + the generation in which the stat found the file
	// missing, once it has; else 0.
	missingIn atomic.Uint64

	hashOnce sync.Once
	hash     fingerprint.Hash
	hashErr  error
}

// fingerprint stats a root-relative path, once per run.
func (e *Engine) fingerprint(rel string) (*fileState, error) {
	gen := e.gen.Load()
	e.fpMu.Lock()
	fs := e.fps[rel]
	if fs == nil || fs.seenMissing(gen) {
		fs = &fileState{}
		e.fps[rel] = fs
	}
	e.fpMu.Unlock()
	fs.once.Do(func() {
		fs.at = time.Now().UnixNano()
		defer func() {
			if fs.err == nil && !fs.stat.Exists {
				fs.missingIn.Store(gen + 1)
			}
		}()
		if e.knownAbsent(rel) {
			return // the directory's listing, read in this generation, lacks it
		}
		fs.stat, fs.err = fingerprint.Of(e.Abs(rel))
	})
	return fs, fs.err
}

// seenMissing reports whether fs says its file was missing in a
// generation before gen: to be looked at again.
func (fs *fileState) seenMissing(gen uint64) bool {
	in := fs.missingIn.Load()
	return in != 0 && in-1 != gen
}

// changed says a script may have changed the tree from now on: what was
// seen missing is looked at again.
func (e *Engine) changed() { e.gen.Add(1) }

// forget drops what this run knows of a file that hdo just rewrote.
func (e *Engine) forget(rel string) {
	e.fpMu.Lock()
	delete(e.fps, rel)
	// It may have been created or removed: its directory's listing is to
	// be read again, or skipped if large (see listing).
	if l, ok := e.dirs[parentDir(rel)]; ok && !l.stale {
		e.dirs[parentDir(rel)] = &dirListing{names: l.names, stale: true}
	}
	e.fpMu.Unlock()
}

// contentHash returns the identity of a file's current content, using the
// recorded hash when the stat is unchanged and was not taken racily.
func (e *Engine) contentHash(rel string, fs *fileState, rec *state.Record) (fingerprint.Hash, error) {
	if rec != nil && rec.Stat == fs.stat && !fingerprint.Racy(rec.Stat, rec.Recorded) {
		return rec.Hash, nil
	}
	fs.hashOnce.Do(func() {
		fs.hash, fs.hashErr = fingerprint.HashFile(e.Abs(rel), fs.stat)
	})
	return fs.hash, fs.hashErr
}

func (e *Engine) record(rel string) *state.Record {
	e.recMu.Lock()
	defer e.recMu.Unlock()
	return e.recs[rel]
}

// noteSource remembers a source's current stat and hash, to be written at
// the end of the run (or with the next target record) unless another hdo
// process has built the file meanwhile (see state.DB.PutObserved).
func (e *Engine) noteSource(rel string, fs *fileState, h fingerprint.Hash) {
	e.recMu.Lock()
	defer e.recMu.Unlock()
	old := e.recs[rel]
	if old != nil && !old.Target && old.Stat == fs.stat && old.Hash == h && !fingerprint.Racy(old.Stat, old.Recorded) {
		return
	}
	if old != nil && old.Target {
		// A former target now used as a source keeps its build record
		// until it is rebuilt; refresh only what was observed.
		cp := *old
		cp.Stat, cp.Hash, cp.Recorded = fs.stat, h, fs.at
		e.recs[rel] = &cp
		e.dirty[rel] = &cp
		return
	}
	r := &state.Record{Path: rel, Stat: fs.stat, Hash: h, Recorded: fs.at}
	e.recs[rel] = r
	e.dirty[rel] = r
}

// flush writes pending source records.
func (e *Engine) flush() error {
	e.recMu.Lock()
	var recs []*state.Record
	for _, r := range e.dirty {
		recs = append(recs, r)
	}
	e.dirty = map[string]*state.Record{}
	e.recMu.Unlock()
	if e.db == nil {
		return nil // read-only, and no state to update
	}
	return e.db.PutObserved(nil, recs)
}

// putTarget writes a target's record together with pending source records.
func (e *Engine) putTarget(r *state.Record) error {
	e.recMu.Lock()
	recs := []*state.Record{r}
	for p, d := range e.dirty {
		if p != r.Path {
			recs = append(recs, d)
		}
	}
	e.dirty = map[string]*state.Record{}
	e.recs[r.Path] = r
	e.recMu.Unlock()
	return e.db.PutObserved(recs[:1], recs[1:])
}

// scriptEnvSet are the variables scriptEnv sets, whatever the caller's.
var scriptEnvSet = map[string]bool{"HDO_SOCK": true, "HDO_JOB": true, "HDO_ROOT": true, "MAKEFLAGS": true, "MFLAGS": true, "PATH": true, "PWD": true}

// scriptEnv returns the environment for a script run in dir for caller
// env: env with hdo's variables, its PATH first, PWD the script's dir.
func (e *Engine) scriptEnv(env []string, dir string, extra ...string) []string {
	drop := scriptEnvSet
	var out []string
	path := ""
	makeflags := ""
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "PATH" {
			path = v
		}
		if k == "MAKEFLAGS" {
			makeflags = v
		}
		if !drop[k] {
			out = append(out, kv)
		}
	}
	bin := filepath.Join(e.root, state.Dir, "bin")
	sep := string(os.PathListSeparator)
	switch {
	case path == "":
		path = bin
	case path != bin && !strings.HasPrefix(path, bin+sep):
		// A redo* call in a script passes on the PATH it was given.
		path = bin + sep + path
	}
	out = append(out, "PATH="+path, "HDO_ROOT="+e.root, "PWD="+dir)
	if e.jobs != nil {
		out = append(out, "MAKEFLAGS="+e.jobs.MakeFlags(makeflags, 3))
	}
	return append(out, extra...)
}
