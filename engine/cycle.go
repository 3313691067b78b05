package engine

import (
	"strings"
	"sync"
)

// CycleError reports a dependency cycle, e.g. a -> b -> a.
type CycleError struct {
	Path []string // the cycle, first element repeated at the end
}

func (e *CycleError) Error() string {
	quoted := make([]string, len(e.Path))
	for i, p := range e.Path {
		quoted[i] = Quote(p)
	}
	return "dependency cycle: " + strings.Join(quoted, " -> ")
}

// waitGraph records which node's evaluation is waiting for which other
// node. A new wait that closes a loop is a dependency cycle; refusing it is
// what keeps the cycle from deadlocking the run.
type waitGraph struct {
	mu    sync.Mutex
	edges map[*node]map[*node]int
}

func (g *waitGraph) init() { g.edges = map[*node]map[*node]int{} }

// add records that from waits for to. If to already waits (transitively)
// for from, it records nothing and returns the cycle.
func (g *waitGraph) add(from, to *node) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if path := g.find(to, from, map[*node]bool{}); path != nil {
		// Start the cycle where the earlier wait began: to -> ... -> from -> to.
		var cycle []string
		for _, n := range path {
			cycle = append(cycle, n.path)
		}
		return append(cycle, to.path)
	}
	m := g.edges[from]
	if m == nil {
		m = map[*node]int{}
		g.edges[from] = m
	}
	m[to]++
	return nil
}

// find returns a path of nodes from a to b (inclusive), or nil.
func (g *waitGraph) find(a, b *node, seen map[*node]bool) []*node {
	if a == b {
		return []*node{a}
	}
	if seen[a] {
		return nil
	}
	seen[a] = true
	for next := range g.edges[a] {
		if p := g.find(next, b, seen); p != nil {
			return append([]*node{a}, p...)
		}
	}
	return nil
}

func (g *waitGraph) remove(from, to *node) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.edges[from]
	if m[to]--; m[to] <= 0 {
		delete(m, to)
	}
	if len(m) == 0 {
		delete(g.edges, from)
	}
}
