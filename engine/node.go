package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/hdo-build/hdo/engine/fingerprint"
	"github.com/hdo-build/hdo/engine/jobserver"
	"github.com/hdo-build/hdo/engine/state"
)

// A node is one file in this run. Its mutex is held while it is being
// evaluated, so each file is checked, and each target built, at most once
// per run for redo-ifchange whatever the number of processes and jobs
// asking for it. redo (force) builds it every time it is asked; requests
// that come while a forced build runs, or wait together, share one.
type node struct {
	path string

	mu      sync.Mutex
	done    bool
	built   bool          // rebuilt in this run
	forced  atomic.Uint64 // forced builds started in this run
	forcing atomic.Bool   // a forced build runs now
	ident   fingerprint.Hash
	err     error
}

func (e *Engine) node(path string) *node {
	e.nodeMu.Lock()
	defer e.nodeMu.Unlock()
	n := e.nodes[path]
	if n == nil {
		n = &node{path: path}
		e.nodes[path] = n
	}
	return n
}

// Quote returns a target name as messages show it: as it is, unless it
// holds a control character or is not valid UTF-8 (a newline in a name
// would break a one-line error in two), then Go-quoted.
func Quote(name string) string {
	if !utf8.ValidString(name) {
		return strconv.Quote(name)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) && r != ' ' {
			return strconv.Quote(name)
		}
	}
	return name
}

// NoRuleError reports a file that does not exist and that no rule builds.
type NoRuleError struct {
	Path string
	Hint string // what the user probably meant (see Config.Suggest), or ""
}

func (e *NoRuleError) Error() string {
	msg := fmt.Sprintf("%s does not exist and no .do file or built-in rule builds it", Quote(e.Path))
	if e.Hint != "" {
		msg += fmt.Sprintf("; did you mean %s?", Quote(e.Hint))
	}
	return msg
}

// noRule returns the NoRuleError for rel, with a hint if Config.Suggest
// has one.
func (e *Engine) noRule(rel string) *NoRuleError {
	err := &NoRuleError{Path: rel}
	if e.cfg.Suggest != nil {
		err.Hint = e.cfg.Suggest(rel)
	}
	return err
}

// FailedError reports a target that could not be brought up to date. Its
// cause was reported when it happened.
type FailedError struct {
	Path string
	Err  error
}

func (e *FailedError) Error() string { return Quote(e.Path) + ": " + e.Err.Error() }
func (e *FailedError) Unwrap() error { return e.Err }

// reported wraps an error that was already shown to the user.
type reported struct{ error }

func (r *reported) Unwrap() error { return r.error }

// ErrBuildFailed is returned by Build when targets failed; the failures
// themselves have been reported through Status.
var ErrBuildFailed = errors.New("build failed")

// ErrInterrupted is returned by Build when its context was cancelled (by
// Ctrl-C, say): the builds it stopped are not failures, and none was
// reported as one.
var ErrInterrupted = errors.New("interrupted")

// isReported reports whether err (or a part of it) was already shown.
func isReported(err error) bool {
	var r *reported
	var c *CycleError
	return errors.As(err, &r) || errors.As(err, &c) || errors.Is(err, errStopped)
}

// errStopped is returned for targets not started because another failed
// and -k was not given.
var errStopped = errors.New("not built: an earlier target failed (use -k to keep going)")

// Build brings the targets (root-relative) up to date, in parallel, like
// redo-ifchange; with force, they are rebuilt like redo. It returns the
// first error, having waited for every target.
func (e *Engine) Build(ctx context.Context, targets []string, force bool) error {
	e.ctx = ctx
	_, errs := e.ensureAll(ctx, targets, force, nil, newRequest(e.topCaller(), nil), nil)
	e.reportRecomputed()
	if ctx.Err() == nil {
		e.settle()
	}
	if err := e.flush(); err != nil {
		return err
	}
	if ctx.Err() != nil && slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
		return ErrInterrupted
	}
	failed := false
	for _, err := range errs {
		if err == nil {
			continue
		}
		failed = true
		if !isReported(err) {
			e.warn("%s", err)
		}
	}
	if failed {
		return ErrBuildFailed
	}
	return nil
}

