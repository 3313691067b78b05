package bootstrap

import (
	"container/heap"
	"fmt"
	"sort"
	"strings"
)

// relation is one alternative of a dependency: name, optional version
// constraint, optional architecture restriction.
type relation struct {
	name    string // e.g. libc6
	archQ   string // architecture qualifier after ':', e.g. any
	op      string // <<, <=, =, >=, >> or ""
	version Version
	archs   []string // [amd64 !i386] restriction, or nil
}

// parseRelations parses a Depends-style field into its AND list of OR lists.
func parseRelations(field string) ([][]relation, error) {
	var out [][]relation
	for _, group := range strings.Split(field, ",") {
		group = strings.TrimSpace(group)
		if group == "" {
			continue
		}
		var alts []relation
		for _, alt := range strings.Split(group, "|") {
			rel, err := parseRelation(strings.TrimSpace(alt))
			if err != nil {
				return nil, err
			}
			alts = append(alts, rel)
		}
		out = append(out, alts)
	}
	return out, nil
}

func parseRelation(s string) (relation, error) {
	var rel relation
	bad := func(why string) (relation, error) {
		return relation{}, fmt.Errorf("relation %q: %s", s, why)
	}
	// Build profiles (<...>) only matter for source packages.
	if i := strings.IndexByte(s, '<'); i >= 0 && !strings.Contains(s[:i], "(") {
		s = strings.TrimSpace(s[:i])
	}
	if i := strings.IndexByte(s, '['); i >= 0 {
		j := strings.IndexByte(s, ']')
		if j < i {
			return bad("unterminated [")
		}
		rel.archs = strings.Fields(s[i+1 : j])
		s = strings.TrimSpace(s[:i] + s[j+1:])
	}
	if i := strings.IndexByte(s, '('); i >= 0 {
		j := strings.IndexByte(s, ')')
		if j < i {
			return bad("unterminated (")
		}
		c := strings.TrimSpace(s[i+1 : j])
		s = strings.TrimSpace(s[:i])
		for _, op := range []string{"<<", "<=", ">=", ">>", "=", "<", ">"} {
			if v, ok := strings.CutPrefix(c, op); ok {
				rel.op = op
				switch op { // the obsolete < and > mean <= and >=
				case "<":
					rel.op = "<="
				case ">":
					rel.op = ">="
				}
				ver, err := ParseVersion(strings.TrimSpace(v))
				if err != nil {
					return bad(err.Error())
				}
				rel.version = ver
				break
			}
		}
		if rel.op == "" {
			return bad("no comparison operator in (...)")
		}
	}
	name, q, _ := strings.Cut(strings.TrimSpace(s), ":")
	if !debNameRE().MatchString(name) {
		return bad("bad package name")
	}
	rel.name, rel.archQ = name, q
	return rel, nil
}

// satisfies reports whether version v meets the relation's constraint.
func (rel relation) satisfies(v Version) bool {
	c := v.Compare(rel.version)
	switch rel.op {
	case "":
		return true
	case "<<":
		return c < 0
	case "<=":
		return c <= 0
	case "=":
		return c == 0
	case ">=":
		return c >= 0
	case ">>":
		return c > 0
	}
	return false
}

// appliesTo reports whether the relation's architecture restriction, if
// any, includes arch.
func (rel relation) appliesTo(arch string) bool {
	if rel.archs == nil {
		return true
	}
	neg := false
	for _, a := range rel.archs {
		if n, ok := strings.CutPrefix(a, "!"); ok {
			neg = true
			if n == arch {
				return false
			}
		} else if a == arch {
			return true
		}
	}
	return neg
}

// provider is a package providing a virtual name, optionally at a version.
type provider struct {
	pkg     *candidate
	version *Version
}

// resolver computes a dependency closure over the best candidates.
type resolver struct {
	arch      string
	pkgs      map[string]*candidate
	providers map[string][]provider
	chosen    map[string]*candidate
	edges     map[string][]string // package -> the packages it depends on
}

func newResolver(pkgs map[string]*candidate, arch string) (*resolver, error) {
	r := &resolver{arch: arch, pkgs: pkgs, providers: map[string][]provider{},
		chosen: map[string]*candidate{}, edges: map[string][]string{}}
	for _, c := range pkgs {
		if c.Provides == "" {
			continue
		}
		groups, err := parseRelations(c.Provides)
		if err != nil {
			return nil, fmt.Errorf("package %s (%s): Provides: %w", c.Name, c.from, err)
		}
		for _, g := range groups {
			for _, rel := range g {
				p := provider{pkg: c}
				if rel.op == "=" {
					v := rel.version
					p.version = &v
				}
				r.providers[rel.name] = append(r.providers[rel.name], p)
			}
		}
	}
	for _, ps := range r.providers {
		sort.Slice(ps, func(i, j int) bool {
			a, b := ps[i].pkg, ps[j].pkg
			if pa, pb := priorityRank(a.Priority), priorityRank(b.Priority); pa != pb {
				return pa < pb
			}
			return a.Name < b.Name
		})
	}
	return r, nil
}

func priorityRank(p string) int {
	switch p {
	case "required":
		return 0
	case "important":
		return 1
	case "standard":
		return 2
	case "optional":
		return 3
	}
	return 4
}

