package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/hdo-build/hdo/engine/fingerprint"
	"github.com/hdo-build/hdo/engine/state"
)

// Reason says why a target is out of date: Cause is the change found
// (e.g. "src/a.in changed"), Via the chain of out-of-date targets through
// which it reaches the target asked about (nearest first).
type Reason struct {
	Cause string
	Via   []string
	Note  string // e.g. the target was modified by hand and is kept
}

// OutOfDate reports whether the reason says the target needs building.
func (r Reason) OutOfDate() bool { return r.Cause != "" }

func (r Reason) String() string {
	if r.Cause == "" {
		if r.Note != "" {
			return "up to date (" + r.Note + ")"
		}
		return "up to date"
	}
	if len(r.Via) == 0 {
		return r.Cause
	}
	return r.Cause + " (via " + strings.Join(r.Via, " -> ") + ")"
}

type whyMemo struct {
	reason Reason
	ident  fingerprint.Hash
	err    error
	state  int // 1 visiting, 2 done
}

// Why explains, without building anything, whether rel is out of date and
// why: "never built", "always", the input that changed, or up to date.
func (e *Engine) Why(rel string) (Reason, error) {
	r, _, err := e.why(rel, map[string]*whyMemo{})
	return r, err
}

// OOD lists the recorded targets that are out of date, sorted.
func (e *Engine) OOD() ([]string, error) {
	memo := map[string]*whyMemo{}
	var out []string
	for _, t := range e.listRecords(func(r *state.Record) bool { return r.Target }) {
		r, _, err := e.why(t, memo)
		var nr *NoRuleError
		if err != nil && !errors.As(err, &nr) {
			return nil, err
		}
		if r.OutOfDate() {
			out = append(out, t)
		}
	}
	return out, nil
}

func (e *Engine) why(rel string, memo map[string]*whyMemo) (Reason, fingerprint.Hash, error) {
	m := memo[rel]
	if m != nil {
		return m.reason, m.ident, m.err // a cycle (state 1) counts as up to date here
	}
	m = &whyMemo{state: 1}
	memo[rel] = m
	m.reason, m.ident, m.err = e.why1(rel, memo)
	m.state = 2
	return m.reason, m.ident, m.err
}

func (e *Engine) why1(rel string, memo map[string]*whyMemo) (Reason, fingerprint.Hash, error) {
	r, hasRule, err := e.lookup(rel)
	if err != nil {
		return Reason{}, fingerprint.Hash{}, err
	}
	fs, err := e.fingerprint(rel)
	if err != nil {
		return Reason{}, fingerprint.Hash{}, err
	}
	rec := e.record(rel)
	if !hasRule {
		if !fs.stat.Exists {
			return Reason{}, fingerprint.Hash{}, e.noRule(rel)
		}
		h, err := e.contentHash(rel, fs, rec)
		return Reason{Note: "a source"}, h, err
	}
	if r.Builtin != nil {
		why, err := e.foreign(rel, fs, rec)
		if err != nil {
			return Reason{}, fingerprint.Hash{}, err
		}
		if why != "" {
			return Reason{Cause: why}, fingerprint.Hash{}, nil
		}
	} else if fs.stat.Exists && (rec == nil || !rec.Target) {
		h, err := e.contentHash(rel, fs, rec)
		return Reason{Note: "exists but was not built by hdo; used as a source"}, h, err
	}
	if r.Builtin == nil && rec != nil && rec.Target && !rec.Building && fs.stat.Exists && (rec.Stat != fs.stat || fingerprint.Racy(rec.Stat, rec.Recorded)) {
		h, err := e.contentHash(rel, fs, nil)
		if err != nil {
			return Reason{}, h, err
		}
		if rec.Failed && !rec.Stat.Exists {
			return Reason{Note: "exists but was not built by hdo (its last build failed); used as a source"}, h, nil
		}
		if !rec.Stat.Exists || h != rec.Hash {
			return Reason{Note: "modified outside hdo; kept, hdo -f rebuilds it"}, h, nil
		}
	}
	if c := cheapReason(r, rec, fs); c != "" {
		return Reason{Cause: c}, fingerprint.Hash{}, nil
	}
	for _, d := range rec.Deps {
		switch d.Kind {
		case state.IfCreate:
			dfs, err := e.fingerprint(d.Path)
			if err != nil {
				return Reason{}, fingerprint.Hash{}, err
			}
			if dfs.stat.Exists {
				return Reason{Cause: d.Path + " was created"}, fingerprint.Hash{}, nil
			}
		case state.IfChange:
			dr, dh, err := e.why(d.Path, memo)
			var nr *NoRuleError
			switch {
			case errors.As(err, &nr):
				return Reason{Cause: d.Path + " was deleted"}, fingerprint.Hash{}, nil
			case err != nil:
				return Reason{}, fingerprint.Hash{}, err
			case dr.OutOfDate():
				return Reason{Cause: dr.Cause, Via: append(append([]string(nil), dr.Via...), d.Path)}, fingerprint.Hash{}, nil
			case dh != d.Hash:
				return Reason{Cause: d.Path + " changed"}, fingerprint.Hash{}, nil
			}
		}
	}
	return Reason{}, rec.Ident(), nil
}