// ensure brings path up to date for rq and returns its identity. from is
// the node whose build asked for it (nil at the top level), for cycle
// detection.
func (e *Engine) ensure(ctx context.Context, path string, force bool, from *node, rq *request) (fingerprint.Hash, error) {
	n := e.node(path)
	if from != nil {
		if cycle := e.waits.add(from, n); cycle != nil {
			err := &CycleError{Path: cycle}
			e.warnOnceFor("cycle:"+err.Error(), "%s", err)
			return fingerprint.Hash{}, err
		}
		defer e.waits.remove(from, n)
	}
	asked := n.forced.Load()
	if n.forcing.Load() && asked > 0 {
		asked-- // the build running now will do for this request
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.done && !force:
		return n.ident, n.err
	case force && n.forced.Load() > asked:
		// A forced build that ran when this request came, or started
		// since, is done: requests waiting together share it.
		return n.ident, n.err
	case force:
		n.forced.Add(1)
		n.forcing.Store(true)
		defer n.forcing.Store(false)
	}
	n.ident, n.err = e.evaluate(ctx, n, force, rq)
	// Not started because its request stopped is no verdict on the file:
	// another request may ask for it and have it built.
	n.done = !errors.Is(n.err, errStopped)
	return n.ident, n.err
}

// evaluate decides what path is and brings it up to date for rq.
func (e *Engine) evaluate(ctx context.Context, n *node, force bool, rq *request) (fingerprint.Hash, error) {
	rel := n.path
	r, hasRule, err := e.lookup(rel)
	if err != nil {
		return fingerprint.Hash{}, err
	}
	fs, err := e.fingerprint(rel)
	if err != nil {
		return fingerprint.Hash{}, err
	}
	rec := e.record(rel)
	if !hasRule {
		if !fs.stat.Exists {
			return fingerprint.Hash{}, e.noRule(rel)
		}
		return e.source(rel, fs, rec)
	}
	if fs.stat.Exists && (rec == nil || !rec.Target || rec.Stat != fs.stat) {
		// The file is not what this process recorded when it loaded the
		// state: another hdo process may have built it since. Decide
		// from the record as it is now, or this process would take that
		// target for a hand-made file and overwrite its record.
		if rec, err = e.reload(rel); err != nil {
			return fingerprint.Hash{}, err
		}
	}
	if !force {
		if r.Builtin != nil {
			// A built-in rule's target is derived data, never a source.
			why, err := e.foreign(rel, fs, rec)
			if err != nil {
				return fingerprint.Hash{}, err
			}
			if why != "" {
				e.noteRecomputed(rel, why)
				return e.build(ctx, n, r, rec, false, rq)
			}
		} else if kept, h, err := e.kept(rel, fs, rec); kept || err != nil {
			return h, err
		}
		reason, err := e.outOfDate(ctx, n, r, rec, fs, rq)
		if err != nil {
			return fingerprint.Hash{}, &FailedError{Path: rel, Err: err}
		}
		if reason == "" {
			return rec.Ident(), nil
		}
	}
	return e.build(ctx, n, r, rec, force, rq)
}

// reload returns rel's record as the database holds it now (another hdo
// process may have written it since this one loaded the state), keeping
// it; a record this process has not written yet stays as it is.
func (e *Engine) reload(rel string) (*state.Record, error) {
	e.recMu.Lock()
	_, pending := e.dirty[rel]
	e.recMu.Unlock()
	if pending || e.db == nil {
		return e.record(rel), nil
	}
	fresh, err := e.db.Get(rel)
	if err != nil || fresh == nil {
		return e.record(rel), err
	}
	e.recMu.Lock()
	e.recs[rel] = fresh
	e.recMu.Unlock()
	return fresh, nil
}

