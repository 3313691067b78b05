package doshell

import (
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// refused names the commands the embedded shell does not run as dash
// does, and why: builtins of dash the interpreter lacks (it would run a
// program of that name instead), builtins of the interpreter dash lacks,
// and builtins whose effect reaches past one script (umask, traps).
var refused = map[string]string{
	".":         "a sourced file is not checked",
	"alias":     "aliases",
	"bg":        "job control",
	"builtin":   "not a builtin of sh",
	"caller":    "not a builtin of sh",
	"chdir":     "a builtin of sh only",
	"command":   "command lookup",
	"declare":   "not a builtin of sh",
	"dirs":      "not a builtin of sh",
	"eval":      "eval",
	"fc":        "history",
	"fg":        "job control",
	"getopts":   "getopts",
	"hash":      "a builtin of sh only",
	"shift":     "shifting past the last argument is an error in sh",
	"jobs":      "job control",
	"kill":      "a builtin of sh only",
	"let":       "not a builtin of sh",
	"mapfile":   "not a builtin of sh",
	"popd":      "not a builtin of sh",
	"pushd":     "not a builtin of sh",
	"readarray": "not a builtin of sh",
	"shopt":     "not a builtin of sh",
	"source":    "not a builtin of sh",
	"times":     "a builtin of sh only",
	"trap":      "traps",
	"type":      "command lookup",
	"typeset":   "not a builtin of sh",
	"ulimit":    "a builtin of sh only",
	"umask":     "the umask is the whole process's",
	"unalias":   "aliases",
}

// specialParams are the parameters the interpreter gives values other
// than sh's: the process is hdo, not a shell of the script's own.
var specialParams = map[string]bool{
	"$": true, "!": true, "-": true, "PPID": true, "LINENO": true,
	"RANDOM": true, "SECONDS": true, "UID": true, "EUID": true, "GID": true,
	"OPTIND": true, "OPTARG": true, "DIRSTACK": true,
}

// setFlags are the options a script may set: the ones the interpreter
// has as sh does.
var setFlags = map[string]bool{"-e": true, "+e": true, "-f": true, "+f": true, "--": true}

// check returns why f cannot run in the embedded shell as under sh, or "".
func check(f *syntax.File) string {
	var reason string
	fail := func(pos syntax.Pos, format string, args ...any) bool {
		if reason == "" {
			reason = fmt.Sprintf("line %d: ", pos.Line()) + fmt.Sprintf(format, args...)
		}
		return false
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		if reason != "" {
			return false
		}
		switch n := n.(type) {
		case *syntax.Stmt:
			if n.Coprocess {
				return fail(n.Pos(), "a coprocess")
			}
			// sh ignores -e inside a negated compound command; the
			// interpreter does not.
			if _, simple := n.Cmd.(*syntax.CallExpr); n.Negated && n.Cmd != nil && !simple {
				if _, sub := n.Cmd.(*syntax.Subshell); !sub {
					return fail(n.Pos(), "! before a compound command")
				}
			}
			// The interpreter closes a file exec redirected to at the end
			// of the exec, though the file stays the script's output.
			if c, ok := n.Cmd.(*syntax.CallExpr); ok && len(c.Args) == 1 && c.Args[0].Lit() == "exec" {
				for _, rd := range n.Redirs {
					if rd.Op != syntax.DplOut {
						return fail(n.Pos(), "exec %s", rd.Op)
					}
				}
			}
		case *syntax.Redirect:
			return checkRedirect(n, fail)
		case *syntax.ParamExp:
			if n.Param != nil && specialParams[n.Param.Value] {
				return fail(n.Pos(), "$%s", n.Param.Value)
			}
			if n.Exp != nil && (n.Exp.Op == syntax.ErrorUnset || n.Exp.Op == syntax.ErrorUnsetOrNull) {
				// sh's message and exit status differ.
				return fail(n.Pos(), "${%s%s...}", n.Param.Value, n.Exp.Op)
			}
		case *syntax.FuncDecl:
			if n.Name != nil && (refused[n.Name.Value] != "" || builtins[n.Name.Value]) {
				return fail(n.Pos(), "a function named %s", n.Name.Value)
			}
		case *syntax.DeclClause:
			if v := n.Variant.Value; v != "export" && v != "readonly" && v != "local" {
				return fail(n.Pos(), "%s", v)
			}
		case *syntax.ArithmExp:
			if why := checkArithm(n.X); why != "" {
				return fail(n.Pos(), "%s", why)
			}
		case *syntax.CallExpr:
			if len(n.Args) > 0 && declUtilities[n.Args[0].Lit()] {
				if why := checkDecl(n, inFunc(f, n)); why != "" {
					return fail(n.Pos(), "%s", why)
				}
			}
			return checkCall(n, fail)
		case *syntax.ArithmCmd, *syntax.TestClause, *syntax.LetClause,
			*syntax.TimeClause, *syntax.CoprocClause, *syntax.ProcSubst,
			*syntax.ExtGlob, *syntax.BraceExp, *syntax.TestDecl:
			return fail(n.Pos(), "%T", n)
		}
		return true
	})
	return reason
}

