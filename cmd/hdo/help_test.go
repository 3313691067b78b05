package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// testEnv is an env for running verbs in-process in dir.
func testEnv(dir string) (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &env{stdout: &out, stderr: &errb, cwd: dir, getenv: func(string) string { return "" }, environ: os.Environ()}, &out, &errb
}

// allVerbs is the table in order, build included.
func allVerbs() []*verb {
	var vs []*verb
	for _, g := range verbGroups {
		vs = append(vs, g.verbs...)
	}
	return vs
}

// hdo help VERB prints the verb's usage, its line, a long text with an
// example, and its flags, for every verb and for build.
func TestHelpVerb(t *testing.T) {
	dir := t.TempDir()
	seen := map[string]bool{}
	for _, v := range allVerbs() {
		if seen[v.name] {
			t.Errorf("verb %s is in the table twice", v.name)
		}
		seen[v.name] = true
		e, out, errb := testEnv(dir)
		if err := dispatch(context.Background(), e, "hdo", []string{"help", v.name}); err != nil {
			t.Errorf("hdo help %s: %v (stderr %q)", v.name, err, errb.String())
			continue
		}
		got := out.String()
		if !strings.HasPrefix(got, "usage: hdo "+v.usage+"\n") || !strings.Contains(got, "\nExample:\n  hdo ") || len(got) < 100 {
			t.Errorf("hdo help %s printed:\n%s", v.name, got)
		}
		if v.name == "build" && !strings.Contains(got, "\nflags:\n  -binary-only") {
			t.Errorf("hdo help build lists no flags:\n%s", got)
		}
	}
	e, _, _ := testEnv(dir)
	var ue *usageError
	if err := dispatch(context.Background(), e, "hdo", []string{"help", "nosuch"}); !errors.As(err, &ue) {
		t.Errorf("hdo help nosuch: %v, want a usage error", err)
	}
}

// Each verb's -h lists exactly the build flags its table entry names, and
// its usage line mentions no build flag it does not take.
func TestVerbFlags(t *testing.T) {
	dir := t.TempDir()
	names := map[buildFlagSet]string{
		fJobs: "j", fKeepGoing: "k", fTrace: "x", fForce: "f", fQuiet: "q",
		fJobserver: "jobserver", fProfile: "cpuprofile", fBinaryOnly: "binary-only",
	}
	flagLine := regexp.MustCompile(`(?m)^  -([a-z-]+)`)
	for _, v := range allVerbs() {
		set := v.build
		if v == buildVerbEntry {
			set = fBuild
		}
		e, _, errb := testEnv(dir)
		err := v.run(context.Background(), e, []string{"-h"})
		if ee, ok := err.(*exitError); !ok || ee.code != 0 {
			t.Errorf("hdo %s -h: %v", v.name, err)
			continue
		}
		var listed []string
		for _, m := range flagLine.FindAllStringSubmatch(errb.String(), -1) {
			listed = append(listed, m[1])
		}
		for bit, flag := range names {
			has := slices.Contains(listed, flag)
			if want := set&bit != 0; has != want {
				t.Errorf("hdo %s -h lists -%s: %v, want %v\n%s", v.name, flag, has, want, errb.String())
			}
			inUsage := regexp.MustCompile(`\[-?-` + regexp.QuoteMeta(flag) + `[] ]`).MatchString(v.usage)
			if inUsage && set&bit == 0 {
				t.Errorf("usage of %s names -%s, which it does not take", v.name, flag)
			}
		}
	}
	// The case the issue names: venv takes no -k, -x, -f.
	if fPackages&(fKeepGoing|fTrace|fForce|fJobserver|fProfile) != 0 || verbs["venv"].build != fPackages {
		t.Error("venv takes build-only flags")
	}
}

// Every usage error is printed one way: what is wrong, the verb's usage,
// and where to read more; exit status 2.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		verb string // "" for build
		msg  string
	}{
		{nil, "build", "hdo: no targets given"},
		{[]string{"-z", "x"}, "build", "hdo: flag provided but not defined: -z"},
		{[]string{"publish", "pkg/x"}, "publish", "hdo: publish needs -o DIR, the cache directory to publish into"},
		{[]string{"publish", "-o", "c"}, "publish", "hdo: publish needs a package directory"},
		{[]string{"venv", "pkg/x"}, "venv", "hdo: venv needs -o DIR, the venv to make"},
		{[]string{"venv", "-k", "-o", "v", "pkg/x"}, "venv", "hdo: flag provided but not defined: -k"},
		{[]string{"run", "pkg/x"}, "run", "hdo: run needs -- between the package directories and the command"},
		{[]string{"run", "pkg/x", "--"}, "run", "hdo: run needs a command after --"},
		{[]string{"gc", "extra"}, "gc", `hdo: gc takes no arguments, only flags ("extra" is none)`},
		{[]string{"gc", "--nosuch"}, "gc", "hdo: flag provided but not defined: -nosuch"},
		{[]string{"key"}, "key", "hdo: key needs the word generate and a NAME for the key files"},
		{[]string{"bootstrap"}, "bootstrap", "hdo: bootstrap needs the word lock"},
		{[]string{"bootstrap", "lock"}, "bootstrap", "hdo: bootstrap lock needs one seed directory, not 0 arguments"},
		{[]string{"watch"}, "watch", "hdo: watch needs a target"},
		{[]string{"graph"}, "graph", "hdo: graph needs a target"},
		{[]string{"log"}, "log", "hdo: log needs exactly one target"},
		{[]string{"help", "a", "b"}, "help", "hdo: help takes one verb, not 2 words"},
	} {
		e, out, errb := testEnv(dir)
		code := exitCode(e, "hdo", dispatch(context.Background(), e, "hdo", tc.args))
		v := verbs[tc.verb]
		if tc.verb == "build" {
			v = buildVerbEntry
		}
		lines := strings.Split(strings.TrimSuffix(errb.String(), "\n"), "\n")
		want := []string{"usage: hdo " + v.usage, "run 'hdo help " + tc.verb + "' for details"}
		if code != 2 || len(lines) != 3 || !strings.HasPrefix(lines[0], tc.msg) || !slices.Equal(lines[1:], want) || out.Len() != 0 {
			t.Errorf("hdo %q: exit %d, stderr:\n%s\nwant exit 2 and\n%s...\n%s", tc.args, code, errb.String(), tc.msg, strings.Join(want, "\n"))
		}
	}
}

// The README's CLI section shows what hdo help prints, verb for verb.
// HDO_UPDATE_README=1 writes it there instead.
func TestREADMECLI(t *testing.T) {
	readmePath := filepath.Join("..", "..", "README.md")
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(readme), "\n## CLI\n")
	if !ok {
		t.Fatal("README has no ## CLI section")
	}
	_, block, ok := strings.Cut(sec, "\n```\n")
	block, _, ok2 := strings.Cut(block, "\n```\n")
	if !ok || !ok2 {
		t.Fatal("README's CLI section has no ``` block")
	}
	var out bytes.Buffer
	printUsage(&out)
	got := strings.TrimSuffix(out.String(), "\n")
	if got != block && os.Getenv("HDO_UPDATE_README") == "1" {
		updated := strings.Replace(string(readme), "\n```\n"+block+"\n```\n", "\n```\n"+got+"\n```\n", 1)
		if err := os.WriteFile(readmePath, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != block {
		t.Errorf("README's CLI block differs from hdo help (HDO_UPDATE_README=1 rewrites it):\n%s", got)
	}
}
