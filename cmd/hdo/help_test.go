package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// hdo help VERB prints the verb's usage, its line, a long text with an
// example, and its flags, for every verb and for build; every verb has a
// long text, and every long text a verb.
func TestHelpVerb(t *testing.T) {
	dir := t.TempDir()
	for name := range longHelp {
		if _, ok := verbs[name]; !ok && name != "build" {
			t.Errorf("longHelp has %s, which is no verb", name)
		}
	}
	names := []string{"build"}
	for name := range verbs {
		names = append(names, name)
	}
	for _, name := range names {
		var out, errb bytes.Buffer
		e := &env{stdout: &out, stderr: &errb, cwd: dir, getenv: func(string) string { return "" }, environ: os.Environ()}
		if err := dispatch(context.Background(), e, "hdo", []string{"help", name}); err != nil {
			t.Errorf("hdo help %s: %v (stderr %q)", name, err, errb.String())
			continue
		}
		usage := "[-j N] [-k] [-x] [-f] [-q] TARGET..."
		if v, ok := verbs[name]; ok {
			usage = v.usage
		}
		got := out.String()
		if !strings.HasPrefix(got, "usage: hdo "+usage+"\n") || !strings.Contains(got, "\nExample:\n  hdo ") || len(got) < 100 {
			t.Errorf("hdo help %s printed:\n%s", name, got)
		}
		if name == "build" && !strings.Contains(got, "\nflags:\n  -binary-only") {
			t.Errorf("hdo help build lists no flags:\n%s", got)
		}
	}
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, cwd: dir, getenv: func(string) string { return "" }}
	var ue *usageError
	if err := dispatch(context.Background(), e, "hdo", []string{"help", "nosuch"}); !errors.As(err, &ue) {
		t.Errorf("hdo help nosuch: %v, want a usage error", err)
	}
}
