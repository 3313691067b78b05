package main

import (
	"os"
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
