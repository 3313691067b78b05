package engine

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/hdo-build/hdo/engine/fingerprint"
)

// A caller is who asked for a build: the top-level hdo, or a redo* process
// in a running script. The .do scripts its request runs get its
// environment, their stderr goes to its stderr (and to their logs), and its
// -k and -x hold for them; what those scripts ask for in turn inherits
// what they were given, as a process tree would.
type caller struct {
	env       []string  // the environment of the redo* call
	stderr    io.Writer // where the scripts' stderr goes besides their logs
	keepGoing bool      // -k
	trace     bool      // -x
}

// topCaller is the top-level hdo: its environment, its status display.
func (e *Engine) topCaller() *caller {
	return &caller{env: e.cfg.Env, stderr: e.cfg.Status.Writer(), keepGoing: e.cfg.KeepGoing, trace: e.cfg.Trace}
}

// A request is one set of files asked for together: the top-level
// targets, the paths of one redo-ifchange call, the recorded dependencies
// of one target being checked. Without -k, once one of them fails, those
// not started yet are not started, nor is new work below them; a request
// from a script begins afresh (the script may handle the failure and ask
// for more), so one failure does not poison the rest of the run.
type request struct {
	caller *caller
	parent *request // the request this one is part of; nil at a script's request
	failed atomic.Bool
}

// newRequest begins a request of c's, part of parent (nil: a fresh one).
func newRequest(c *caller, parent *request) *request {
	return &request{caller: c, parent: parent}
}

// stopped reports whether new work for rq must not start: a part of it,
// or of a request it belongs to, failed, and -k was not given.
func (rq *request) stopped() bool {
	if rq.caller.keepGoing {
		return false
	}
	for r := rq; r != nil; r = r.parent {
		if r.failed.Load() {
			return true
		}
	}
	return false
}

// ensureAll brings paths up to date for rq (in parallel, see each) and
// returns their identities and errors; a path not started because the
// request stopped gets a FailedError wrapping errStopped. An error for
// which expected returns true (nil: none) does not stop the request.
func (e *Engine) ensureAll(ctx context.Context, paths []string, force bool, from *node, rq *request, expected func(error) bool) ([]fingerprint.Hash, []error) {
	hashes := make([]fingerprint.Hash, len(paths))
	errs := make([]error, len(paths))
	e.each(len(paths), func(i int) {
		if rq.stopped() {
			errs[i] = &FailedError{Path: paths[i], Err: errStopped}
			return
		}
		hashes[i], errs[i] = e.ensure(ctx, paths[i], force, from, rq)
		if errs[i] != nil && (expected == nil || !expected(errs[i])) {
			rq.failed.Store(true)
		}
	})
	return hashes, errs
}
