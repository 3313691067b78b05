// Package watch rebuilds targets whenever a file they were built from
// changes: hdo watch.
//
// After each build, Collect walks the state's records from the targets
// through their dependencies: the sources they read (with redo-ifchange or
// a built-in rule), the files they want absent (redo-ifcreate) and the .do
// files. Run watches the directories holding them (with inotify, through
// fsnotify), and the nearest existing ancestor of a wanted file whose
// directory does not exist yet; a burst of events is one rebuild.
package watch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/hdo-build/hdo/engine/fingerprint"
	"github.com/hdo-build/hdo/engine/state"
)

// Deps is what a set of targets was built from, as absolute paths.
type Deps struct {
	// Files are the paths whose change or appearance makes a rebuild, with
	// their stat as recorded (Exists false for files wanted absent).
	Files map[string]fingerprint.Stat
	// Dirs are the directories to watch: those of Files (or their nearest
	// existing ancestors) and those of the targets, where a new .do file
	// may change a rule.
	Dirs map[string]bool
}

// Collect returns what the targets (root-relative) were built from,
// following record (e.g. Engine.Record) from each target through its
// dependencies.
func Collect(root string, targets []string, record func(rel string) *state.Record) *Deps {
	d := &Deps{Files: map[string]fingerprint.Stat{}, Dirs: map[string]bool{}}
	seen := map[string]bool{}
	abs := func(rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }
	var visit func(rel string)
	visit = func(rel string) {
		if seen[rel] {
			return
		}
		seen[rel] = true
		rec := record(rel)
		p := abs(rel)
		if rec == nil || !rec.Target {
			st := fingerprint.Stat{}
			if rec != nil {
				st = rec.Stat
			} else {
				st, _ = fingerprint.Of(p) // never seen: as it is now
			}
			d.want(p, st)
			return
		}
		// A new .do file next to a target, or above it up to the root, may
		// change its rule.
		for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
			d.Dirs[dir] = true
			if dir == root || !strings.HasPrefix(dir, root) || dir == filepath.Dir(dir) {
				break
			}
		}
		for _, dep := range rec.Deps {
			if dep.Kind == state.IfCreate {
				if !seen[dep.Path] {
					seen[dep.Path] = true
					d.want(abs(dep.Path), fingerprint.Stat{})
				}
				continue
			}
			visit(dep.Path)
		}
	}
	for _, t := range targets {
		visit(t)
	}
	return d
}

// want adds a file and the directory to watch for it: its own, or, if
// that does not exist, the nearest ancestor that does, with the missing
// directories in between as files whose appearance counts.
func (d *Deps) want(p string, st fingerprint.Stat) {
	d.Files[p] = st
	dir := filepath.Dir(p)
	for {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			d.Dirs[dir] = true
			return
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return
		}
		if _, ok := d.Files[dir]; !ok {
			d.Files[dir] = fingerprint.Stat{}
		}
		dir = parent
	}
}

// Changed returns the files that differ from their recorded stat now (a
// change made before a watch on their directory was in place), sorted.
func (d *Deps) Changed() []string {
	var out []string
	for p, rec := range d.Files {
		st, err := fingerprint.Of(p)
		if err != nil {
			continue
		}
		if rec.Exists != st.Exists || (rec.Exists && !fingerprint.Same(rec, st) && !st.IsDir()) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// relevant reports whether an event may change what was built.
func (d *Deps) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false // a touch changes no content
	}
	if _, ok := d.Files[ev.Name]; ok {
		return true
	}
	return strings.HasSuffix(ev.Name, ".do") && d.Dirs[filepath.Dir(ev.Name)]
}

// Options configure Run.
type Options struct {
	// Build runs one fresh build of the targets and returns what they
	// were built from, also when the build failed (then with its error).
	// No Deps at all (nil) ends Run with the error.
	Build func(ctx context.Context) (*Deps, error)
	// Debounce is how long the files must be quiet before a rebuild; 0
	// means 100ms. Editors save in bursts of events.
	Debounce time.Duration
	// Log receives failures; Note what happens (changes seen, what is
	// watched). nil: nothing.
	Log, Note func(format string, args ...any)
}

// Run builds, then rebuilds whenever something the targets were built
// from changes, until ctx is done (then it returns nil). An error is
// returned only when watching is impossible.
func Run(ctx context.Context, opts Options) error {
	if opts.Debounce == 0 {
		opts.Debounce = 100 * time.Millisecond
	}
	logf, note := opts.Log, opts.Note
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if note == nil {
		note = func(string, ...any) {}
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	deps := &Deps{}
	timer := time.NewTimer(0) // the first build at once
	var why string
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("watch: the watcher closed")
			}
			if deps.relevant(ev) {
				if why == "" {
					why = ev.Name
				}
				timer.Reset(opts.Debounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("watch: the watcher closed")
			}
			// An overflow lost events: rebuild to be sure.
			logf("%v", err)
			why = "lost events"
			timer.Reset(opts.Debounce)
		case <-timer.C:
			if why != "" {
				note("%s changed", why)
			}
			why = ""
			d, err := opts.Build(ctx)
			if ctx.Err() != nil {
				return nil
			}
			if d == nil {
				return err // not even a failed build: nothing to watch
			}
			if err != nil {
				logf("%v", err)
			}
			deps = d
			n := sync(w, deps.Dirs, logf)
			if changed := deps.Changed(); len(changed) > 0 {
				why = changed[0]
				timer.Reset(opts.Debounce)
				continue
			}
			note("watching %d files in %d directories", len(deps.Files), n)
		}
	}
}

// sync makes the watcher watch exactly dirs (a directory removed and made
// again needs a new watch: the kernel drops the old one) and returns how
// many it watches.
func sync(w *fsnotify.Watcher, dirs map[string]bool, logf func(string, ...any)) int {
	watched := map[string]bool{}
	for _, d := range w.WatchList() {
		if !dirs[d] {
			w.Remove(d)
			continue
		}
		watched[d] = true
	}
	for d := range dirs {
		if watched[d] {
			continue
		}
		if err := w.Add(d); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				logf("cannot watch %s: %v", d, err)
			}
			continue
		}
		watched[d] = true
	}
	return len(watched)
}
