package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/hdo-build/hdo/engine/fingerprint"
	"github.com/hdo-build/hdo/engine/state"
)

// build runs the target's rule and installs its output atomically.
func (e *Engine) build(ctx context.Context, n *node, r rule, rec *state.Record, force bool, rq *request) (fingerprint.Hash, error) {
	rel := n.path
	if rq.stopped() {
		return fingerprint.Hash{}, &FailedError{Path: rel, Err: errStopped}
	}
	if err := ctx.Err(); err != nil {
		return fingerprint.Hash{}, err
	}
	unlock, err := e.locks.lock(ctx, rel, func() {
		e.warn("waiting for another hdo process building %s", rel)
	})
	if err != nil {
		return fingerprint.Hash{}, &FailedError{Path: rel, Err: err}
	}
	defer unlock()

	// Another process may have built it while we waited for the lock.
	fresh, err := e.db.Get(rel)
	if err != nil {
		return fingerprint.Hash{}, err
	}
	if !force && fresh != nil && (rec == nil || fresh.BuildID != rec.BuildID) && !fresh.Building {
		e.recMu.Lock()
		e.recs[rel] = fresh
		e.recMu.Unlock()
		e.forget(rel)
		fs, err := e.fingerprint(rel)
		if err != nil {
			return fingerprint.Hash{}, err
		}
		if reason, err := e.outOfDate(ctx, n, r, fresh, fs, rq); err == nil && reason == "" {
			return fresh.Ident(), nil
		}
		rec = fresh
	}

	// Mark the build as started before anything touches the target: if we
	// die from here on, the next run rebuilds it and never mistakes our
	// half-done work for the user's.
	started := &state.Record{Path: rel, Target: true, Rule: r.ID, Building: true}
	if rec != nil {
		cp := *rec
		cp.Building = true
		started = &cp
	}
	if err := e.putTarget(started); err != nil {
		return fingerprint.Hash{}, err
	}

	j, err := e.newJob(ctx, n, r, rq.caller)
	if err != nil {
		return fingerprint.Hash{}, err
	}
	j.Forced = force
	defer j.cleanup()
	if err := j.acquire(ctx); err != nil {
		return fingerprint.Hash{}, err
	}
	if r.Do != "" {
		// The script is an input like any other.
		h, err := e.ensure(ctx, r.Do, false, n, newRequest(rq.caller, rq))
		if err != nil {
			j.release()
			return fingerprint.Hash{}, err
		}
		j.addDep(state.Dep{Path: r.Do, Kind: state.IfChange, Hash: h})
	}
	e.cfg.Status.Start(rel)
	if r.Builtin != nil {
		err = r.Builtin.Build(ctx, j)
		if err == nil {
			err = j.installBuiltin()
		}
	} else {
		err = e.runDo(ctx, j, r)
	}
	j.release()
	if err != nil && ctx.Err() != nil {
		// Stopped, not failed: the record stays "building", so the next
		// run says its last build was interrupted and builds it again;
		// nothing is reported.
		e.cfg.Status.Done(rel, nil)
		return fingerprint.Hash{}, &reported{&FailedError{Path: rel, Err: ctx.Err()}}
	}
	if err != nil {
		e.putFailed(started)
		if isReported(err) {
			// A dependency failed and said so: one line per failure.
			e.cfg.Status.Done(rel, nil)
			return fingerprint.Hash{}, &reported{&FailedError{Path: rel, Err: err}}
		}
		err = &FailedError{Path: rel, Err: err}
		e.cfg.Status.Done(rel, err)
		return fingerprint.Hash{}, &reported{err}
	}

	e.forget(rel)
	fs, err := e.fingerprint(rel)
	if err != nil {
		return fingerprint.Hash{}, err
	}
	h, err := fingerprint.HashFile(e.Abs(rel), fs.stat)
	if err != nil {
		return fingerprint.Hash{}, err
	}
	done := &state.Record{
		Path: rel, Stat: fs.stat, Hash: h, Recorded: fs.at,
		Target: true, Rule: r.ID, Always: j.always, Deps: j.deps,
		BuildID: rand.Int64(), Built: time.Now().UnixNano(),
	}
	if j.stamp != nil {
		done.Stamp = *j.stamp
	}
	if err := e.putTarget(done); err != nil {
		return fingerprint.Hash{}, err
	}
	n.built = true
	e.built.Add(1)
	if fingerprint.Racy(done.Stat, done.Recorded) {
		e.settleMu.Lock()
		e.toSettle = append(e.toSettle, rel)
		e.settleMu.Unlock()
	}
	e.cfg.Status.Done(rel, nil)
	return done.Ident(), nil
}

// putFailed records that the build begun with the record started failed,
// and the file it left at the target's path (the previous output, or
// none): a file that appears there later is the user's, not a leftover.
func (e *Engine) putFailed(started *state.Record) {
	rel := started.Path
	e.forget(rel)
	fs, err := e.fingerprint(rel)
	if err != nil {
		return // the record says Building: the next run rebuilds it
	}
	failed := *started
	failed.Building, failed.Failed = false, true
	if fs.stat != started.Stat {
		h, err := fingerprint.HashFile(e.Abs(rel), fs.stat)
		if err != nil {
			return
		}
		failed.Stat, failed.Hash, failed.Recorded = fs.stat, h, fs.at
	}
	if err := e.putTarget(&failed); err != nil {
		e.warn("%s: %v", Quote(rel), err)
	}
}

// logName is where the stderr of target's last build is kept, relative
// to the state dir.
func logName(rel string) string {
	return "log/" + escapeUp(rel) + ".log"
}

// escapeUp keeps log paths of targets outside the root inside the log dir.
func escapeUp(rel string) string {
	out := []byte(nil)
	for i := 0; i < len(rel); i++ {
		if rel[i] == '.' && i+1 < len(rel) && rel[i+1] == '.' && (i == 0 || rel[i-1] == '/') && (i+2 == len(rel) || rel[i+2] == '/') {
			out = append(out, "_up_"...)
			i++
			continue
		}
		out = append(out, rel[i])
	}
	return string(out)
}

// Log returns the stderr of target's last build.
func (e *Engine) Log(rel string) ([]byte, error) {
	if e.db == nil {
		return nil, fmt.Errorf("%s: no log (never built here)", rel)
	}
	b, err := e.db.Dir.ReadFile(logName(rel))
	if errors.Is(err, os.ErrNotExist) {
		if rec := e.record(rel); rec != nil && rec.Target {
			return nil, nil // its last build wrote nothing
		}
		return nil, fmt.Errorf("%s: no log (never built here)", rel)
	}
	return b, err
}
