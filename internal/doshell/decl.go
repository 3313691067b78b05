package doshell

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// declUtilities are the builtins that take assignments. The parser reads
// them as plain commands in POSIX mode, and the interpreter runs them
// only as declaration clauses: declify turns one into the other.
var declUtilities = map[string]bool{"export": true, "readonly": true, "local": true}

// checkDecl returns why the declaration call c cannot be rewritten, or "".
// inFunc says whether it is in a function body (local is only for one).
func checkDecl(c *syntax.CallExpr, inFunc bool) string {
	name := c.Args[0].Lit()
	if name == "local" && !inFunc {
		return "local outside a function"
	}
	if len(c.Assigns) > 0 {
		return "an assignment before " + name
	}
	for _, w := range c.Args[1:] {
		if lit, ok := w.Parts[0].(*syntax.Lit); ok && strings.HasPrefix(lit.Value, "-") {
			return name + " " + lit.Value
		}
	}
	return ""
}

// declify rewrites every export, readonly and local call in f into the
// declaration clause the interpreter runs. checkDecl has passed them.
func declify(f *syntax.File) {
	syntax.Walk(f, func(n syntax.Node) bool {
		st, ok := n.(*syntax.Stmt)
		if !ok {
			return true
		}
		c, ok := st.Cmd.(*syntax.CallExpr)
		if !ok || len(c.Args) == 0 || !declUtilities[c.Args[0].Lit()] {
			return true
		}
		d := &syntax.DeclClause{Variant: c.Args[0].Parts[0].(*syntax.Lit)}
		for _, w := range c.Args[1:] {
			d.Args = append(d.Args, assignOf(w))
		}
		st.Cmd = d
		return true
	})
}

// assignOf reads one argument of a declaration utility: NAME=VALUE (the
// value not split), NAME, or a word to expand and then read so.
func assignOf(w *syntax.Word) *syntax.Assign {
	lit, ok := w.Parts[0].(*syntax.Lit)
	if !ok {
		return &syntax.Assign{Naked: true, Value: w}
	}
	name, rest, hasEq := strings.Cut(lit.Value, "=")
	switch {
	case hasEq && syntax.ValidName(name):
		as := &syntax.Assign{Name: &syntax.Lit{ValuePos: lit.ValuePos, ValueEnd: lit.ValuePos, Value: name}}
		parts := w.Parts[1:]
		if rest != "" {
			parts = append([]syntax.WordPart{&syntax.Lit{ValuePos: lit.ValuePos, ValueEnd: lit.ValueEnd, Value: rest}}, parts...)
		}
		if len(parts) > 0 {
			as.Value = &syntax.Word{Parts: parts}
		}
		return as
	case len(w.Parts) == 1 && syntax.ValidName(lit.Value):
		return &syntax.Assign{Naked: true, Name: lit}
	}
	return &syntax.Assign{Naked: true, Value: w}
}

// statusName is the command subshellStatus adds: it returns its argument
// as its exit status.
const statusName = "\x00status"

// subshellStatus makes every subshell ( list ) fail as a simple command
// would, by rewriting it to ( list ) || \x00status $?: the interpreter
// exits under -e when a simple command fails, not when a subshell does,
// where sh does both. Where -e does not apply (a condition, the left of
// && or ||, after !, in a function called from a condition) the
// interpreter ignores the added command's failure as sh ignores the
// subshell's; $? is the subshell's status either way. A negated subshell
// is left alone: -e never applies to it.
func subshellStatus(f *syntax.File) {
	var subs []*syntax.Stmt
	syntax.Walk(f, func(n syntax.Node) bool {
		if st, ok := n.(*syntax.Stmt); ok && !st.Negated {
			if _, ok := st.Cmd.(*syntax.Subshell); ok {
				subs = append(subs, st)
			}
		}
		return true
	})
	for _, st := range subs {
		sub := st.Cmd.(*syntax.Subshell)
		pos := sub.Pos()
		lit := &syntax.Lit{ValuePos: pos, ValueEnd: pos, Value: statusName}
		status := &syntax.ParamExp{Dollar: pos, Short: true, Param: &syntax.Lit{ValuePos: pos, ValueEnd: pos, Value: "?"}}
		st.Cmd = &syntax.BinaryCmd{
			OpPos: pos,
			Op:    syntax.OrStmt,
			X:     &syntax.Stmt{Position: pos, Cmd: sub},
			Y: &syntax.Stmt{Position: pos, Cmd: &syntax.CallExpr{Args: []*syntax.Word{
				{Parts: []syntax.WordPart{lit}}, {Parts: []syntax.WordPart{status}},
			}}},
		}
	}
}