// inFunc reports whether n is inside a function body of f.
func inFunc(f *syntax.File, n syntax.Node) bool {
	found := false
	syntax.Walk(f, func(m syntax.Node) bool {
		if fd, ok := m.(*syntax.FuncDecl); ok && fd.Pos().Offset() <= n.Pos().Offset() && n.End().Offset() <= fd.End().Offset() {
			found = true
		}
		return !found
	})
	return found
}

// builtins are the interpreter's builtins a function must not be named
// after (echo is ours, see callHandler).
var builtins = map[string]bool{
	"true": true, ":": true, "false": true, "exit": true, "set": true,
	"shift": true, "unset": true, "echo": true, "printf": true,
	"break": true, "continue": true, "pwd": true, "cd": true, "wait": true,
	"test": true, "[": true, "exec": true, "return": true, "read": true,
}

func checkRedirect(rd *syntax.Redirect, fail func(syntax.Pos, string, ...any) bool) bool {
	if rd.N != nil && rd.N.Value != "0" && rd.N.Value != "1" && rd.N.Value != "2" {
		return fail(rd.Pos(), "a redirection of descriptor %s", rd.N.Value)
	}
	switch rd.Op {
	case syntax.RdrIn, syntax.RdrOut, syntax.AppOut, syntax.Hdoc, syntax.DashHdoc:
		return true
	case syntax.DplOut:
		if w := rd.Word.Lit(); w == "1" || w == "2" {
			return true
		}
		return fail(rd.Pos(), "%s%s", rd.Op, rd.Word.Lit())
	}
	return fail(rd.Pos(), "the redirection %s", rd.Op)
}

func checkCall(c *syntax.CallExpr, fail func(syntax.Pos, string, ...any) bool) bool {
	if len(c.Args) == 0 {
		return true
	}
	name := c.Args[0].Lit()
	if why := refused[name]; why != "" {
		return fail(c.Pos(), "%s: %s", name, why)
	}
	args := c.Args[1:]
	switch name {
	case "set":
		for _, a := range args {
			if lit := a.Lit(); lit == "--" {
				break
			} else if strings.HasPrefix(lit, "-") || strings.HasPrefix(lit, "+") || lit == "" {
				if !setFlags[lit] {
					return fail(c.Pos(), "set %s", lit)
				}
			} else {
				break
			}
		}
	case "wait":
		if len(args) > 0 {
			return fail(c.Pos(), "wait with arguments")
		}
	case "test", "[":
		for _, a := range args {
			if a.Lit() == "==" {
				return fail(c.Pos(), "%s with ==", name)
			}
		}
	}
	return true
}

// checkArithm returns why an arithmetic expression is not evaluated as sh
// evaluates it, or "": the interpreter reads 010 as ten and 0x10 as zero,
// where sh reads octal and hex, and it has **, ++ and --, which sh lacks.
// (A variable holding 010 it still reads as ten: see the README.)
func checkArithm(x syntax.ArithmExpr) string {
	why := ""
	syntax.Walk(x, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Lit:
			if v := n.Value; len(v) > 1 && v[0] == '0' && v[1] >= '0' && v[1] <= '9' || strings.HasPrefix(v, "0x") || strings.HasPrefix(v, "0X") {
				why = "the number " + v + " in $((...))"
			}
		case *syntax.BinaryArithm:
			if n.Op == syntax.Pow {
				why = "** in $((...))"
			}
		case *syntax.UnaryArithm:
			if n.Op == syntax.Inc || n.Op == syntax.Dec {
				why = n.Op.String() + " in $((...))"
			}
		}
		return why == ""
	})
	return why
}
