package doshell

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// compatScripts are run by sh -e and by the embedded shell; stdout, exit
// status, the files left behind and (unless noStderr) stderr must be the
// same.
var compatScripts = []struct {
	name     string
	script   string
	noStderr bool // sh's messages carry line numbers ours do not
}{
	{"args", `echo "$0" "$1" "$2" "$3" $#`, false},
	{"echo escapes", `echo 'a\tb\nc' 'd\\e' '\0101\101\7' 'x\qy' 'end\'`, false},
	{"echo -n", "echo -n a b; echo -n; echo -e x; echo -- y; echo -nn z", false},
	{"echo \\c", `echo 'ab\cde' more; echo next`, false},
	{"errexit", "echo one\nfalse\necho two", false},
	{"errexit in &&", "false && echo no\necho yes\nfalse || echo or\n! false\necho bang", false},
	{"errexit if", "if false; then echo a; else echo b; fi\nwhile false; do :; done\necho c", false},
	{"errexit pipeline", "false | true\necho piped\ntrue | false\necho not", false},
	{"errexit subst", "x=$(false)\necho after $x", false},
	{"errexit subst in arg", "echo $(false) arg\necho after", false},
	{"errexit subshell", "(false; echo in)\necho out", false},
	{"exit in subshell", "(exit 4)\necho not", false},
	{"subshell cd", "mkdir sub\n(cd sub; echo in > f)\ncat sub/f\npwd >/dev/null", false},
	{"subshell in if", "if (false); then echo a; else echo b; fi\nif (true); then echo c; fi", false},
	{"subshell last of &&", "true && (exit 3)\necho after", false},
	{"subshell first of &&", "(exit 3) && echo no\necho after $?", false},
	{"subshell ||", "(exit 3) || echo caught $?", false},
	{"subshell negated", "! (exit 3)\necho neg $?", false},
	{"subshell +e", "set +e\n(exit 3)\necho status $?\n(true)\necho $?", false},
	{"subshell in function in if", "f() { (false); echo in-f; }\nif f; then echo t; fi\nf\necho never", false},
	{"subshell nested", "( (exit 5) ; echo inner )\necho outer", false},
	{"subshell pipe", "(exit 2) | cat\necho left-ignored\necho x | (read v; exit 3)\necho never", false},
	{"subshell vars", "x=1\n(x=2; echo $x)\necho $x", false},
	{"subshell redirect", "(echo a; echo b) > f\ncat f\n(exit 6) 2>/dev/null\necho never", false},
	{"subshell background", "(sleep 0.01; exit 3) &\nwait\necho waited", false},
	{"read backslash", "printf 'a\\\\b c\\n' | { read x y; echo \"[$x][$y]\"; }\nprintf 'a\\\\b\\n' | { read -r x; echo \"$x\"; }", false},
	{"no args", `set --; for a in "$@"; do echo "[$a]"; done; echo "$#" "[$*]"`, false},
	{"case patterns", "for x in abc 1x .h '*'; do case $x in [!a-z]*) echo nonalpha $x;; a?c) echo q;; \\*) echo star;; *) echo other;; esac; done", false},
	{"printf more", `printf '%c|%5.2f|%-4d|%s %s\n' hello 3.14159 7 a; printf '%d\n' 010 0x10`, false},
	{"arith", "echo $((-5 % 3)) $((7 / -2)) $((1 << 4)) $((10 > 3)) $((x = 4)) $x", false},
	{"cd fails", "cd /nonexistent-hdo-dir\necho never", true},
	{"cd to a file", "touch f\ncd f 2>/dev/null || echo status $?", false},
	{"cd fails ||", "cd /nonexistent-hdo-dir 2>/dev/null || echo status $?", false},
	{"read eof", "read x < /dev/null || echo status $?", false},
	{"exit bad arg", "exit abc", true},
	{"unset var in arith", "echo $((nosuch + 1))", false},
	{"errexit function", "f() { false; echo in-f; }\nf\necho out", false},
	{"errexit function in if", "f() { false; echo in-f; }\nif f; then echo then; fi", false},
	{"exit status", "exit 3", false},
	{"status of last", "sh -c 'exit 5'", false},
	{"set +e", "set +e\nfalse\necho on $?\nset -e\nfalse\necho off", false},
	{"not found", "nosuchcommand-hdo\necho after", true},
	{"not found ||", "nosuchcommand-hdo 2>/dev/null || echo status $?", false},
	{"redirections", "echo a > f1\necho b >> f1\ncat < f1\necho err >&2\necho out 1>&2 2>/dev/null\n{ echo g1; echo g2; } > f2\ncat f2 >&2", false},
	{"heredoc", "x=v\ncat <<EOF\n$x line\nEOF\ncat <<'EOF'\n$x raw\nEOF\ncat <<-EOF\n\ttabbed\n\tEOF", false},
	{"quoting", `x='a  b'; set -- $x "$x"; echo $# "$1" "$@"; printf '%s|' "$@" "$*"; echo`, false},
	{"ifs", "IFS=:; x=a:b:c; set -- $x; echo $# $2", false},
	{"glob", "touch b.x a.x c.y\necho *.x\necho *.none\nset -f\necho *.x", false},
	{"params", `x=abc.tar.gz; echo ${x%.*} ${x%%.*} ${x#*.} ${x##*.} ${#x} ${y:-d} ${y:=e} $y ${x:+alt}`, false},
	{"arith", "i=3; echo $((i*2+1)) $((i/2)) $((i%2)) $((i<<2))", false},
	{"loops", "for i in 1 2 3; do echo $i; done\ni=0; while [ $i -lt 3 ]; do i=$((i+1)); done; echo $i\nfor f; do echo arg $f; done", false},
	{"case", "for x in a.c b.h z; do case $x in *.c) echo c;; *.h|*.hpp) echo h;; *) echo other;; esac; done", false},
	{"test", `[ -f nofile ] || echo nofile; [ "a" = "a" ] && echo eq; [ 1 -lt 2 ] && echo lt; test -n "" || echo empty; [ ! -d . ] || echo dir`, false},
	{"printf", `printf '%s-%d-%x-%o-%5s-%-3s|\n' str 42 255 8 r l; printf '%b\n' 'a\tb'; printf 'no newline'; printf '%s\n' a b c`, false},
	{"read", "printf 'one two\\nthree\\n' > in\nwhile read a b; do echo \"[$a][$b]\"; done < in\nread -r x < in; echo $x", false},
	{"functions", "f() { local v=in; echo $1 $v $#; return 2; }\nf a b || echo rc $?\necho ${v:-unset}", false},
	{"export", "export A=1\nB=2\nsh -c 'echo ${A:-} ${B:-}'\nC=3 sh -c 'echo $C'\necho ${C:-gone}\nunset A\nsh -c 'echo ${A:-unset}'", false},
	{"cd", "mkdir -p d/e\ncd d/e\npwd | sed 's,.*/,,'\necho $PWD | sed 's,.*/,,'\ncd ..\necho x > here\ncd ..\nls d", false},
	{"background", "sleep 0.05 && echo bg > bgf &\nwait\ncat bgf", false},
	{"command subst", "x=$(echo a; echo b)\necho \"$x\"\ny=`echo back`\necho $y\nz=$(cat <<EOF\nhd\nEOF\n)\necho $z", false},
	{"pipes", "printf 'b\\na\\nc\\n' | sort | head -2\necho x | { read v; echo got $v; }", false},
	{"exec", "echo before\nexec sh -c 'echo replaced $0' x\necho never", false},
	{"break continue", "for i in 1 2 3 4; do [ $i = 2 ] && continue; [ $i = 4 ] && break; echo $i; done", false},
	{"assign only status", "x=$(exit 3) || echo caught $?", false},
	{"readonly", "readonly R=1\necho $R", false},
	{"export unsplit", "x='a  b'\nexport A=$x B=\"$x\" C\nC=c\nsh -c 'echo \"[$A][$B][$C]\"'", false},
	{"export dynamic", "v='D=1 E=2'\nexport $v\nsh -c 'echo $D $E'", false},
	{"exec dup", "exec >&2\necho to-stderr", false},
	{"local nested", "g() { echo ${l:-none}; }\nf() { local l=1 m; m=2; g; echo $m; }\nf\necho ${l:-none} ${m:-none}", false},
	{"empty script", "", false},
	{"comments", "# only a comment\n: noop # trailing\necho ok", false},
	{"unset function", "f() { echo f; }\nunset -f f\nf 2>/dev/null || echo gone", false},
	{"stdin is null", "cat\necho done", false},
	{"exit trap-free status", "false || exit 7", false},
	{"long pipeline status", "true | true | false || echo last $?", false},
}