// source returns the identity of a file no rule builds.
func (e *Engine) source(rel string, fs *fileState, rec *state.Record) (fingerprint.Hash, error) {
	h, err := e.contentHash(rel, fs, rec)
	if err != nil {
		return h, err
	}
	e.noteSource(rel, fs, h)
	return h, nil
}

// kept reports whether a file that has a rule must nevertheless be left
// alone as a source: it exists but hdo never built it, or it was changed
// by hand since hdo built it. The user's file always wins; -f overrides.
func (e *Engine) kept(rel string, fs *fileState, rec *state.Record) (bool, fingerprint.Hash, error) {
	if !fs.stat.Exists {
		return false, fingerprint.Hash{}, nil
	}
	if rec == nil || !rec.Target {
		e.warnOnceFor("kept:"+rel, "%s exists and was not built by hdo; using it as a source (hdo -f %s rebuilds it)", Quote(rel), Quote(rel))
		h, err := e.source(rel, fs, rec)
		return true, h, err
	}
	changed, h, err := e.changedSinceBuilt(rel, fs, rec)
	if !changed || err != nil {
		return false, fingerprint.Hash{}, err
	}
	if rec.Failed && !rec.Stat.Exists {
		// Made where a failed build left nothing.
		e.warnOnceFor("kept:"+rel, "%s exists and was not built by hdo; using it as a source (hdo -f %s rebuilds it)", Quote(rel), Quote(rel))
	} else {
		e.warnOnceFor("kept:"+rel, "%s was modified outside hdo; keeping your version (hdo -f %s rebuilds it)", Quote(rel), Quote(rel))
	}
	return true, h, nil
}

// changedSinceBuilt reports whether the existing file rel is not the one
// rec (a target record) says hdo built, with its content hash. The stat
// decides when it is unchanged and not racy; else the content does, and
// the same bytes under a new stat refresh the record. An interrupted
// build's leftover is no one's edit: never changed.
func (e *Engine) changedSinceBuilt(rel string, fs *fileState, rec *state.Record) (bool, fingerprint.Hash, error) {
	if rec.Building || (rec.Stat == fs.stat && !fingerprint.Racy(rec.Stat, rec.Recorded)) {
		return false, fingerprint.Hash{}, nil
	}
	h, err := e.contentHash(rel, fs, nil)
	if err != nil {
		return false, h, err
	}
	if rec.Stat.Exists && h == rec.Hash {
		e.noteSource(rel, fs, h) // same bytes: refresh the stat
		return false, h, nil
	}
	return true, h, nil
}

// foreign says why an existing target of a built-in rule is not the file
// hdo built at this path, or "" if it is (or does not exist). Such a file
// came from elsewhere: a renamed or copied package dir, a lost or replaced
// .hdo, a branch switch, an edit. Unlike a .do target, which the user may
// edit and keep, it is recomputed: a package target that outlived what it
// was computed from would give a package another's identity.
func (e *Engine) foreign(rel string, fs *fileState, rec *state.Record) (string, error) {
	if !fs.stat.Exists {
		return "", nil
	}
	if rec == nil || !rec.Target {
		return "no build record in this tree's .hdo (a renamed or copied package dir, or a lost .hdo)", nil
	}
	changed, _, err := e.changedSinceBuilt(rel, fs, rec)
	if changed {
		return "differs from what hdo built here (changed outside hdo, or another tree's)", err
	}
	return "", err
}

// noteRecomputed remembers that a built-in rule's target was recomputed
// although it existed, and why (see foreign), for reportRecomputed.
func (e *Engine) noteRecomputed(rel, why string) {
	e.recompMu.Lock()
	defer e.recompMu.Unlock()
	if e.recomputed == nil {
		e.recomputed = map[string][]string{}
	}
	e.recomputed[why] = append(e.recomputed[why], rel)
}

