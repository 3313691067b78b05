package pkgrule

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakeShim runs the make shim under each POSIX shell the host has:
// under a jobserver it drops exactly the explicit -j arguments and passes
// the others on unchanged to the next make on PATH; without one it passes
// everything on.
func TestMakeShim(t *testing.T) {
	dir := t.TempDir()
	shim := filepath.Join(dir, "shim")
	real := filepath.Join(dir, "real")
	for _, d := range []string{shim, real} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(shim, "make"), []byte(makeShim), 0o755); err != nil {
		t.Fatal(err)
	}
	// The "real" make prints its arguments, one per line, in brackets.
	if err := os.WriteFile(filepath.Join(real, "make"), []byte("#!/bin/sh\nfor a; do echo \"[$a]\"; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	const jobserver = " -j2 --jobserver-auth=3,4"
	tests := []struct {
		makeflags string
		args      []string
		want      []string
	}{
		{jobserver, []string{"-j"}, nil},
		{jobserver, []string{"-j8", "all"}, []string{"all"}},
		{jobserver, []string{"-j", "8", "-f", "M", "all"}, []string{"-f", "M", "all"}},
		{jobserver, []string{"-j", "all"}, []string{"all"}},
		{jobserver, []string{"--jobs", "3", "--jobs=4", "-k"}, []string{"-k"}},
		{jobserver, []string{"-s", "a b", "", "-jx"}, []string{"-s", "a b", "", "-jx"}},
		{jobserver, []string{"-j", ""}, []string{""}},
		{"", []string{"-j8", "all"}, []string{"-j8", "all"}},
		{" -j1", []string{"-j", "4"}, []string{"-j", "4"}},
	}
	shells := 0
	for _, sh := range []string{"dash", "bash", "busybox"} {
		path, err := exec.LookPath(sh)
		if err != nil {
			continue
		}
		shells++
		for _, tt := range tests {
			args := append([]string{filepath.Join(shim, "make")}, tt.args...)
			if sh == "busybox" {
				args = append([]string{"sh"}, args...)
			}
			cmd := exec.Command(path, args...)
			cmd.Env = []string{"PATH=" + shim + ":" + real + ":/usr/bin:/bin", "MAKEFLAGS=" + tt.makeflags}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("%s: make %q: %v\n%s", sh, tt.args, err, out)
				continue
			}
			var want strings.Builder
			for _, a := range tt.want {
				want.WriteString("[" + a + "]\n")
			}
			if string(out) != want.String() {
				t.Errorf("%s: MAKEFLAGS=%q make %q passed on\n%s\nwant\n%s", sh, tt.makeflags, tt.args, out, want.String())
			}
		}
	}
	if shells == 0 {
		t.Skip("no dash, bash or busybox on this host")
	}
}