func TestCompatWithSh(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	for _, tc := range compatScripts {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(tc.script), "./t.do")
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			wantOut, wantErr, wantRC, wantFiles := runSh(t, tc.script)
			gotOut, gotErr, gotRC, gotFiles := runOurs(t, s, tc.script)
			if gotOut != wantOut {
				t.Errorf("stdout:\n%q\nsh's:\n%q", gotOut, wantOut)
			}
			if !tc.noStderr && gotErr != wantErr {
				t.Errorf("stderr:\n%q\nsh's:\n%q", gotErr, wantErr)
			}
			if gotRC != wantRC {
				t.Errorf("exit status %d, sh's %d (stderr %q, sh's %q)", gotRC, wantRC, gotErr, wantErr)
			}
			if gotFiles != wantFiles {
				t.Errorf("files:\n%s\nsh's:\n%s", gotFiles, wantFiles)
			}
		})
	}
}

func scriptDir(t *testing.T, script string) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.do"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func testEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent", "LC_ALL=C"}
}

func runSh(t *testing.T, script string) (stdout, stderr string, rc int, files string) {
	dir := scriptDir(t, script)
	cmd := exec.Command("sh", "-e", "./t.do", "tgt", "base", "tmp3")
	cmd.Dir = dir
	cmd.Env = testEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		rc = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), rc, listFiles(t, dir)
}

func runOurs(t *testing.T, s *Script, script string) (stdout, stderr string, rc int, files string) {
	dir := scriptDir(t, script)
	outF, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	errF, err := os.CreateTemp(t.TempDir(), "err")
	if err != nil {
		t.Fatal(err)
	}
	defer outF.Close()
	defer errF.Close()
	rc, err = s.Run(context.Background(), Options{
		Dir: dir, Args: []string{"tgt", "base", "tmp3"}, Env: testEnv(),
		Stdout: outF, Stderr: errF,
	})
	if err != nil {
		t.Fatal(err)
	}
	o, _ := os.ReadFile(outF.Name())
	e, _ := os.ReadFile(errF.Name())
	return string(o), string(e), rc, listFiles(t, dir)
}

func listFiles(t *testing.T, dir string) string {
	var lines []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := rel
		if d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			line += " " + string(b)
		}
		lines = append(lines, line)
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