// reportRecomputed says in one line per reason which existing targets
// this run recomputed: after a lost .hdo that is every package target, so
// one line names a few and counts the rest.
func (e *Engine) reportRecomputed() {
	e.recompMu.Lock()
	defer e.recompMu.Unlock()
	whys := make([]string, 0, len(e.recomputed))
	for why := range e.recomputed {
		whys = append(whys, why)
	}
	sort.Strings(whys)
	for _, why := range whys {
		rels := e.recomputed[why]
		sort.Strings(rels)
		for i, r := range rels {
			rels[i] = Quote(r)
		}
		const show = 6
		list := strings.Join(rels[:min(len(rels), show)], ", ")
		if len(rels) > show {
			list += fmt.Sprintf(" and %d more", len(rels)-show)
		}
		e.warn("recomputed %s: %s", list, why)
	}
	e.recomputed = nil
}

// cheapReason returns why a target is out of date without looking at its
// dependencies, or "".
func cheapReason(r rule, rec *state.Record, fs *fileState) string {
	switch {
	case rec == nil || !rec.Target:
		return "never built"
	case rec.Building:
		return "its last build was interrupted"
	case rec.Failed:
		return "its last build failed"
	case rec.Rule != r.ID:
		return fmt.Sprintf("its rule changed from %s to %s", rec.Rule, r.ID)
	case rec.Always:
		return "always (redo-always)"
	case rec.Stat.Exists && !fs.stat.Exists:
		return "it was deleted"
	}
	return ""
}

// outOfDate returns why the target is out of date, or "" if it is up to
// date, bringing its recorded dependencies up to date first (in parallel)
// as a request that is part of rq.
func (e *Engine) outOfDate(ctx context.Context, n *node, r rule, rec *state.Record, fs *fileState, rq *request) (string, error) {
	if reason := cheapReason(r, rec, fs); reason != "" {
		return reason, nil
	}
	var deps []state.Dep
	for _, d := range rec.Deps {
		switch d.Kind {
		case state.IfCreate:
			dfs, err := e.fingerprint(d.Path)
			if err != nil {
				return "", err
			}
			if dfs.stat.Exists {
				return d.Path + " was created", nil
			}
		case state.IfChange:
			deps = append(deps, d)
		}
	}
	paths := make([]string, len(deps))
	for i, d := range deps {
		paths[i] = d.Path
	}
	deleted := func(err error) bool {
		var nr *NoRuleError
		return errors.As(err, &nr)
	}
	hashes, errs := e.ensureAll(ctx, paths, false, n, newRequest(rq.caller, rq), deleted)
	var reasons []string
	for i, d := range deps {
		switch {
		case deleted(errs[i]):
			reasons = append(reasons, d.Path+" was deleted")
			errs[i] = nil
		case errs[i] == nil && hashes[i] != d.Hash:
			reasons = append(reasons, d.Path+" changed")
		}
	}
	if err := errors.Join(dropStopped(errs)...); err != nil {
		return "", err
	}
	if len(reasons) > 0 {
		return reasons[0], nil
	}
	return "", nil
}

// dropStopped returns errs without those of paths not started because
// another failed, unless those are all there is: the failure is the news.
func dropStopped(errs []error) []error {
	var real []error
	for _, err := range errs {
		if err != nil && !errors.Is(err, errStopped) {
			real = append(real, err)
		}
	}
	if len(real) == 0 {
		return errs
	}
	return real
}

// each calls f(0..n-1): in order with -j1, so that a sequential build goes
// in the order the user wrote and stops at the first failure; concurrently
// otherwise, leaving the jobserver to bound the work.
func (e *Engine) each(n int, f func(i int)) {
	if n == 1 || e.jobs == nil || e.jobs.Limit() == 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i)
		}()
	}
	wg.Wait()
}

// Jobserver returns the engine's jobserver.
func (e *Engine) Jobserver() *jobserver.Pool { return e.jobs }