// Targets lists the files hdo has built that exist, sorted (a target
// whose build failed, or that was removed since, is not listed).
func (e *Engine) Targets() []string {
	var out []string
	for _, t := range e.listRecords(func(r *state.Record) bool { return r.Target }) {
		if _, err := os.Lstat(e.Abs(t)); err == nil && !e.madeAfterFailure(e.record(t)) {
			out = append(out, t)
		}
	}
	return out
}

// Sources lists every recorded file that is not a target, sorted, with
// the files made by hand where a failed build left none (used as sources).
func (e *Engine) Sources() []string {
	return e.listRecords(func(r *state.Record) bool {
		return !r.Target && r.Listing == nil || e.madeAfterFailure(r)
	})
}

// madeAfterFailure reports whether r is of a file made where its last,
// failed build left none: the user's, kept as a source (see kept).
func (e *Engine) madeAfterFailure(r *state.Record) bool {
	if r == nil || !r.Target || !r.Failed || r.Stat.Exists {
		return false
	}
	_, err := os.Lstat(e.Abs(r.Path))
	return err == nil
}

func (e *Engine) listRecords(keep func(*state.Record) bool) []string {
	e.recMu.Lock()
	defer e.recMu.Unlock()
	var out []string
	for p, r := range e.recs {
		if keep(r) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Record returns what the state says of rel, or nil.
func (e *Engine) Record(rel string) *state.Record { return e.record(rel) }

// Whichdo returns the .do files that would be tried for rel, in order, up
// to and including the one that exists (found is "" if none does).
func (e *Engine) Whichdo(rel string) (tried []string, found string, err error) {
	for _, c := range candidates(rel) {
		fs, err := e.fingerprint(c.Do)
		if err != nil {
			return nil, "", err
		}
		tried = append(tried, c.Do)
		if fs.stat.Exists && !fs.stat.IsDir() {
			return tried, c.Do, nil
		}
	}
	return tried, "", nil
}

// GraphStyle lets a caller label and style the nodes and edges of a graph,
// e.g. package targets by package name. Returning "" keeps the default.
type GraphStyle struct {
	Node func(path string) (label, attrs string)
	Edge func(from, to string) (attrs string)
	// Skip hides an edge (and what is only reachable through it).
	Skip func(from, to string) bool
	// IfCreate shows redo-ifcreate dependencies (files that must not
	// exist) as dashed edges; they are hidden otherwise.
	IfCreate bool
}

// Graph writes the recorded dependency graph below the targets in DOT.
// Targets are boxes, sources ellipses; ifcreate dependencies, if shown,
// are dashed.
func (e *Engine) Graph(w io.Writer, targets []string, style GraphStyle) error {
	seen := map[string]bool{}
	var nodes []string
	type edge struct{ from, to, attrs string }
	var edges []edge
	var walk func(string)
	walk = func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		nodes = append(nodes, p)
		rec := e.record(p)
		if rec == nil || !rec.Target {
			return
		}
		for _, d := range rec.Deps {
			if (d.Kind == state.IfCreate && !style.IfCreate) || (style.Skip != nil && style.Skip(p, d.Path)) {
				continue
			}
			attrs := ""
			if d.Kind == state.IfCreate {
				attrs = "style=dashed"
			}
			if style.Edge != nil {
				if a := style.Edge(p, d.Path); a != "" {
					attrs = a
				}
			}
			edges = append(edges, edge{p, d.Path, attrs})
			walk(d.Path)
		}
	}
	for _, t := range targets {
		walk(t)
	}
	sort.Strings(nodes)
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].from != edges[j].from {
			return edges[i].from < edges[j].from
		}
		return edges[i].to < edges[j].to
	})
	var b strings.Builder
	b.WriteString("digraph hdo {\n\trankdir=LR;\n\tnode [fontname=\"sans-serif\"];\n")
	for _, n := range nodes {
		label, attrs := "", ""
		if style.Node != nil {
			label, attrs = style.Node(n)
		}
		if label == "" {
			label = n
		}
		if attrs == "" {
			attrs = "shape=ellipse"
			if rec := e.record(n); rec != nil && rec.Target {
				attrs = "shape=box"
			}
		}
		fmt.Fprintf(&b, "\t%q [label=%q, %s];\n", n, label, attrs)
	}
	for _, ed := range edges {
		if ed.attrs != "" {
			fmt.Fprintf(&b, "\t%q -> %q [%s];\n", ed.from, ed.to, ed.attrs)
		} else {
			fmt.Fprintf(&b, "\t%q -> %q;\n", ed.from, ed.to)
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}
