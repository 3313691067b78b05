package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// hdoBuildFlags are the go build flags do.sh builds hdo with: a static
// binary (no dynamic loading at each of the many hdo processes a build
// starts, and a venv-run that runs on any Linux). Tests that run hdo as a
// separate process build it the same way.
var hdoBuildFlags = []string{
	"-tags", "netgo osusergo sqlite_omit_load_extension",
	"-ldflags", "-linkmode=external -extldflags=-static -s -w",
}

// do.sh and the tests must build the same binary.
func TestDoShBuildFlags(t *testing.T) {
	b, err := os.ReadFile("../../do.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"-tags '" + hdoBuildFlags[1] + "'",
		"-ldflags '" + hdoBuildFlags[3] + "'",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("do.sh does not build with %s", want)
		}
	}
}

// do.sh rebuilds hdo when a Go source it is built from changed: every
// top-level directory of the module that holds one of hdo's packages must
// be in the list do.sh looks at.
func TestDoShWatchesSources(t *testing.T) {
	b, err := os.ReadFile("../../do.sh")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.ImportPath}}{{end}}{{end}}", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	const module = "github.com/hdo-build/hdo/"
	seen := map[string]bool{}
	for _, pkg := range strings.Fields(string(out)) {
		top, _, _ := strings.Cut(strings.TrimPrefix(pkg, module), "/")
		if seen[top] {
			continue
		}
		seen[top] = true
		if !strings.Contains(string(b), `"$here/`+top+`"`) {
			t.Errorf("do.sh does not look at %s/ (hdo is built from %s) for a stale binary", top, pkg)
		}
	}
}