// pick returns the package that satisfies rel, or nil: the package of that
// name if its version fits, else a provider (one already chosen first, then
// by priority and name).
func (r *resolver) pick(rel relation) *candidate {
	if rel.archQ != "" && rel.archQ != "any" && rel.archQ != "native" && rel.archQ != r.arch {
		return nil
	}
	if c, ok := r.pkgs[rel.name]; ok && rel.satisfies(c.ver) {
		return c
	}
	var fits []*candidate
	for _, p := range r.providers[rel.name] {
		if rel.op == "" || p.version != nil && rel.satisfies(*p.version) {
			fits = append(fits, p.pkg)
		}
	}
	for _, c := range fits {
		if r.chosen[c.Name] != nil {
			return c
		}
	}
	if len(fits) > 0 {
		return fits[0]
	}
	return nil
}

// closure adds roots and everything they depend on (Pre-Depends and
// Depends, first alternative that exists) to r.chosen.
func (r *resolver) closure(roots []string) error {
	var queue []*candidate
	add := func(c *candidate) {
		if r.chosen[c.Name] == nil {
			r.chosen[c.Name] = c
			queue = append(queue, c)
		}
	}
	for _, name := range roots {
		c := r.pick(relation{name: name})
		if c == nil {
			return fmt.Errorf("package %s is in none of the package lists; check the name, or run apt-get update", name)
		}
		add(c)
	}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		for _, field := range []string{c.PreDepends, c.Depends} {
			groups, err := parseRelations(field)
			if err != nil {
				return fmt.Errorf("package %s %s (%s): %w", c.Name, c.Version, c.from, err)
			}
			for _, alts := range groups {
				var dep *candidate
				applies := false
				for _, rel := range alts {
					if !rel.appliesTo(r.arch) {
						continue
					}
					applies = true
					if dep = r.pick(rel); dep != nil {
						break
					}
				}
				if !applies {
					continue
				}
				if dep == nil {
					return fmt.Errorf("package %s %s depends on %q, which no package in the lists satisfies", c.Name, c.Version, relationText(alts))
				}
				if dep != c {
					r.edges[c.Name] = append(r.edges[c.Name], dep.Name)
				}
				add(dep)
			}
		}
	}
	return nil
}

func relationText(alts []relation) string {
	var parts []string
	for _, a := range alts {
		s := a.name
		if a.op != "" {
			s += " (" + a.op + " " + a.version.String() + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " | ")
}

// order returns the chosen packages with dependencies before dependents.
// Packages in a dependency cycle come together, by name; otherwise ties
// are broken by name.
func (r *resolver) order() []*candidate {
	names := make([]string, 0, len(r.chosen))
	for n := range r.chosen {
		names = append(names, n)
	}
	sort.Strings(names)
	for n := range r.edges {
		sort.Strings(r.edges[n])
	}
	comps := tarjan(names, r.edges)

	// Condensation: component -> components it depends on.
	compOf := map[string]int{}
	for i, c := range comps {
		sort.Strings(c)
		for _, n := range c {
			compOf[n] = i
		}
	}
	pending := make([]int, len(comps))      // unresolved dependencies
	dependents := make([][]int, len(comps)) // reverse edges
	for i, c := range comps {
		seen := map[int]bool{}
		for _, n := range c {
			for _, d := range r.edges[n] {
				j := compOf[d]
				if j != i && !seen[j] {
					seen[j] = true
					pending[i]++
					dependents[j] = append(dependents[j], i)
				}
			}
		}
	}
	h := &compHeap{comps: comps}
	for i := range comps {
		if pending[i] == 0 {
			heap.Push(h, i)
		}
	}
	var out []*candidate
	for h.Len() > 0 {
		i := heap.Pop(h).(int)
		for _, n := range comps[i] {
			out = append(out, r.chosen[n])
		}
		for _, j := range dependents[i] {
			if pending[j]--; pending[j] == 0 {
				heap.Push(h, j)
			}
		}
	}
	return out
}

// compHeap orders components by their first (smallest) name.
type compHeap struct {
	comps [][]string
	items []int
}

func (h *compHeap) Len() int           { return len(h.items) }
func (h *compHeap) Less(i, j int) bool { return h.comps[h.items[i]][0] < h.comps[h.items[j]][0] }
func (h *compHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *compHeap) Push(x any)         { h.items = append(h.items, x.(int)) }
func (h *compHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

// tarjan returns the strongly connected components of the graph (nodes in
// the given order, edges by name), iteratively.
func tarjan(nodes []string, edges map[string][]string) [][]string {
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var comps [][]string
	next := 0
	type frame struct {
		node string
		edge int
	}
	for _, start := range nodes {
		if _, ok := index[start]; ok {
			continue
		}
		call := []frame{{start, 0}}
		index[start], low[start] = next, next
		next++
		stack = append(stack, start)
		onStack[start] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.edge < len(edges[f.node]) {
				w := edges[f.node][f.edge]
				f.edge++
				if _, ok := index[w]; !ok {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, 0})
				} else if onStack[w] && index[w] < low[f.node] {
					low[f.node] = index[w]
				}
				continue
			}
			v := f.node
			call = call[:len(call)-1]
			if len(call) > 0 {
				if u := call[len(call)-1].node; low[v] < low[u] {
					low[u] = low[v]
				}
			}
			if low[v] == index[v] {
				var comp []string
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				comps = append(comps, comp)
			}
		}
	}
	return comps
}
